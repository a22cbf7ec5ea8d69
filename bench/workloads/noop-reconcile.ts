/**
 * Workload 2, no-op reconcile: the Ready Package of 1,000 ConfigMaps gets a
 * reconcile request (the `reconcile.trellis.dev/requestedAt` annotation) while
 * nothing changed. Counted at the apiserver (`apiserver_request_total`): the
 * requests in the window on resources a Package reconcile can touch, minus the
 * benchmark's own (the annotation patch, the watch); kube-controller-manager,
 * the scheduler and the simulated node work on other resources. A round starts
 * only once the Package has been quiet for a few seconds. The apply-controller's
 * own request counter is reported next to it. Wall time: request → handled.
 */
import { REQUESTED_AT_ANNOTATION } from '../../runtime/predicates.ts';
import { packageResource } from '../../apply-controller/api.ts';
import { apiRequestsByVerb, describeVerbs, readControllerMetrics, verbDelta } from '../framework/controller-metrics.ts';
import {
  describeRequests, isWrite, parsePrometheusText, requestCounts, requestDelta, subtractRequests, type RequestCount,
} from '../framework/prometheus.ts';
import { runAlternately, type Contender } from '../framework/rounds.ts';
import { formatDuration, median } from '../framework/stats.ts';
import { atMost, type BenchContext, type Workload, type WorkloadOutcome } from '../framework/workload.ts';
import { steadyPackage } from './support/configmap-package.ts';
import { BENCH_MANAGER, waitForPackage } from './support/packages.ts';

const REQUESTS = 'API requests per object';
const WRITES = 'API writes';
const WALL = 'wall time (request → handled)';
/** Requests that arrive after the status patch (events, informer echoes) still belong to the reconcile. */
const TRAILING_MS = 1_500;
/** Length of one quiet-check window. */
const QUIET_WINDOW_MS = 3_000;
/** How long to wait for the Package to stop working on its own before a round. */
const QUIET_LIMIT_MS = 120_000;

/**
 * Resources a reconcile of this Package can touch: its objects' kind, the
 * Trellis kinds, Events. Everything else (leases, endpoints, nodes, pods,
 * service accounts and their token secrets...) is kube-controller-manager, the
 * scheduler and the simulated node.
 */
const ATTRIBUTABLE = new Set([
  'configmaps', 'packages', 'packages/status', 'packagerevisions', 'packagerevisions/status',
  'gitrepositories', 'gitrepositories/status', 'ocirepositories', 'ocirepositories/status', 'events',
]);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The requests a Package reconcile could have made. WATCH is left out: the
 * apiserver counts a watch when it ends, and watches of every component end
 * on their own timers.
 */
const attributable = (rows: readonly RequestCount[]): RequestCount[] =>
  rows.filter((r) => ATTRIBUTABLE.has(r.resource) && r.verb !== 'WATCH');
const sum = (rows: readonly RequestCount[]): number => rows.reduce((n, r) => n + r.count, 0);

