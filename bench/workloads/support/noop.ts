/**
 * A no-op reconcile of a Ready Package, measured at the apiserver: the
 * Package gets a reconcile request (the `reconcile.trellis.dev/requestedAt`
 * annotation) while nothing changed, and the window from that request until
 * the controller reports it handled (plus a short tail for stragglers) is
 * counted in `apiserver_request_total`.
 *
 * The request is a write to the Package, and the controller acknowledges it
 * by writing `status.lastHandledReconcileAt` — a write the trigger causes, not
 * one the reconcile chose. It is counted apart: one status write is taken as
 * the acknowledgement when the Package's status afterwards differs from before
 * in that field alone; any other status change, and every other write, counts
 * as a write of the reconcile. The benchmark's own annotation PATCH is
 * subtracted.
 */
import { isDeepStrictEqual } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageResource, type Package } from '../../../apply-controller/api.ts';
import { REQUESTED_AT_ANNOTATION } from '../../../runtime/predicates.ts';
import { apiRequestsByVerb, describeVerbs, readControllerMetrics, verbDelta } from '../../framework/controller-metrics.ts';
import { describeRequests, isWrite, subtractRequests, totalRequests, type RequestCount } from '../../framework/prometheus.ts';
import { runAlternately, type Contender } from '../../framework/rounds.ts';
import { MissedError, type BenchContext, type Measurement } from '../../framework/workload.ts';
import { ApiRequests } from './api-requests.ts';
import { applyTimeLimitMs, BENCH_MANAGER, waitForPackageOrMiss } from './packages.ts';

/** Requests that arrive after the status write (Events, informer echoes) still belong to the reconcile. */
const TRAILING_MS = 1_500;
/** A round starts once this long passed without a request a reconcile could make. */
const QUIET_WINDOW_MS = 3_000;
/** A Package that is never quiet this long is busy on its own: a result, not a measurement. */
const QUIET_LIMIT_MS = 120_000;

/** The Package's API group, as `apiserver_request_total` labels it. */
const PACKAGE_GROUP = packageResource.apiVersion.split('/')[0]!;

/** The metric names of one no-op case. */
export interface NoopMetrics {
  /** Requests of the reconcile, the acknowledgement apart. */
  readonly requests: string;
  /** Writes of the reconcile, the acknowledgement apart. */
  readonly writes: string;
  /** The status write acknowledging the request (0 or 1). */
  readonly acknowledgement: string;
  readonly wall: string;
}

/** Metric names with `label` (`no-op, 1,000 objects`) in front. */
export function noopMetrics(label: string): NoopMetrics {
  return {
    requests: `${label}: API requests (apiserver count, acknowledgement apart)`,
    writes: `${label}: API writes (acknowledgement apart)`,
    acknowledgement: `${label}: acknowledgement (status write of lastHandledReconcileAt)`,
    wall: `${label}: wall time (request → handled)`,
  };
}

/** The Package whose no-op is measured. */
export interface NoopTarget {
  readonly namespace: string;
  readonly name: string;
  /** Objects it holds (for the time limit). */
  readonly objects: number;
}

/** What {@link measureNoop} returns. */
export interface NoopRounds {
  readonly metrics: NoopMetrics;
  readonly measurements: Measurement[];
  /** The writes of each round, described (for a goal's detail). */
  readonly writesByRound: readonly string[];
  readonly notes: string[];
}

/** The top-level status fields that differ between `before` and `after`, `lastHandledReconcileAt` left out. */
export function statusChanges(before: Package['status'], after: Package['status']): string[] {
  const { lastHandledReconcileAt: _a, ...b } = before ?? {};
  const { lastHandledReconcileAt: _b, ...a } = after ?? {};
  const keys = new Set([...Object.keys(b), ...Object.keys(a)]);
  return [...keys].filter((k) => !isDeepStrictEqual((b as Record<string, unknown>)[k], (a as Record<string, unknown>)[k]));
}

/**
 * The acknowledgement among `rows`: one status write of the Package, taken
 * only when nothing but `lastHandledReconcileAt` changed in the status
 * (`changed` empty); otherwise none, and every write counts.
 */
