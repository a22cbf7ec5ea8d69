/**
 * `trellis build`: package program -> bundle folder -> validated -> deterministic
 * tarball. The folder is checked by the apply controller's own `readBundle` (the
 * built-in kind table standing in for API discovery), so a bundle that builds is a
 * bundle the controller accepts. The same sources give the same bytes: objects and
 * package.yaml are serialized in a fixed order and the tarball is written by
 * runtime/archive.ts (sorted entries, fixed times, owners and modes).
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { stringify } from 'yaml';
import {
  builtinIsNamespaced, loadBundle, PACKAGE_MANIFEST_FILE, readBundle, type BundleProblem, type PackageManifest, type ReadBundleSuccess,
} from '../../apply-controller/bundle/index.ts';
import { createDeterministicTarGz, extractTarGz } from '../../runtime/archive.ts';
import type { BuildPlan } from '../kit/index.ts';
import { PackageBuildError } from './errors.ts';
import { runPackageProgram, type RunProgramOptions } from './program.ts';
import { planProgramBundle, PROGRAM_FILE, type ProgramPlan } from './program-bundle.ts';

/**
 * Namespaced objects without a namespace are normal in a package: at install time
 * they get the Package's namespace (or targetNamespace). The build validates them
 * as written and drops only that one complaint.
 */
const NAMESPACE_DECIDED_AT_INSTALL = 'NamespaceMissing';

const YAML_OPTIONS = { lineWidth: 0, aliasDuplicateObjects: false } as const;

/** A built bundle. */
export interface BuiltBundle {
  /** The tarball. */
  readonly file: string;
  /** `sha256:<hex>` of the tarball. */
  readonly digest: string;
  readonly size: number;
  readonly manifest: PackageManifest;
  /** Number of objects in the bundle. */
  readonly objects: number;
  /** Declared values that land nowhere. */
  readonly unusedValues: readonly string[];
  /** Which file holds which object, to point at the file of an object the cluster refused. */
  readonly files: readonly BundleFileEntry[];
}

/** A manifest file of a built bundle and the object in it. */
export interface BundleFileEntry {
  /** Relative to the bundle root: `manifests/apps/001-deployment-web.yaml`. */
  readonly file: string;
  readonly kind: string;
  readonly name: string;
}

/** Writes package.yaml and one YAML file per object into `dir` (which must be empty or absent). */
export async function writeBundleDir(plan: BuildPlan | ProgramPlan, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, PACKAGE_MANIFEST_FILE), stringify(plan.manifest, YAML_OPTIONS));
  if ('program' in plan) await writeFile(join(dir, PROGRAM_FILE), plan.program.source);
  for (const file of plan.files) {
    const path = join(dir, plan.manifest.manifests, ...file.path.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, stringify(file.object, YAML_OPTIONS));
  }
}

/**
 * Checks a written bundle folder: every object reads back exactly as planned (the
 * YAML is lossless), and the apply controller's validation passes with the
 * defaults. Throws PackageBuildError(InvalidBundle) with every problem.
 */
export async function checkBundleDir(dir: string, plan?: BuildPlan): Promise<ReadBundleSuccess> {
  if (plan) {
    const loaded = await loadBundle(dir);
    const read = new Map(loaded.objects.map((o) => [o.source.file, o.object]));
    for (const file of plan.files) {
      const path = `${plan.manifest.manifests}/${file.path}`;
      if (loaded.errors.length === 0 && !isDeepStrictEqual(read.get(path), file.object)) {
        throw new PackageBuildError('InvalidBundle', `${path} does not read back as it was built (a YAML serialization problem)`);
      }
    }
  }
  const read = await readBundle(dir, { isNamespaced: builtinIsNamespaced });
  const problems = read.ok ? [] : read.errors.filter((e) => e.reason !== NAMESPACE_DECIDED_AT_INSTALL);
  if (problems.length > 0) return checkFailed(problems);
  // Only NamespaceMissing was reported: read again with a stand-in namespace for the result.
  const info = read.ok ? read : await readBundle(dir, { isNamespaced: builtinIsNamespaced, defaultNamespace: 'trellis-build-namespace' });
  if (!info.ok) return checkFailed(info.errors);
  if (info.format !== 'trellis' || !info.manifest) {
    throw new PackageBuildError('InvalidBundle', `${dir} is not a Trellis bundle (no ${PACKAGE_MANIFEST_FILE})`);
  }
  return info;
}

function checkFailed(problems: readonly BundleProblem[]): never {
  throw new PackageBuildError('InvalidBundle',
    `the bundle is not valid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((e) => `  ${e.reason}: ${e.message}`).join('\n')}`,
    problems);
}

/** Options for {@link buildBundle}. */
export interface BuildBundleOptions extends RunProgramOptions {
  /** Where to write the tarball (default `<name>-<version>.tgz` in the current folder). */
  readonly out?: string;
  /** Folder for temporary files (default the system's). */
  readonly workDir?: string;
  /**
   * Build a pre-rendered bundle (manifests with placements, the program run once
   * in a child process) instead of a program bundle. Pre-rendered bundles cannot
   * branch on values or take lists and maps.
   */
  readonly prerendered?: boolean;
  /** Type-check the package with TypeScript before compiling it (a program bundle only; several seconds). */
  readonly typecheck?: boolean;
}

/** Builds the package in `dir` into a validated, deterministic bundle tarball. */
export async function buildBundle(dir: string, opts: BuildBundleOptions = {}): Promise<BuiltBundle> {
  const plan = opts.prerendered
    ? await runPackageProgram(dir, opts)
    // program.ts is replaced in the shipped CLI: the entry is resolved here, and compile.ts checks it exists.
    : await planProgramBundle(resolve(dir, opts.entry ?? 'package.ts'), {
      ...(opts.onOutput ? { onOutput: opts.onOutput } : {}), ...(opts.typecheck ? { typecheck: true } : {}),
    });
  const work = await mkdtemp(join(opts.workDir ?? tmpdir(), 'trellis-build-'));
  try {
    const bundleDir = join(work, 'bundle');
    await writeBundleDir(plan, bundleDir);
    const read = await checkBundleDir(bundleDir, plan);
    const out = resolve(opts.out ?? `${plan.manifest.name}-${plan.manifest.version}.tgz`);
    await mkdir(dirname(out), { recursive: true });
    // Written beside the target and renamed, so a failed build never leaves half a tarball.
    const partial = join(dirname(out), `.${basename(out)}.${process.pid}.partial`);
    const archive = await createDeterministicTarGz(bundleDir, partial);
    await rename(partial, out);
    return {
      file: out, digest: archive.digest, size: archive.size, manifest: read.manifest!, objects: read.objects.length,
      unusedValues: plan.unusedValues,
      files: plan.files.map((f) => ({
        file: `${plan.manifest.manifests}/${f.path}`, kind: String(f.object.kind),
        name: String((f.object.metadata as { name?: unknown } | undefined)?.name),
      })),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A bundle tarball that was read back and validated. */
export interface BundleFileInfo {
  readonly manifest: PackageManifest;
  readonly objects: number;
}

/** Unpacks a bundle tarball (with the extraction limits) into a temporary folder and validates it. */
export async function inspectBundleFile(file: string, workDir?: string): Promise<BundleFileInfo> {
  const work = await mkdtemp(join(workDir ?? tmpdir(), 'trellis-inspect-'));
  try {
    const dir = join(work, 'bundle');
    await extractTarGz(file, dir);
    const read = await checkBundleDir(dir);
    return { manifest: read.manifest!, objects: read.objects.length };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
