/**
 * Reading a bundle from an unpacked artifact: a Trellis bundle (`package.yaml`
 * plus a manifests folder), a kustomization (rendered by kustomize), or a plain
 * folder of YAML/JSON manifests as a repository holds it, in a stable order
 * (files by sorted path, then document order).
 */
import { lstat, readFile, realpath } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import { parseDocument } from 'yaml';
import { FILE_CONCURRENCY, inOrderAhead, mapBounded } from '../../runtime/concurrency.ts';
import { findKustomization } from '../kustomize/files.ts';
import { renderKustomization } from '../kustomize/render.ts';
import type { KustomizeSettings } from '../kustomize/settings.ts';
import { classifyParsed } from './classify.ts';
import { DEFAULT_MANIFESTS_DIR, PACKAGE_MANIFEST_FILE, validatePackageManifest, type PackageManifest } from './format.ts';
import { isPlainObject, type SourcedObject } from './object.ts';
import { FAST_PATH_MIN_LENGTH, parseManifests } from './parse.ts';
import { problem, type BundleProblem } from './problems.ts';
import { walkManifests, type SkippedFile, type WalkResult } from './walk.ts';

/** Options for {@link loadBundle}. */
export interface LoadBundleOptions {
  /** The Package's `spec.path`, relative to the artifact root; default the root. */
  readonly path?: string;
  /** Largest manifest file read; default 8 MiB. */
  readonly maxFileBytes?: number;
  /** Aliases expanded per YAML document; default 100. */
  readonly maxAliasCount?: number;
  /** How kustomizations are rendered; default the process-wide settings (kustomize/settings.ts). */
  readonly kustomize?: KustomizeSettings | undefined;
  /** Cancels a kustomize render under way. */
  readonly signal?: AbortSignal | undefined;
}

/** What {@link loadBundle} found. Errors do not stop loading: everything readable is read. */
export interface LoadedBundle {
  /** `trellis` when the path holds a package.yaml, else `plain`. */
  readonly format: 'trellis' | 'plain';
  /** The validated package manifest (undefined for plain folders, or when package.yaml is invalid). */
  readonly manifest?: PackageManifest;
  /** The folder the manifests were read from, relative to the artifact root (`.` for the root). */
  readonly manifestsDir: string;
  readonly objects: readonly SourcedObject[];
  readonly errors: readonly BundleProblem[];
  /** Files and folders left out (not Kubernetes objects, ignored, a Helm chart's sources), with why. */
  readonly skipped: readonly SkippedFile[];
  /** The kustomization files rendered with kustomize (their objects name them as their file). */
  readonly rendered: readonly string[];
}

/** `spec.path` as a clean relative path, or undefined when it leaves the artifact. */
function normalizeBundlePath(path: string): string | undefined {
  if (path.includes('\\') || path.includes('\0')) return undefined;
  const clean = posix.normalize(`./${path.replace(/^\/+/, '')}`).replace(/\/+$/, '');
  if (clean === '..' || clean.startsWith('../')) return undefined;
  return clean === '' ? '.' : clean;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw err;
  }
}

/**
 * Loads the bundle at `<dir>/<opts.path>`. With a `package.yaml` there, it is a
 * Trellis bundle: the manifest is validated and the manifests folder it names is
 * read. When that folder holds a kustomization, kustomize renders it (hardened,
 * see kustomize/render.ts) and its output is the bundle's objects. Otherwise
 * every `*.yaml`, `*.yml` and `*.json` file under the folder is read recursively
 * (walk.ts says what is left out); a sub-folder holding a kustomization is
 * rendered instead of read file by file; files that are not Kubernetes objects
 * (classify.ts) are skipped and listed in `skipped`. Symbolic links are never
 * followed: a link with a manifest extension is reported. I/O errors other than
 * "not found" are thrown.
 */