async function run(ctx: BenchContext): Promise<WorkloadOutcome> {
  const count = ctx.options.objects;
  const steady = await steadyPackage(ctx.env, count, ctx.log);
  await ctx.env.awaitBackground(ctx.log);
  const cluster = await ctx.env.cluster();
  const controllers = await ctx.env.controllers();
  const client = cluster.client;
  const scrape = async (): Promise<RequestCount[]> => requestCounts(parsePrometheusText(await cluster.metrics()));
  const details: string[] = [];
  const settle: string[] = [];
  const writesByRound: string[] = [];
  const ref = { apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace: steady.namespace, name: steady.name };

  /** Waits until a whole window passes without a request a Package reconcile could make; returns what the busy windows saw. */
  const waitForQuiet = async (): Promise<string[]> => {
    const t0 = performance.now();
    const busyWindows: string[] = [];
    for (;;) {
      const a = await scrape();
      await sleep(QUIET_WINDOW_MS);
      const busy = attributable(requestDelta(a, await scrape()));
      if (busy.length === 0) return busyWindows;
      busyWindows.push(describeRequests(busy));
      ctx.log(`not quiet yet: ${describeRequests(busy)}`);
      if (performance.now() - t0 > QUIET_LIMIT_MS) throw new Error(`the Package never went quiet within ${QUIET_LIMIT_MS / 1000} s (last window: ${describeRequests(busy)})`);
    }
  };

  const contender: Contender = {
    name: `Trellis (Package of ${count.toLocaleString('en')} ConfigMaps, nothing changed)`, role: 'trellis',
    metrics: { [REQUESTS]: 'requests/object', [WRITES]: 'requests', [WALL]: 'ms' },
    async run(round) {
      const busyWindows = await waitForQuiet();
      if (busyWindows.length > 0) settle.push(`before round ${round + 1}: ${busyWindows.join(' / ')}`);
      const before = await scrape();
      const ownBefore = apiRequestsByVerb(await readControllerMetrics(controllers.apply.metricsUrl));
      const w0 = performance.now();
      const value = `bench-${Date.now()}-${round}`;
      const patched = await client.patch(ref, { metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: value } } }, { fieldManager: BENCH_MANAGER });
      const seen = await waitForPackage(client, steady.namespace, steady.name, patched.metadata?.resourceVersion ?? '0', {
        timeoutMs: 120_000, done: (pkg) => pkg.status?.lastHandledReconcileAt === value,
      });
      const wall = seen.at - w0;
      await sleep(TRAILING_MS);
      const window = attributable(requestDelta(before, await scrape()));
      const ownAfter = apiRequestsByVerb(await readControllerMetrics(controllers.apply.metricsUrl));
      // The benchmark's own: the annotation patch (its watch is not counted, see attributable).
      const reconcile = subtractRequests(window, [{ verb: 'PATCH', resource: 'packages', dryRun: false, count: 1 }]);
      const writes = sum(reconcile.filter(isWrite));
      writesByRound.push(describeRequests(reconcile.filter(isWrite)));
      details.push(`round ${round + 1}: ${describeRequests(reconcile)}; the apply-controller's own count: ${describeVerbs(verbDelta(ownBefore, ownAfter))}`);
      return { [REQUESTS]: sum(reconcile) / count, [WRITES]: writes, [WALL]: wall };
    },
  };
  const measurements = await runAlternately([contender], { rounds: ctx.rounds, log: ctx.log });
  const med = (metric: string): number | undefined => {
    const m = measurements.find((x) => x.metric === metric);
    return m && m.samples.length > 0 ? median(m.samples) : undefined;
  };
  const writeSamples = measurements.find((m) => m.metric === WRITES)?.samples ?? [];
  const writesMax = Math.max(...writeSamples, Number.NEGATIVE_INFINITY);
  const worst = writesByRound[writeSamples.indexOf(writesMax)] ?? '';
  return {
    measurements,
    goals: [
      atMost(WRITES, 'zero writes', Number.isFinite(writesMax) ? writesMax : undefined, 0, (v) => `${v} in the worst round${v > 0 ? `: ${worst}` : ''}`),
      atMost(REQUESTS, '≤ 0.05 requests per object', med(REQUESTS), 0.05, (v) => `${v.toFixed(3)} req/object`),
      atMost(WALL, 'under 1 s', med(WALL), 1_000, formatDuration),
    ],
    notes: [
      `Requests in each window, as the apiserver counted them (resources a Package reconcile can touch; WATCHes left out, the benchmark's own annotation PATCH subtracted): ${details.join('; ')}.`,
      `Each round starts once a ${QUIET_WINDOW_MS / 1000} s window passes without such requests.${settle.length > 0 ? ` Busy windows seen first (not counted): ${settle.join('; ')}.` : ''}`,
    ],
  };
}

/** Workload 2. */
export const workload: Workload = {
  name: 'noop-reconcile',
  number: 2,
  title: 'No-op reconcile',
  description: 'A reconcile requested on the Ready Package of 1,000 ConfigMaps with nothing changed: API requests per object (apiserver_request_total), writes, and wall time.',
  goal: 'zero writes, ≤ 0.05 requests per object, under 1 s',
  defaultRounds: 3,
  run,
};
