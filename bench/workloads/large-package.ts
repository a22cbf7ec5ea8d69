/**
 * Workload 8, large package: one Package of 10,000 ConfigMaps (the same
 * configuration-like text as the cold apply) installed (created → Ready,
 * every object there), reconciled with nothing changed, and uninstalled
 * (deleted → the Package and every object gone): the time of each phase and
 * the apply-controller's peak RSS in each. The controllers are started fresh
 * first, so their peak is this workload's and no other Package is around.
 */
import type { KubeObject } from '../../runtime/object.ts';
import { apiRequestsByVerb, describeVerbs, readControllerMetrics, verbDelta, type VerbCounts } from '../framework/controller-metrics.ts';
import type { ControllerProcess } from '../framework/controllers.ts';
import { errorSummary } from '../framework/cases.ts';
import { MemorySampler } from '../framework/memory.ts';
import { runAlternately, type Contender } from '../framework/rounds.ts';
import { formatDuration, formatMiB } from '../framework/stats.ts';
import { MissedError, type BenchContext, type GoalCheck, type Measurement, type Workload, type WorkloadOutcome } from '../framework/workload.ts';
import { configMapPackageSpec, configMapSource, type ConfigMapSource } from './support/configmap-package.ts';
import { deleteNamespace, ensureNamespace, watchUntil, WaitTimeoutError } from './support/kube.ts';
import { measureNoop } from './support/noop.ts';
import { applyTimeLimitMs, BENCH_MANAGER, PACKAGE_TYPE, packageObject, waitForPackageOrMiss } from './support/packages.ts';

const NAME = 'configmaps';
const GOAL_INSTALL = 'installs (Ready, every object there)';
const GOAL_UNINSTALL = 'uninstalls (the Package and every object gone)';
const CONFIGMAPS = { apiVersion: 'v1', kind: 'ConfigMap' } as const;

/** The metric names of one size. */
function metricsOf(count: number): { install: string; uninstall: string; rssInstall: string; rssNoop: string; rssUninstall: string; hwm: string; label: string } {
  const label = `${count.toLocaleString('en')} ConfigMaps`;
  return {
    label,
    install: `${label}: install (created → Ready)`,
    uninstall: `${label}: uninstall (deleted → all gone)`,
    rssInstall: `${label}: apply-controller peak RSS, install`,
    rssNoop: `${label}: apply-controller peak RSS, no-op`,
    rssUninstall: `${label}: apply-controller peak RSS, uninstall`,
    hwm: `${label}: apply-controller VmHWM, whole workload`,
  };
}

/** Runs `work` while sampling `proc`'s resident size; resolves with its result and the largest VmRSS seen meanwhile. */
async function sampled<T>(proc: ControllerProcess, work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  const sampler = new MemorySampler([proc.pid], 100);
  let seen: number | undefined;
  try {
    const result = await work();
    seen = sampler.stop().get(proc.pid)?.maxRss;
    return { result, peak: seen ?? 0 };
  } finally {
    if (seen === undefined) sampler.stop();
  }
}

/** The apply-controller's own request count now. */
const ownRequests = async (proc: ControllerProcess): Promise<VerbCounts> => apiRequestsByVerb(await readControllerMetrics(proc.metricsUrl));

/** Creates the Package and resolves with the time until it is Ready with every object there. */
async function install(ctx: BenchContext, ns: string, source: ConfigMapSource): Promise<number> {
  const { client } = await ctx.env.cluster();
  const t0 = performance.now();
  const created = await client.create(packageObject(ns, NAME, configMapPackageSpec(source)), { fieldManager: BENCH_MANAGER });
  const seen = await waitForPackageOrMiss(client, ns, NAME, created.metadata?.resourceVersion ?? '0', { timeoutMs: applyTimeLimitMs(source.count) });
  const ms = seen.at - t0;
  const { items } = await client.list({ ...CONFIGMAPS, namespace: ns }, { labelSelector: 'bench.trellis.dev/set=cm' });
  if (items.length !== source.count) throw new MissedError(`Ready with ${items.length} of ${source.count} ConfigMaps there`);
  return ms;
}

