/**
 * Bundles of manifests someone else rendered: `helm template` output on standard
 * input, or a folder of plain YAML or a Kustomize overlay rendered in CI (within
 * the Git checkout the folder is in, else the current folder when it holds it, so
 * an overlay may use `../base`). They
 * become a Trellis bundle (a generated package.yaml and one manifests file) that
 * `trellis push` sends like any other, checked by the apply controller's own
 * loader and validation first. A Helm chart's name and version, read from the
 * `# Source:` comments and `helm.sh/chart` labels Helm writes, name the package
 * and are kept as annotations of the pushed artifact.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import {
  builtinIsNamespaced, DEFAULT_MANIFESTS_DIR, DEFAULT_PHASE, loadBundle, PACKAGE_MANIFEST_API_VERSION, PACKAGE_MANIFEST_FILE,
  PACKAGE_MANIFEST_KIND, parseManifests, PHASE_ANNOTATION, readBundle, validatePackageManifest,
  type BundleProblem, type PackageManifest, type SourcedObject,
} from '../../apply-controller/bundle/index.ts';
import { createDeterministicTarGz } from '../../runtime/archive.ts';
import { PackageBuildError } from './errors.ts';

/** Annotation of the pushed artifact naming the Helm chart the manifests were rendered from. */
export const CHART_NAME_ANNOTATION = 'dev.trellis.helm.chart.name';
/** Annotation of the pushed artifact with that chart's version. */
export const CHART_VERSION_ANNOTATION = 'dev.trellis.helm.chart.version';

/** The file the objects are written to inside the bundle. */
const OBJECTS_FILE = 'rendered.yaml';
const YAML_OPTIONS = { lineWidth: 0, aliasDuplicateObjects: false } as const;

/** A Helm chart as its rendered output names it. */
export interface ChartInfo {
  readonly name: string;
  readonly version: string;
}

/**
 * The chart `helm template` output was rendered from: the folder of its first
 * `# Source: <chart>/templates/…` comment, and the version that follows
 * `<chart>-` in a `helm.sh/chart` label. Undefined when either is missing.
 */
export function chartOf(yaml: string): ChartInfo | undefined {
  const name = /^# Source: ([^/\s]+)\/(?:templates|crds|charts)\//m.exec(yaml)?.[1];
  if (name === undefined) return undefined;
  for (const m of yaml.matchAll(/^\s*helm\.sh\/chart:\s*["']?([^"'\s]+)["']?\s*$/gm)) {
    const label = m[1] ?? '';
    if (label.startsWith(`${name}-`)) return { name, version: label.slice(name.length + 1) };
  }
  return undefined;
}

/** What to bundle: rendered YAML text, or a folder (plain manifests or a kustomization). */
export type RenderedInput = { readonly yaml: string } | { readonly dir: string };

/** Options of {@link bundleRendered}. */
export interface BundleRenderedOptions {
  /** The package name; default the Helm chart's. */
  readonly name?: string | undefined;
  /** The package version; default the Helm chart's. */
  readonly version?: string | undefined;
  /** Where to write the tarball. */
  readonly out: string;
  readonly workDir?: string | undefined;
}

/** A bundle made of rendered manifests. */
export interface RenderedBundle {
  readonly file: string;
  readonly digest: string;
  readonly manifest: PackageManifest;
  readonly objects: number;
  /** The chart, when the input was Helm output. */
  readonly chart?: ChartInfo;
  /** Annotations for the pushed artifact (the chart's name and version). */
  readonly annotations: Readonly<Record<string, string>>;
}

async function objectsOf(input: RenderedInput): Promise<{ objects: readonly SourcedObject[]; chart?: ChartInfo }> {
  if ('yaml' in input) {
    const parsed = parseManifests(input.yaml, 'stdin');
    if (parsed.errors.length > 0) failed(parsed.errors);
    const chart = chartOf(input.yaml);
    return { objects: parsed.objects, ...(chart ? { chart } : {}) };
  }
  // A kustomization's bases are often beside it (`../base`): the checkout it is in is the root it may read.
  const dir = resolve(input.dir);
  const cwd = process.cwd();
  const root = checkoutOf(dir) ?? (dir.startsWith(`${cwd}/`) ? cwd : dir);
  const loaded = await loadBundle(root, { path: relative(root, dir) || '.' });
  if (loaded.errors.length > 0) failed(loaded.errors);
  return { objects: loaded.objects };
}

