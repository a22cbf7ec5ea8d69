/**
 * Checks a kustomization and everything it refers to before `kustomize build`
 * runs, so that untrusted input cannot make the controller reach the network, run
 * a program or read outside the artifact. kustomize's own defaults (no plugins,
 * load restrictor on) already refuse most of this; the check names the offending
 * entry in our words and also covers what kustomize allows: a base in `../..`
 * outside the artifact, or a remote base fetched with git or HTTP.
 *
 * Rules: every resource, base and component must be a file or folder inside the
 * artifact (anything else, remote URLs included, is refused without being
 * fetched); every file a field names (patches, generator sources, CRDs,
 * configurations, replacements, OpenAPI schema) must be inside the artifact;
 * generators, transformers and validators must be kustomize's built-in plugins
 * (`apiVersion: builtin`, no function annotation); Helm chart inflation is refused.
 */
import { lstat, readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, posix, sep } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { isPlainObject } from '../bundle/object.ts';
import { problem, type BundleProblem } from '../bundle/problems.ts';
import { findKustomization } from './files.ts';

/** Limits of {@link checkKustomization}. */
export interface PreflightLimits {
  /** Kustomization files visited before the check gives up (a graph that large is refused). */
  readonly maxKustomizations: number;
}

/** A remote location as kustomize would read it (URLs, scp-style Git, well-known forges). */
const REMOTE = /^(?:[a-z][a-z0-9+.-]*:\/\/|git@|(?:github\.com|gitlab\.com|bitbucket\.org)\/)|\?ref=/i;
const FUNCTION_ANNOTATIONS = ['config.kubernetes.io/function', 'config.k8s.io/function'];
const HELM_FIELDS = ['helmCharts', 'helmGlobals', 'helmChartInflationGenerator'];
const PLUGIN_FIELDS = ['generators', 'transformers', 'validators'];
/** Largest kustomization or plugin configuration the check reads. */
const MAX_CONFIG_BYTES = 1024 * 1024;

type Resolved = { readonly rel: string; readonly isDir: boolean } | { readonly why: string };

/** Where a kustomization's references point, relative to the artifact root. */
class ArtifactPaths {
  readonly #root: string;
  #realRoot: string | undefined;

  constructor(root: string) {
    this.#root = root;
  }

