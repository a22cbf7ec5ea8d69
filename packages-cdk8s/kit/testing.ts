/**
 * Testing helpers for package authors:
 *
 * ```ts
 * import test from 'ava';
 * import { render, synth } from '../../kit/index.ts';
 * import web from './package.ts';
 *
 * test('an Ingress when enabled', async (t) => {
 *   const objects = await render(new URL('./package.ts', import.meta.url), { ingress: { enabled: true } });
 *   t.true(objects.some((o) => o.kind === 'Ingress'));
 * });
 * test('three replicas', (t) => { t.snapshot(synth(web, { replicas: 3 })); });
 * ```
 *
 * `render` is what the cluster does: the package is compiled into a program
 * (as `trellis build` compiles it) and run in the apply controller's sandbox
 * with the values, merged over the defaults and checked against the schema.
 * `synth` runs the package in this process instead — quicker, synchronous, and
 * with the full Node API (so it cannot prove the sandbox accepts the package).
 * Both return plain objects in bundle order (stable, so snapshots stay put).
 */
import { fileURLToPath } from 'node:url';
import { canonicalJSON, resolveValues } from '../../apply-controller/bundle/index.ts';
import { renderProgram } from '../../apply-controller/program/index.ts';
import type { CompiledProgram } from '../build/compile.ts';
import { compilePackage } from '../build/compile-package.ts';
import { InvalidValuesError } from './errors.ts';
import type { PackageDefinition } from './package.ts';
import { planBuild, type BuildPlan } from './plan.ts';
import { synthesize } from './synthesize.ts';
import type { ValuesInput, ValuesShape } from './values.ts';

const plans = new WeakMap<PackageDefinition, BuildPlan>();

/** The pre-rendered bundle plan of a package (placements), built once per definition. */
export function planOf(pkg: PackageDefinition): BuildPlan {
  let plan = plans.get(pkg);
  if (!plan) {
    plan = planBuild(pkg);
    plans.set(pkg, plan);
  }
  return plan;
}

/**
 * The package's objects for `values`, synthesized in this process. The values
 * are merged over the defaults and checked against the values schema (like the
 * apply controller does), and given to the package with their keys sorted (like
 * the sandbox gives them). Throws InvalidValuesError for values the schema refuses.
 */
export function synth<S extends ValuesShape>(pkg: PackageDefinition<S>, values: ValuesInput<S> = {}): Record<string, unknown>[] {
  const def = pkg as unknown as PackageDefinition;
  const resolved = resolveValues({ schema: def.schema, values: values });
  if (!resolved.ok) throw new InvalidValuesError(resolved.errors);
  const canonical = JSON.parse(canonicalJSON(resolved.values)) as Record<string, unknown>;
  return synthesize(def, canonical).objects.map((o) => o.object);
}

/** Programs compiled in this process, by package file, with the values schema each declares. */
const compiled = new Map<string, Promise<CompiledProgram & { readonly schema: Record<string, unknown> }>>();

/**
 * The package's objects for `values`, rendered the way the cluster renders them:
 * the package file (`entry`, a path or a file URL) compiled into a program once
 * per process (with the files it declares embedded), then run in the sandbox. `values` are checked against the schema
 * the program declares. Throws InvalidValuesError for values the schema refuses,
 * and the engine's RenderError when the program fails in the sandbox.
 */
export async function render(entry: string | URL, values: Record<string, unknown> = {}): Promise<Record<string, unknown>[]> {
  const file = entry instanceof URL ? fileURLToPath(entry) : entry;
  let program = compiled.get(file);
  if (!program) {
    program = compilePackage(file).then((p) => ({ ...p.program, schema: p.description.schema }));
    compiled.set(file, program);
  }
  const { source, digest, schema } = await program;
  const resolved = resolveValues({ schema, values });
  if (!resolved.ok) throw new InvalidValuesError(resolved.errors);
  return (await renderProgram(source, digest, resolved.values)).objects.map((o) => o.object);
}