/** The nearest folder at or above `dir` holding `.git`, if any. */
function checkoutOf(dir: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, '.git'))) return at;
    if (dirname(at) === at) return undefined;
  }
}

/** Phases in order of first appearance of their annotation (`default` is implied). */
function phasesOf(objects: readonly SourcedObject[]): string[] {
  const phases: string[] = [];
  for (const { object } of objects) {
    const phase = (object.metadata as { annotations?: Record<string, unknown> } | undefined)?.annotations?.[PHASE_ANNOTATION];
    if (typeof phase === 'string' && phase !== DEFAULT_PHASE && !phases.includes(phase)) phases.push(phase);
  }
  return phases;
}

function failed(problems: readonly BundleProblem[]): never {
  throw new PackageBuildError('InvalidBundle',
    `the manifests are not valid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((e) => `  ${e.reason}: ${e.message}`).join('\n')}`,
    problems);
}

/**
 * Writes rendered manifests as a Trellis bundle tarball: package.yaml (name and
 * version from the options or the chart; phases in the order the objects name
 * them) and `manifests/rendered.yaml`. The objects are validated as the apply
 * controller would, except for what only the cluster can say (custom kinds it
 * serves, the namespace of objects that name none).
 */
export async function bundleRendered(input: RenderedInput, opts: BundleRenderedOptions): Promise<RenderedBundle> {
  const { objects, chart } = await objectsOf(input);
  const name = opts.name ?? chart?.name;
  const version = opts.version ?? chart?.version;
  if (name === undefined || version === undefined) {
    throw new PackageBuildError('InvalidPackage', 'rendered manifests need a package name and version: give --name and --package-version (Helm output names its chart itself)');
  }
  const manifestData = { apiVersion: PACKAGE_MANIFEST_API_VERSION, kind: PACKAGE_MANIFEST_KIND, name, version, phases: phasesOf(objects), manifests: DEFAULT_MANIFESTS_DIR };
  const checked = validatePackageManifest(manifestData);
  if (!checked.ok) failed(checked.errors);
  const work = await mkdtemp(join(opts.workDir ?? tmpdir(), 'trellis-rendered-'));
  try {
    const dir = join(work, 'bundle');
    await mkdir(join(dir, DEFAULT_MANIFESTS_DIR), { recursive: true });
    await writeFile(join(dir, PACKAGE_MANIFEST_FILE), stringify(manifestData, YAML_OPTIONS));
    await writeFile(join(dir, DEFAULT_MANIFESTS_DIR, OBJECTS_FILE), objects.map((o) => stringify(o.object, YAML_OPTIONS)).join('---\n'));
    const read = await readBundle(dir, { isNamespaced: builtinIsNamespaced });
    // Custom kinds, and the namespace of objects that name none, are the cluster's and the Package's to decide.
    const problems = read.ok ? [] : read.errors.filter((e) => e.reason !== 'UnknownKind' && e.reason !== 'NamespaceMissing');
    if (problems.length > 0) failed(problems);
    const out = resolve(opts.out);
    await mkdir(dirname(out), { recursive: true });
    const partial = join(dirname(out), `.${basename(out)}.${process.pid}.partial`);
    const archive = await createDeterministicTarGz(dir, partial);
    await rename(partial, out);
    return {
      file: out, digest: archive.digest, manifest: checked.manifest, objects: objects.length,
      ...(chart ? { chart } : {}),
      annotations: chart ? { [CHART_NAME_ANNOTATION]: chart.name, [CHART_VERSION_ANNOTATION]: chart.version } : {},
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