  /** Resolves `entry` written in the kustomization folder `fromDir` (artifact-relative). */
  async resolve(fromDir: string, entry: string): Promise<Resolved> {
    if (REMOTE.test(entry)) return { why: `"${entry}" is a remote location; remote bases and resources are never fetched` };
    if (isAbsolute(entry) || entry.includes('\0')) return { why: `"${entry}" is an absolute path; only paths inside the artifact are read` };
    const rel = posix.normalize(posix.join(fromDir, entry));
    if (rel === '..' || rel.startsWith('../')) return { why: `"${entry}" leads outside the artifact` };
    const abs = join(this.#root, rel);
    const info = await lstat(abs).catch(() => undefined);
    if (!info) return { why: `"${entry}" is not in the artifact (remote bases and resources are never fetched)` };
    if (info.isSymbolicLink()) return { why: `"${entry}" is a symbolic link; links are not followed` };
    this.#realRoot ??= await realpath(this.#root);
    const real = await realpath(abs);
    if (real !== this.#realRoot && !real.startsWith(this.#realRoot + sep)) return { why: `"${entry}" leads outside the artifact` };
    return { rel, isDir: info.isDirectory() };
  }
}

/**
 * Every reason not to render the kustomization in `dir` (artifact-relative) of the
 * artifact at `root`, with its bases and components; empty when it may be rendered.
 */
export async function checkKustomization(root: string, dir: string, limits: PreflightLimits): Promise<BundleProblem[]> {
  const paths = new ArtifactPaths(root);
  const problems: BundleProblem[] = [];
  const visited = new Set<string>();
  const queue = [dir];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (visited.has(next)) continue;
    visited.add(next);
    if (visited.size > limits.maxKustomizations) {
      problems.push(problem('KustomizeRefused', `the kustomization refers to more than ${limits.maxKustomizations} kustomizations`, { file: dir }));
      break;
    }
    const name = await findKustomization(join(root, next));
    if (name === undefined) continue; // kustomize itself says what a folder without a kustomization lacks
    const file = posix.join(next, name);
    const refuse = (detail: string): void => { problems.push(problem('KustomizeRefused', detail, { file })); };
    const data = await readKustomization(join(root, file), file, problems);
    if (data === undefined) continue;
    for (const field of HELM_FIELDS) {
      if (data[field] !== undefined) refuse(`${field}: Helm charts are not inflated here; render them with helm template in CI and push the output`);
    }
    for (const field of ['resources', 'bases', 'components']) {
      for (const entry of stringsOf(data[field])) {
        const found = await paths.resolve(next, entry);
        if ('why' in found) refuse(`${field}: ${found.why}`);
        else if (found.isDir) queue.push(found.rel);
      }
    }
    for (const [field, entry] of fileReferences(data)) {
      const found = await paths.resolve(next, entry);
      if ('why' in found) refuse(`${field}: ${found.why}`);
    }
    for (const field of PLUGIN_FIELDS) {
      for (const entry of stringsOf(data[field])) {
        for (const detail of await pluginProblems(root, paths, next, entry)) refuse(`${field}: ${detail}`);
      }
    }
  }
  return problems;
}

/** The YAML documents of a file the check reads, as plain data; throws a message for what cannot be read. */
async function readYamlFile(abs: string): Promise<string> {
  const size = (await lstat(abs)).size;
  if (size > MAX_CONFIG_BYTES) throw new Error(`the file is ${size} bytes, more than the limit of ${MAX_CONFIG_BYTES}`);
  return readFile(abs, 'utf8');
}

/** The documents of `text` as plain data; an alias bomb or a syntax error is an Error. */
function yamlDocuments(text: string): unknown[] {
  return parseAllDocuments(text, { uniqueKeys: true, version: '1.2' }).map((doc) => {
    if (doc.errors.length > 0) throw new Error(doc.errors[0]?.message.split('\n')[0] ?? 'invalid YAML');
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  });
}

async function readKustomization(abs: string, file: string, problems: BundleProblem[]): Promise<Record<string, unknown> | undefined> {
  let data: unknown;
  try {
    data = yamlDocuments(await readYamlFile(abs))[0];
  } catch (err) {
    problems.push(problem('InvalidYAML', err instanceof Error ? err.message : String(err), { file }));
    return undefined;
  }
  if (!isPlainObject(data)) {
    problems.push(problem('NotAnObject', 'the kustomization is not a map', { file }));
    return undefined;
  }
  return data;
}

function textOf(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function listOfMaps(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isPlainObject) : [];
}

/** The files a kustomization names outside `resources`: `[field, path]` pairs. */
function fileReferences(data: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [];
  for (const field of ['crds', 'configurations']) for (const f of stringsOf(data[field])) out.push([field, f]);
  // An entry that spans lines (or is a flow map) is an inline patch, not a path.
  for (const f of stringsOf(data.patchesStrategicMerge)) if (!f.includes('\n') && !f.trim().startsWith('{')) out.push(['patchesStrategicMerge', f]);
  for (const field of ['patches', 'patchesJson6902', 'replacements']) {
    for (const entry of listOfMaps(data[field])) if (typeof entry.path === 'string') out.push([field, entry.path]);
  }
  if (isPlainObject(data.openapi) && typeof data.openapi.path === 'string') out.push(['openapi', data.openapi.path]);
  for (const field of ['configMapGenerator', 'secretGenerator']) {
    for (const gen of listOfMaps(data[field])) {
      // `files` entries may be `key=path`.
      for (const f of stringsOf(gen.files)) out.push([field, f.includes('=') ? f.slice(f.indexOf('=') + 1) : f]);
      for (const f of stringsOf(gen.envs)) out.push([field, f]);
      if (typeof gen.env === 'string') out.push([field, gen.env]);
    }
  }
  return out;
}

/** Why a generators/transformers/validators entry (inline YAML or a file) may not run, if it may not. */
async function pluginProblems(root: string, paths: ArtifactPaths, dir: string, entry: string): Promise<string[]> {
  let configs: unknown[];
  try {
    if (entry.includes('\n')) configs = yamlDocuments(entry);
    else {
      const found = await paths.resolve(dir, entry);
      if ('why' in found) return [found.why];
      if (found.isDir) return [`"${entry}" is a folder; only files of built-in plugin configurations are accepted`];
      configs = yamlDocuments(await readYamlFile(join(root, found.rel)));
    }
  } catch (err) {
    return [`"${entry.split('\n')[0] ?? entry}" cannot be read: ${err instanceof Error ? err.message : String(err)}`];
  }
  const problems: string[] = [];
  for (const config of configs) {
    if (config === null) continue;
    if (!isPlainObject(config)) {
      problems.push(`"${entry.split('\n')[0] ?? entry}" is not a plugin configuration`);
      continue;
    }
    const meta = isPlainObject(config.metadata) ? config.metadata : {};
    const annotations = isPlainObject(meta.annotations) ? meta.annotations : {};
    const what = `${textOf(config.kind) || '?'} ${textOf(meta.name)}`.trim();
    if (config.apiVersion !== 'builtin' || FUNCTION_ANNOTATIONS.some((a) => annotations[a] !== undefined)) {
      problems.push(`plugin ${what} (apiVersion ${textOf(config.apiVersion) || 'not set'}) is not one of kustomize's built-in plugins; exec, container and Go plugins are never run`);
    }
  }
  return problems;
}
