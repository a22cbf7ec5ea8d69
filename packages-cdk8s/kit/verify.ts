/**
 * Proof that the placements reproduce the package. The apply controller does not
 * run the package program: it takes the objects built with the defaults and
 * substitutes the install-time values where the placements say. That is only
 * right when every value is used as is (a field, or inside a string). These
 * checks build the package again with other values and compare the program's own
 * output with what the placements give; any difference means a value is computed
 * with, branched on, or otherwise used in a way substitution cannot reproduce.
 */
import { applyPlacements, getAtPointer, replaceAtPointer, TEMPLATE_PLACEHOLDER, type Placement } from '../../apply-controller/bundle/index.ts';
import { firstDifference, preview } from './_diff.ts';
import { PackageDefinitionError, ValuesNotPlaceableError } from './errors.ts';
import type { PackageDefinition } from './package.ts';
import type { FoundPlacement } from './sentinels.ts';
import { synthesize, type Synthesis } from './synthesize.ts';
import { valueLeaves, valuesFromLeaves, type ValueLeaf } from './values.ts';

/** A manifest file of the bundle: its path in the manifests folder and its one object. */
export interface BundleFile {
  /** Relative to the manifests folder, `/`-separated: `apps/001-deployment-web.yaml`. */
  readonly path: string;
  readonly phase: string;
  readonly object: Record<string, unknown>;
}

const WHY = 'the apply controller substitutes install-time values where the default build put them, '
  + 'so a value must be used as is (a field) or inside a string, never computed with or branched on';

/** The defaults of every value. */
export function defaultValues(def: PackageDefinition): Record<string, unknown> {
  return valuesFromLeaves(valueLeaves(def.values), (leaf) => leaf.declaration.default);
}

/** A second set of values, each different from its default where its type allows. */
export function probeValues(leaves: readonly ValueLeaf[]): Record<string, unknown> {
  return valuesFromLeaves(leaves, (leaf) => {
    const d = leaf.declaration;
    const max = (d.schema.maximum ?? d.schema.exclusiveMaximum) as number | undefined;
    switch (d.kind) {
      case 'integer':
      case 'number': {
        const step = d.kind === 'integer' ? 1 : 0.5;
        const up = (d.default as number) + step;
        return max === undefined || up < max || (up === max && d.schema.maximum !== undefined) ? up : (d.default as number) - step;
      }
      case 'boolean': return !(d.default as boolean);
      case 'enum': {
        const options = d.options ?? [];
        return options[(options.indexOf(d.default as string) + 1) % options.length];
      }
      default: return `${d.default as string}-Probe.X`;
    }
  });
}

/** Runs the package with `values`; its failure is reported as a value used in a way placements cannot express. */
export function synthesizeWith(def: PackageDefinition, values: Record<string, unknown>, what: string): Synthesis {
  try {
    return synthesize(def, values);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ValuesNotPlaceableError(`package ${def.name} failed when built with ${what} (${message}); ${WHY}`);
  }
}

/** The sentinel build with each placement's default written in: it must equal the build with the defaults. */
export function substituteDefaults(marked: Synthesis, found: readonly FoundPlacement[], defaults: Record<string, unknown>): Record<string, unknown>[] {
  const objects = marked.objects.map((o) => structuredClone(o.object));
  for (const p of found) {
    const v = getAtPointer(defaults, p.leaf.pointer);
    replaceAtPointer(objects[p.objectIndex], p.path, p.template === undefined ? v : p.template.split(TEMPLATE_PLACEHOLDER).join(String(v)));
  }
  return objects;
}

/** Context for {@link compareBuilds}: how to name objects, and how to find the values behind a difference. */
export interface CompareContext {
  readonly def: PackageDefinition;
  readonly defaults: Record<string, unknown>;
  readonly describe: (index: number) => string;
  /** What the program was built with, for the message ("other values", "the given values"). */
  readonly what: string;
  /** Values for blame: each leaf alone set to its value in here, the rest at the defaults. */
  readonly blameValues: Record<string, unknown>;
  /** Which build the prediction substituted values into (default: the build with the defaults). */
  readonly predictedFrom?: string;
  /** Compare only the phases and the number of objects. */
  readonly shapeOnly?: boolean;
}

