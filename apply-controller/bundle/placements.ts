/**
 * Putting resolved values where the package marked them. The build wrote each
 * value's default at its place; a placement replaces it with the install-time
 * value, keeping the JSON type (a number stays a number), or renders it into a
 * string through a `template` (`repo:${value}`).
 */
import { posix } from 'node:path';
import { TEMPLATE_PLACEHOLDER, type Placement } from './format.ts';
import { refOf, type SourcedObject, type UnstructuredObject } from './object.ts';
import { getAtPointer, replaceAtPointer } from './pointer.ts';
import { problem, type BundleProblem } from './problems.ts';

/** Options for {@link applyPlacements}. */
export interface PlacementOptions {
  /** The manifests folder relative to the artifact root; placement files are relative to it. Default `.`. */
  readonly manifestsDir?: string;
}

/** The outcome of {@link applyPlacements}. */
export type PlacementResult =
  | { readonly ok: true; readonly objects: readonly SourcedObject[] }
  | { readonly ok: false; readonly errors: readonly BundleProblem[] };

function matches(obj: UnstructuredObject, target: Placement['object']): boolean {
  const ref = refOf(obj);
  return ref.kind === target.kind && ref.name === target.name
    && (target.apiVersion === undefined || ref.apiVersion === target.apiVersion)
    && (target.namespace === undefined || ref.namespace === target.namespace);
}

function describeTarget(target: Placement['object']): string {
  const name = target.namespace ? `${target.namespace}/${target.name}` : target.name;
  return `${target.apiVersion ? `${target.apiVersion} ` : ''}${target.kind} ${name}`;
}

/**
 * Writes each placement's value into a copy of the objects (the input is not
 * modified) and reports every placement whose file, object or path does not
 * exist, whose object is ambiguous, or whose template gets a non-scalar value. A
 * value that is not set (optional, no default, not given) leaves the built value
 * in place.
 */
export function applyPlacements(objects: readonly SourcedObject[], placements: readonly Placement[],
  values: Record<string, unknown>, options: PlacementOptions = {}): PlacementResult {
  const out = objects.map((o) => ({ object: structuredClone(o.object), source: o.source }));
  const problems: BundleProblem[] = [];
  const dir = options.manifestsDir ?? '.';
  placements.forEach((placement, index) => {
    const file = posix.join(dir, placement.file);
    const label = `values.placements[${index}] (value ${placement.value})`;
    const fail = (detail: string, object?: UnstructuredObject): void => {
      problems.push(problem('InvalidPlacement', `${label}: ${detail}`, object ? { file, object: refOf(object) } : { file }));
    };
    const inFile = out.filter((o) => o.source.file === file);
    if (inFile.length === 0) return fail(`the file ${placement.file} is not in the bundle's manifests`);
    const targets = inFile.filter((o) => matches(o.object, placement.object));
    if (targets.length === 0) return fail(`there is no ${describeTarget(placement.object)} in the file`);
    if (targets.length > 1) return fail(`${describeTarget(placement.object)} matches ${targets.length} objects in the file; add apiVersion or namespace`);
    const target = (targets[0] as { object: UnstructuredObject }).object;
    const value = getAtPointer(values, placement.value);
    if (value === undefined) return;
    let rendered: unknown = value;
    if (placement.template !== undefined) {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        return fail(`a template placement needs a string, number or boolean value, got ${value === null ? 'null' : Array.isArray(value) ? 'a list' : 'an object'}`, target);
      }
      rendered = placement.template.split(TEMPLATE_PLACEHOLDER).join(String(value));
    }
    if (!replaceAtPointer(target, placement.path, structuredClone(rendered))) {
      fail(`the path ${placement.path} does not exist in the object`, target);
    }
  });
  return problems.length > 0 ? { ok: false, errors: problems } : { ok: true, objects: out };
}
