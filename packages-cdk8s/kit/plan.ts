/**
 * From a package definition to what the bundle holds: package.yaml (name,
 * version, phases, values schema, placements) and one manifest file per object,
 * built with the defaults. Placements are found by a build with marker values
 * (sentinels.ts) and then proven by builds with other values (verify.ts), so a
 * bundle never promises a substitution the package program would not make.
 */
import {
  DEFAULT_MANIFESTS_DIR, PACKAGE_MANIFEST_API_VERSION, PACKAGE_MANIFEST_KIND, type PackageManifest, type Placement,
} from '../../apply-controller/bundle/index.ts';
import { PackageDefinitionError, ValuesNotPlaceableError } from './errors.ts';
import type { PackageDefinition } from './package.ts';
import { findPlacements, makeSentinels, type FoundPlacement } from './sentinels.ts';
import { synthesize, type Synthesis } from './synthesize.ts';
import { collectionValues, valueLeaves } from './values.ts';
import {
  compareBuilds, defaultValues, placeValues, probeValues, substituteDefaults, synthesizeWith, type BundleFile,
} from './verify.ts';

export type { BundleFile } from './verify.ts';

/** Everything a bundle holds, as data (it crosses from the build's child process as JSON). */
export interface BuildPlan {
  readonly manifest: PackageManifest;
  /** One file per object, in bundle order. */
  readonly files: readonly BundleFile[];
  /** Declared values that land nowhere (JSON pointers), worth a warning. */
  readonly unusedValues: readonly string[];
}

/** Object fields a value may not set: placements find their object by these. */
const IDENTITY_PATHS = new Set(['/apiVersion', '/kind']);
/** Placements that rename an object go last, so earlier placements still find it by its built name. */
const RENAMING_PATHS = new Set(['/metadata/name', '/metadata/namespace']);

/**
 * Builds the plan of `def`'s bundle. Throws {@link ValuesNotPlaceableError} when a
 * value is used in a way placements cannot reproduce, and PackageDefinitionError
 * for a malformed package (phases, output that is not JSON).
 */
export function planBuild(def: PackageDefinition): BuildPlan {
  const collections = collectionValues(def.values);
  if (collections.length > 0) {
    throw new PackageDefinitionError(`package ${def.name}: the list and map values ${collections.join(', ')} need a program bundle (build without --prerendered)`);
  }
  const leaves = valueLeaves(def.values);
  const defaults = defaultValues(def);
  const built = synthesize(def, defaults);
  const files = layoutFiles(built);
  const describe = (i: number): string => describeFile(files[i]!);
  const predictedPhases = built.phases;

  const sentinels = makeSentinels(leaves);
  const marked = synthesizeWith(def, sentinels.values, 'marker values in place of the defaults');
  const ctx = { def, defaults, describe };
  // The marker build holds markers where values land: first only its object list must match.
  compareBuilds(marked, built.objects.map((o) => o.object), predictedPhases,
    { ...ctx, what: 'marker values', blameValues: sentinels.values, shapeOnly: true });
  const found = findPlacements(marked.objects.map((o) => o.object), built.objects.map((o) => o.object), sentinels, describe);
  for (const p of found) {
    if (IDENTITY_PATHS.has(p.path)) {
      throw new ValuesNotPlaceableError(`${describe(p.objectIndex)}: value ${p.leaf.pointer} sets ${p.path}, which identifies the object and cannot be a value`,
        [p.leaf.pointer], { object: describe(p.objectIndex), path: p.path });
    }
  }
  compareBuilds(built, substituteDefaults(marked, found, defaults), marked.phases,
    { ...ctx, what: 'the defaults', predictedFrom: 'a build with marker values', blameValues: sentinels.values });

  const placements = toPlacements(found, files);
  const manifest: PackageManifest = {
    apiVersion: PACKAGE_MANIFEST_API_VERSION,
    kind: PACKAGE_MANIFEST_KIND,
    name: def.name,
    version: def.version,
    ...(def.description !== undefined ? { description: def.description } : {}),
    phases: [...built.phases],
    manifests: DEFAULT_MANIFESTS_DIR,
    values: { schema: structuredClone(def.schema), placements },
  };
  const plan: BuildPlan = {
    manifest,
    files,
    unusedValues: leaves.filter((l) => !found.some((p) => p.leaf === l)).map((l) => l.pointer),
  };
  const probe = probeValues(leaves);
  verifyPlan(def, plan, probe, 'other values (each differing from its default)');
  return plan;
}

/**
 * Checks that substituting `values` into the plan's objects (the apply
 * controller's `applyPlacements`) gives exactly what the package program builds
 * with `values`, and returns those objects. Throws {@link ValuesNotPlaceableError}
 * otherwise. `what` names the values in the message.
 */
export function verifyPlan(def: PackageDefinition, plan: BuildPlan, values: Record<string, unknown>, what: string): Synthesis {
  const actual = synthesizeWith(def, values, what);
  const predicted = placeValues(plan.files, plan.manifest.values.placements, values, plan.manifest.manifests);
  compareBuilds(actual, predicted, plan.manifest.phases, {
    def, defaults: defaultValues(def), describe: (i) => describeFile(plan.files[i]!), what, blameValues: values,
  });
  return actual;
}

function describeFile(file: BundleFile): string {
  const meta = file.object.metadata as { name?: unknown } | undefined;
  return `${DEFAULT_MANIFESTS_DIR}/${file.path}: ${String(file.object.kind)} ${String(meta?.name)}`;
}

/** `manifests/<phase>/<NNN>-<kind>-<name>.yaml`: one object per file, numbered in bundle order within the phase. */
export function layoutFiles(built: Synthesis): BundleFile[] {
  const counts = new Map<string, number>();
  for (const o of built.objects) counts.set(o.phase, (counts.get(o.phase) ?? 0) + 1);
  const next = new Map<string, number>();
  return built.objects.map(({ phase, object }) => {
    const n = (next.get(phase) ?? 0) + 1;
    next.set(phase, n);
    const width = Math.max(3, String(counts.get(phase)).length);
    const meta = object.metadata as { name?: unknown } | undefined;
    return { path: `${phase}/${String(n).padStart(width, '0')}-${slug(object.kind)}-${slug(meta?.name)}.yaml`, phase, object };
  });
}

function slug(v: unknown): string {
  const s = (typeof v === 'string' ? v : 'unnamed').toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 60);
  return s === '' ? 'unnamed' : s;
}

function toPlacements(found: readonly FoundPlacement[], files: readonly BundleFile[]): Placement[] {
  const ordered = [...found.filter((p) => !RENAMING_PATHS.has(p.path)), ...found.filter((p) => RENAMING_PATHS.has(p.path))];
  return ordered.map((p) => {
    const file = files[p.objectIndex]!;
    const meta = file.object.metadata as { name?: unknown } | undefined;
    return {
      value: p.leaf.pointer,
      file: file.path,
      object: { apiVersion: String(file.object.apiVersion), kind: String(file.object.kind), name: typeof meta?.name === 'string' ? meta.name : '' },
      path: p.path,
      ...(p.template !== undefined ? { template: p.template } : {}),
    };
  });
}