/**
 * Compares the program's output (`actual`) with the placements' prediction and
 * throws {@link ValuesNotPlaceableError} at the first difference, naming the
 * object, path and (as far as it can tell) the values involved.
 */
export function compareBuilds(actual: Synthesis, predicted: readonly Record<string, unknown>[], phases: readonly string[],
  ctx: CompareContext): void {
  if (actual.phases.join() !== phases.join() || actual.objects.length !== predicted.length) {
    const culprits = blame(ctx, (s) => s.phases.join() !== phases.join() || s.objects.length !== predicted.length);
    throw new ValuesNotPlaceableError(
      `package ${ctx.def.name}: ${describeValues(culprits)} change${culprits.length === 1 ? 's' : ''} which objects or phases the package has `
      + `(built with ${ctx.what}: ${actual.objects.length} objects in phases [${actual.phases.join(', ')}]; with the defaults: `
      + `${predicted.length} objects in phases [${phases.join(', ')}]); ${WHY}`, culprits);
  }
  if (ctx.shapeOnly) return;
  for (let i = 0; i < predicted.length; i++) {
    const diff = firstDifference(actual.objects[i]!.object, predicted[i]);
    if (!diff) continue;
    const at = (s: Synthesis): unknown => getAtPointer(s.objects[i]?.object, diff.path);
    const base = synthesize(ctx.def, ctx.defaults);
    const culprits = blame(ctx, (s) => firstDifference(at(s), at(base)) !== undefined);
    throw new ValuesNotPlaceableError(
      `${ctx.describe(i)} at ${diff.path || '/'}: built with ${ctx.what} the package gives ${preview(diff.left)}, `
      + `but substituting them where they land in ${ctx.predictedFrom ?? 'the build with the defaults'} gives ${preview(diff.right)}; `
      + `${describeValues(culprits)} ${culprits.length === 1 ? 'is' : 'are'} used in a way placements cannot express: ${WHY}`,
      culprits, { object: ctx.describe(i), path: diff.path || '/' });
  }
}

/** The placements (by file) applied to the default build with `values`, through the apply controller's own code. */
export function placeValues(files: readonly BundleFile[], placements: readonly Placement[], values: Record<string, unknown>,
  manifestsDir: string): Record<string, unknown>[] {
  const sourced = files.map((f) => ({ object: f.object, source: { file: `${manifestsDir}/${f.path}`, document: 0 } }));
  const placed = applyPlacements(sourced, placements, values, { manifestsDir });
  if (!placed.ok) {
    // The kit wrote these placements itself; failing to apply them is a bug in the kit.
    throw new PackageDefinitionError(`the placements do not apply to the built objects: ${placed.errors.map((e) => e.message).join('; ')}`);
  }
  return placed.objects.map((o) => o.object);
}

/** The leaves that, set alone, make `reproduces` true. */
function blame(ctx: CompareContext, reproduces: (s: Synthesis) => boolean): string[] {
  const out: string[] = [];
  const leaves = valueLeaves(ctx.def.values);
  for (const leaf of leaves) {
    const single = valuesFromLeaves(leaves, (l) => getAtPointer(l === leaf ? ctx.blameValues : ctx.defaults, l.pointer));
    try {
      if (reproduces(synthesize(ctx.def, single))) out.push(leaf.pointer);
    } catch {
      out.push(leaf.pointer);
    }
  }
  return out;
}

function describeValues(pointers: readonly string[]): string {
  if (pointers.length === 0) return 'a value';
  return `value${pointers.length === 1 ? '' : 's'} ${pointers.join(', ')}`;
}