export function acknowledgement(rows: readonly RequestCount[], changed: readonly string[]): RequestCount | undefined {
  if (changed.length > 0) return undefined;
  const write = rows.find((r) => isWrite(r) && r.group === PACKAGE_GROUP && r.resource === 'packages/status');
  return write ? { ...write, count: 1 } : undefined;
}

/** Runs `rounds` no-op reconciles of `target`, one after another, each once the cluster is quiet. */
export async function measureNoop(ctx: BenchContext, target: NoopTarget, opts: { rounds: number; label: string; contender: string }): Promise<NoopRounds> {
  const cluster = await ctx.env.cluster();
  const controllers = await ctx.env.controllers();
  const client = cluster.client;
  const counter = new ApiRequests(cluster);
  const metrics = noopMetrics(opts.label);
  const ref = { apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace: target.namespace, name: target.name };
  const details: string[] = [];
  const settle: string[] = [];
  const writesByRound: string[] = [];

  const contender: Contender = {
    name: opts.contender, role: 'trellis',
    metrics: { [metrics.requests]: 'requests', [metrics.writes]: 'requests', [metrics.acknowledgement]: 'requests', [metrics.wall]: 'ms' },
    async run(round) {
      const busy = await counter.waitForQuiet({ windowMs: QUIET_WINDOW_MS, limitMs: QUIET_LIMIT_MS, onLimit: 'throw', log: ctx.log })
        .catch((err: unknown) => { throw new MissedError(`the Package never went quiet: ${err instanceof Error ? err.message : String(err)}`); });
      if (busy.length > 0) settle.push(`before round ${round + 1}: ${busy.join(' / ')}`);
      const statusBefore = (await client.get<Package>(ref))?.status;
      const before = await counter.scrape();
      const ownBefore = apiRequestsByVerb(await readControllerMetrics(controllers.apply.metricsUrl));
      const value = `bench-${Date.now()}-${round}`;
      const t0 = performance.now();
      const patched = await client.patch(ref, { metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: value } } }, { fieldManager: BENCH_MANAGER });
      const seen = await waitForPackageOrMiss(client, target.namespace, target.name, patched.metadata?.resourceVersion ?? '0', {
        timeoutMs: applyTimeLimitMs(target.objects), done: (pkg) => pkg.status?.lastHandledReconcileAt === value,
      });
      const wall = seen.at - t0;
      await sleep(TRAILING_MS);
      const window = await counter.since(before);
      const ownAfter = apiRequestsByVerb(await readControllerMetrics(controllers.apply.metricsUrl));
      const changed = statusChanges(statusBefore, (await client.get<Package>(ref))?.status);
      // The benchmark's own: the annotation PATCH (its watch is not counted).
      const own: RequestCount = { verb: 'PATCH', group: PACKAGE_GROUP, resource: 'packages', dryRun: false, count: 1 };
      const withAck = subtractRequests(window.reconcile, [own]);
      const ack = acknowledgement(withAck, changed);
      const reconcile = subtractRequests(withAck, ack ? [ack] : []);
      const writes = reconcile.filter(isWrite);
      writesByRound.push(describeRequests(writes));
      details.push(`round ${round + 1}: ${describeRequests(reconcile)}`
        + `${ack ? `; acknowledgement: 1 ${ack.verb} packages/status` : `; no acknowledgement taken apart${changed.length > 0 ? ` (status also changed: ${changed.join(', ')})` : ''}`}`
        + `; not counted (other components, the benchmark's /metrics reads): ${describeRequests(window.other)}`
        + `; the apply-controller's own count: ${describeVerbs(verbDelta(ownBefore, ownAfter))}`);
      return { [metrics.requests]: totalRequests(reconcile), [metrics.writes]: totalRequests(writes), [metrics.acknowledgement]: ack ? 1 : 0, [metrics.wall]: wall };
    },
  };
  const measurements = await runAlternately([contender], { rounds: opts.rounds, log: ctx.log });
  return {
    metrics, measurements, writesByRound,
    notes: [
      `${opts.label}: requests in each window as the apiserver counted them (resources a Package reconcile can touch, WATCHes left out, `
        + `the benchmark's annotation PATCH subtracted): ${details.join('; ')}.`,
      ...(settle.length > 0 ? [`${opts.label}: busy windows before a round (not counted): ${settle.join('; ')}.`] : []),
    ],
  };
}
