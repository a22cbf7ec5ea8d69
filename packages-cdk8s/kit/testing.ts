/**
 * Testing helpers for package authors:
 *
 * ```ts
 * import test from 'ava';
 * import { synth } from '../../kit/index.ts';
 * import web from './package.ts';
 *
 * test('three replicas', (t) => { t.snapshot(synth(web, { replicas: 3 })); });
 * ```
 *
 * `synth` returns what the cluster will be given for those values, as plain
 * objects in bundle order (stable, so snapshots stay put). It also proves the
 * bundle would give the same: the package is built with the values, and the
 * values are substituted into the default build through the bundle's placements
 * (the apply controller's code); the two must be equal.
 */
import { resolveValues } from '../../apply-controller/bundle/index.ts';
import { InvalidValuesError } from './errors.ts';
import type { PackageDefinition } from './package.ts';
import { planBuild, verifyPlan, type BuildPlan } from './plan.ts';
import type { ValuesInput, ValuesShape } from './values.ts';

const plans = new WeakMap<PackageDefinition, BuildPlan>();

/** The bundle plan of a package, built once per definition. */
export function planOf(pkg: PackageDefinition): BuildPlan {
  let plan = plans.get(pkg);
  if (!plan) {
    plan = planBuild(pkg);
    plans.set(pkg, plan);
  }
  return plan;
}

/**
 * The package's objects for `values` (merged over the defaults and checked against
 * the values schema, like the apply controller does). Throws InvalidValuesError
 * for values the schema refuses, and ValuesNotPlaceableError when the bundle's
 * placements would not give the same objects.
 */
export function synth<S extends ValuesShape>(pkg: PackageDefinition<S>, values: ValuesInput<S> = {}): Record<string, unknown>[] {
  const def = pkg as unknown as PackageDefinition;
  const resolved = resolveValues({ schema: def.schema, values: values });
  if (!resolved.ok) throw new InvalidValuesError(resolved.errors);
  const plan = planOf(def);
  return verifyPlan(def, plan, resolved.values, 'the given values').objects.map((o) => o.object);
}