/** Deletes the Package and resolves with the time until it and every object are gone (seen by watches). */
async function uninstall(ctx: BenchContext, ns: string, count: number): Promise<number> {
  const { client } = await ctx.env.cluster();
  const limit = applyTimeLimitMs(count);
  // Watches from "now" (the resourceVersion of an empty list) see every deletion after it.
  const from = async (type: { apiVersion: string; kind: string }): Promise<string> =>
    (await client.list({ ...type, namespace: ns }, { labelSelector: 'bench.trellis.dev/none=1' })).resourceVersion;
  const [cmVersion, pkgVersion] = await Promise.all([from(CONFIGMAPS), from(PACKAGE_TYPE)]);
  const gone = new Set<string>();
  let objectsGoneAt = 0;
  let packageGoneAt = 0;
  const objects = watchUntil<KubeObject>(client, { ...CONFIGMAPS, namespace: ns }, {
    resourceVersion: cmVersion, labelSelector: 'bench.trellis.dev/set=cm', timeoutMs: limit, what: `${count} ConfigMaps to be deleted`,
  }, (obj, event) => {
    if (event === 'DELETED') gone.add(obj.metadata?.name ?? '');
    if (gone.size === count && objectsGoneAt === 0) objectsGoneAt = performance.now();
    return gone.size === count;
  });
  const pkg = watchUntil<KubeObject>(client, { ...PACKAGE_TYPE, namespace: ns }, {
    resourceVersion: pkgVersion, fieldSelector: `metadata.name=${NAME}`, timeoutMs: limit, what: 'the Package to be gone',
  }, (_obj, event) => {
    if (event === 'DELETED') packageGoneAt = performance.now();
    return event === 'DELETED';
  });
  const t0 = performance.now();
  await client.delete({ ...PACKAGE_TYPE, namespace: ns, name: NAME });
  try {
    await Promise.all([objects, pkg]);
  } catch (err) {
    if (!(err instanceof WaitTimeoutError)) throw err;
    throw new MissedError(`not uninstalled within ${Math.round(limit / 1000)} s: ${count - gone.size} of ${count} ConfigMaps still there, `
      + `the Package ${packageGoneAt > 0 ? 'gone' : 'still there'}`);
  }
  return Math.max(objectsGoneAt, packageGoneAt) - t0;
}

/** What the rounds saw, beyond their samples. */
interface LargeRuns {
  installMiss?: string;
  noopMiss?: string;
  uninstallMiss?: string;
  readonly notes: string[];
  /** The no-op's samples, per metric, over all rounds. */
  readonly noop: Map<string, Measurement>;
}

/** The no-op phase; a miss (never quiet, not handled in time) is noted and the uninstall still runs. */
async function noopPhase(ctx: BenchContext, ns: string, count: number, runs: LargeRuns): Promise<void> {
  const label = `${metricsOf(count).label}: no-op`;
  try {
    const r = await measureNoop(ctx, { namespace: ns, name: NAME, objects: count }, { rounds: 1, label, contender: 'Trellis (nothing changed)' });
    for (const m of r.measurements) {
      const prev = runs.noop.get(m.metric);
      runs.noop.set(m.metric, { ...m, samples: [...(prev?.samples ?? []), ...m.samples] });
    }
    runs.notes.push(...r.notes);
  } catch (err) {
    if (!(err instanceof MissedError)) throw err;
    runs.noopMiss ??= err.message;
  }
}

