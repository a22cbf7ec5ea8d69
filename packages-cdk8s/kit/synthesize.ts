/**
 * Running a package's `build` with a given set of values and reading its charts in
 * memory: the objects (plain JSON, with their phase annotation) and the phases in
 * apply order. Pure apart from the package's own code; nothing is written to disk.
 */
import { ApiObject, Chart } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { PHASE_ANNOTATION } from '../../apply-controller/bundle/index.ts';
import { PackageDefinitionError } from './errors.ts';
import { isPhaseName, PackageApp, type PackageDefinition } from './package.ts';
import { deepFreeze } from './values.ts';

/** A synthesized object and the phase it belongs to. */
export interface SynthesizedObject {
  readonly phase: string;
  /** The object as plain JSON (what goes into the manifest file). */
  readonly object: Record<string, unknown>;
}

/** The output of one run of a package's `build`. */
export interface Synthesis {
  /** Phase names in apply order (dependencies first, then declaration order). */
  readonly phases: readonly string[];
  /** Objects, phase by phase in {@link phases} order, each phase in chart order. */
  readonly objects: readonly SynthesizedObject[];
}

/** The package produced a number JSON cannot carry (NaN, Infinity). */
export class NonFiniteNumberError extends PackageDefinitionError {
  readonly path: string;
  readonly object: string;
  constructor(object: string, path: string, value: number) {
    super(`${object}: ${path} is ${String(value)}, which is not a JSON number`);
    this.object = object;
    this.path = path;
  }
}

/** Runs `def.build` with `values` (frozen) and returns its objects and phases. */
export function synthesize(def: PackageDefinition, values: Record<string, unknown>): Synthesis {
  const app = new PackageApp();
  def.build(app, deepFreeze(structuredClone(values)) as never);
  const phaseCharts = app.node.findAll().filter((c): c is Chart => Chart.isChart(c) && enclosingChart(c) === undefined);
  if (phaseCharts.length === 0) {
    throw new PackageDefinitionError(`package ${def.name}: build added no charts (add phases with app.phase('name'))`);
  }
  const seen = new Set<string>();
  for (const chart of phaseCharts) {
    const name = chart.node.id;
    if (!isPhaseName(name)) throw new PackageDefinitionError(`phase "${name}" (chart ${chart.node.path}) must be a DNS-1123 label`);
    if (seen.has(name)) throw new PackageDefinitionError(`two top-level charts are named "${name}"; phase names must be unique`);
    seen.add(name);
    for (const obj of chart.node.findAll()) if (obj instanceof ApiObject) obj.metadata.addAnnotation(PHASE_ANNOTATION, name);
  }
  const byPhase = new Map<string, Record<string, unknown>[]>();
  for (const phase of phaseCharts) {
    const objects: Record<string, unknown>[] = [];
    for (const chart of phase.node.findAll().filter((c): c is Chart => Chart.isChart(c))) {
      for (const json of chart.toJson() as unknown[]) objects.push(toPlainJson(json));
    }
    byPhase.set(phase.node.id, objects);
  }
  // Chart dependencies are complete only after synthesis (cdk8s infers some then).
  const order = phaseOrder(phaseCharts);
  return {
    phases: order,
    objects: order.flatMap((phase) => (byPhase.get(phase) ?? []).map((object) => ({ phase, object }))),
  };
}

function enclosingChart(c: IConstruct): Chart | undefined {
  for (let scope = c.node.scope; scope; scope = scope.node.scope) if (Chart.isChart(scope)) return scope;
  return undefined;
}

function phaseOf(c: IConstruct, phases: ReadonlySet<Chart>): Chart | undefined {
  for (let node: IConstruct | undefined = c; node; node = node.node.scope) {
    if (Chart.isChart(node) && phases.has(node)) return node;
  }
  return undefined;
}

/** Topological order of the phase charts; ties keep the order they were created in. */
function phaseOrder(phaseCharts: readonly Chart[]): string[] {
  const set = new Set(phaseCharts);
  const after = new Map<Chart, Set<Chart>>(phaseCharts.map((p) => [p, new Set()]));
  for (const phase of phaseCharts) {
    for (const c of phase.node.findAll()) {
      for (const dep of c.node.dependencies) {
        const target = phaseOf(dep, set);
        if (target && target !== phase) after.get(phase)!.add(target);
      }
    }
  }
  const done: Chart[] = [];
  const pending = [...phaseCharts];
  while (pending.length > 0) {
    const next = pending.findIndex((p) => [...after.get(p)!].every((d) => done.includes(d)));
    if (next < 0) {
      throw new PackageDefinitionError(`the phases ${pending.map((p) => p.node.id).join(', ')} depend on each other in a cycle`);
    }
    done.push(...pending.splice(next, 1));
  }
  return done.map((p) => p.node.id);
}

/** A deep copy as plain JSON data, refusing NaN and Infinity (JSON would turn them into null). */
function toPlainJson(json: unknown): Record<string, unknown> {
  const obj = json as Record<string, unknown>;
  const label = (): string => {
    const meta = obj.metadata as { name?: unknown } | undefined;
    return `${String(obj.kind)} ${String(meta?.name)}`;
  };
  const check = (v: unknown, path: string): void => {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new NonFiniteNumberError(label(), path || '/', v);
    if (Array.isArray(v)) v.forEach((x, i) => check(x, `${path}/${i}`));
    else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) check(x, `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
    }
  };
  check(json, '');
  return JSON.parse(JSON.stringify(json)) as Record<string, unknown>;
}