export async function loadBundle(dir: string, opts: LoadBundleOptions = {}): Promise<LoadedBundle> {
  const problems: BundleProblem[] = [];
  const rel = normalizeBundlePath(opts.path ?? '.');
  const fail = (detail: string): LoadedBundle => ({
    format: 'plain', manifestsDir: rel ?? '.', objects: [], errors: [problem('PathNotFound', detail)], skipped: [], rendered: [],
  });
  if (rel === undefined) return fail(`path "${opts.path}" is outside the artifact`);
  const root = join(dir, rel);
  if (!(await isDirectory(root)) || !isInside(await realpath(root), await realpath(dir))) {
    return fail(`path "${opts.path ?? '.'}" is not a folder in the artifact`);
  }

  let manifest: PackageManifest | undefined;
  let manifestsDir = rel;
  let format: LoadedBundle['format'] = 'plain';
  const manifestPath = join(root, PACKAGE_MANIFEST_FILE);
  if ((await lstat(manifestPath).catch(() => undefined))?.isFile()) {
    format = 'trellis';
    const manifestFile = posix.join(rel, PACKAGE_MANIFEST_FILE);
    const read = await readPackageManifest(manifestPath, manifestFile);
    problems.push(...read.problems);
    manifest = read.manifest;
    manifestsDir = posix.join(rel, manifest?.manifests ?? read.manifestsHint ?? DEFAULT_MANIFESTS_DIR);
    if (!(await isDirectory(join(dir, manifestsDir)))) {
      problems.push(problem('PathNotFound', `the manifests folder "${manifestsDir}" does not exist`, { file: manifestFile }));
      return { format, ...(manifest ? { manifest } : {}), manifestsDir, objects: [], errors: problems, skipped: [], rendered: [] };
    }
  }

  const skip = format === 'trellis' ? posix.join(rel, PACKAGE_MANIFEST_FILE) : undefined;
  const rootKustomization = await findKustomization(join(dir, manifestsDir));
  const walked: WalkResult = rootKustomization === undefined ? await walkManifests(dir, manifestsDir)
    : { entries: [{ kind: 'kustomization', dir: manifestsDir, file: posix.join(manifestsDir, rootKustomization) }], skipped: [], problems: [] };
  problems.push(...walked.problems);
  const skipped: SkippedFile[] = [...walked.skipped];
  const objects: SourcedObject[] = [];
  const rendered: string[] = [];
  const limits = opts.maxAliasCount === undefined ? {} : { maxAliasCount: opts.maxAliasCount };
  const maxFileBytes = opts.maxFileBytes ?? 8 * 1024 * 1024;
  const entries = walked.entries.filter((entry) => entry.file !== skip);
  // Sizes first: a file over the limit is never read, and the manifests' total decides the parser (parse.ts).
  const sizes = await mapBounded(entries, FILE_CONCURRENCY, async (entry) => (entry.kind === 'file' ? (await lstat(join(dir, entry.file))).size : 0));
  const fast = sizes.reduce((sum, size) => sum + (size <= maxFileBytes ? size : 0), 0) >= FAST_PATH_MIN_LENGTH;
  // Files are read a few ahead of the one being parsed (one at a time, a package of a file per object waited on
  // the thread pool longer than it parsed); kustomizations are rendered in their turn.
  const texts = inOrderAhead(entries, FILE_CONCURRENCY, (entry, i) =>
    (entry.kind === 'file' && (sizes[i] ?? 0) <= maxFileBytes ? readFile(join(dir, entry.file), 'utf8') : Promise.resolve(undefined)));
  for (const [i, entry] of entries.entries()) {
    const { value: read } = await texts.next();
    if (entry.kind === 'file' && read === undefined) {
      problems.push(problem('FileTooLarge', `the file is ${sizes[i] ?? 0} bytes, more than the limit of ${maxFileBytes}`, { file: entry.file }));
      continue;
    }
    const text = entry.kind === 'file' ? read : await renderEntry(dir, entry, opts, problems);
    if (text === undefined) continue;
    const parsed = parseManifests(text, entry.file, limits, fast);
    if (entry.kind === 'kustomization') rendered.push(entry.file);
    else {
      const kind = classifyParsed(parsed, text, entry.file);
      if (!kind.manifest) {
        skipped.push({ file: entry.file, why: kind.why });
        continue;
      }
    }
    objects.push(...parsed.objects);
    problems.push(...parsed.errors);
  }
  skipped.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return { format, ...(manifest ? { manifest } : {}), manifestsDir, objects, errors: problems, skipped, rendered };
}

async function renderEntry(dir: string, entry: { readonly dir: string; readonly file: string }, opts: LoadBundleOptions,
  problems: BundleProblem[]): Promise<string | undefined> {
  const result = await renderKustomization(dir, entry.dir, entry.file, { settings: opts.kustomize, signal: opts.signal });
  if (result.ok) return result.yaml;
  problems.push(...result.problems);
  return undefined;
}

function isInside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

/**
 * Reads and validates package.yaml. When it is invalid, `manifestsHint` still
 * says which folder it names (if that is a safe relative path), so the manifests
 * can be checked and reported on in the same pass.
 */
async function readPackageManifest(path: string, file: string): Promise<{ manifest?: PackageManifest; manifestsHint?: string; problems: BundleProblem[] }> {
  const doc = parseDocument(await readFile(path, 'utf8'), { uniqueKeys: true, prettyErrors: true, version: '1.2' });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const detail = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
        return problem('InvalidYAML', detail, pos ? { file, line: pos.line, column: pos.col } : { file });
      }),
    };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { problems: [problem('InvalidYAML', err instanceof Error ? err.message : String(err), { file })] };
  }
  const result = validatePackageManifest(data, file);
  if (result.ok) return { manifest: result.manifest, problems: [] };
  const hint = isPlainObject(data) && typeof data.manifests === 'string' ? normalizeBundlePath(data.manifests) : undefined;
  return { ...(hint === undefined ? {} : { manifestsHint: hint }), problems: [...result.errors] };
}