/** One round: fresh controllers, install, no-op, uninstall; a miss of the install or uninstall ends the round and is recorded. */
async function largeRound(ctx: BenchContext, count: number, round: number, runs: LargeRuns): Promise<Record<string, number>> {
  const m = metricsOf(count);
  // A refusal or timeout would only repeat (a timeout costs the whole limit again).
  if (runs.installMiss !== undefined) return {};
  const controllers = await ctx.env.controllers({ fresh: true });
  const apply = controllers.apply;
  const source = await configMapSource(ctx.env, count, ctx.log);
  const { client } = await ctx.env.cluster();
  const ns = `bench-large-${round + 1}`;
  await ensureNamespace(client, ns);
  const values: Record<string, number> = {};
  let phase: 'install' | 'uninstall' = 'install';
  try {
    const r0 = await ownRequests(apply);
    const installed = await sampled(apply, () => install(ctx, ns, source));
    const r1 = await ownRequests(apply);
    Object.assign(values, { [m.install]: installed.result, [m.rssInstall]: installed.peak });
    values[m.rssNoop] = (await sampled(apply, () => noopPhase(ctx, ns, count, runs))).peak;
    phase = 'uninstall';
    const r2 = await ownRequests(apply);
    const removed = await sampled(apply, () => uninstall(ctx, ns, count));
    Object.assign(values, { [m.uninstall]: removed.result, [m.rssUninstall]: removed.peak });
    runs.notes.push(`Round ${round + 1}: the apply-controller's own count: install ${describeVerbs(verbDelta(r0, r1))}; `
      + `uninstall ${describeVerbs(verbDelta(r2, await ownRequests(apply)))}.`);
  } catch (err) {
    if (!(err instanceof MissedError)) throw err;
    if (phase === 'install') runs.installMiss ??= err.message;
    else runs.uninstallMiss ??= err.message;
  } finally {
    values[m.hwm] = apply.memory()?.hwm ?? 0;
    runs.notes.push(`Round ${round + 1}: peak RSS (VmHWM) since the fresh start: apply-controller ${formatMiB(values[m.hwm] ?? 0)}, `
      + `source-controller ${formatMiB(controllers.source.memory()?.hwm ?? 0)} (it fetched and packed the ${m.label}).`);
    await deleteNamespace(client, ns, { timeoutMs: 900_000, releaseFinalizers: [PACKAGE_TYPE] })
      .catch((err: unknown) => ctx.log(`cleanup of ${ns} failed: ${errorSummary(err)}`));
  }
  return values;
}

/** A phase's goal: missed with the reason, else met with the times (undecided when nothing was measured). */
function phaseGoal(metric: string, goal: string, measurements: readonly Measurement[], miss: string | undefined): GoalCheck {
  if (miss !== undefined) return { metric, goal, met: false, detail: miss };
  const samples = measurements.find((x) => x.metric === metric)?.samples ?? [];
  return { metric, goal, met: samples.length > 0 ? true : undefined, detail: samples.length > 0 ? samples.map(formatDuration).join(', ') : 'not measured' };
}

async function run(ctx: BenchContext): Promise<WorkloadOutcome> {
  const count = ctx.options.largeObjects;
  const m = metricsOf(count);
  const runs: LargeRuns = { notes: [], noop: new Map() };
  const contender: Contender = {
    name: 'Trellis (controllers started fresh)', role: 'trellis',
    metrics: { [m.install]: 'ms', [m.uninstall]: 'ms', [m.rssInstall]: 'bytes', [m.rssNoop]: 'bytes', [m.rssUninstall]: 'bytes', [m.hwm]: 'bytes' },
    run: (round) => largeRound(ctx, count, round, runs),
  };
  const measurements = [...await runAlternately([contender], { rounds: ctx.rounds, log: ctx.log }), ...runs.noop.values()];
  return {
    measurements,
    goals: [
      phaseGoal(m.install, GOAL_INSTALL, measurements, runs.installMiss),
      phaseGoal(m.uninstall, GOAL_UNINSTALL, measurements, runs.installMiss !== undefined ? 'not tried: the install missed' : runs.uninstallMiss),
    ],
    notes: [
      ...(runs.noopMiss !== undefined ? [`No-op: missed: ${runs.noopMiss}`] : []),
      `Install: Package created → Ready, then every ConfigMap checked to be there. No-op: one reconcile request, counted as in workload 2. `
        + `Uninstall: Package deleted → the watches saw it and every ConfigMap deleted. Peak RSS per phase is the largest VmRSS sampled every 100 ms; `
        + `VmHWM is the kernel's peak since the fresh start. Each phase gets ${Math.round(applyTimeLimitMs(count) / 1000)} s before it counts as missed.`,
      ...runs.notes,
    ],
  };
}

/** Workload 8. */
export const workload: Workload = {
  name: 'large-package',
  number: 8,
  title: 'Large package',
  description: 'One Package of 10,000 ConfigMaps: install, no-op reconcile and uninstall, with the time and the apply-controller\'s peak RSS of each.',
  goal: `${GOAL_INSTALL}; ${GOAL_UNINSTALL}; times and peak RSS reported`,
  defaultRounds: 1,
  run,
};
