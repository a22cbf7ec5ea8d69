/**
 * Workload 3, drift correction: objects of a Ready Package changed out of
 * band (a merge patch by another field manager, on a field Trellis applied),
 * and per object the time from its change (the PATCH answered) until a watch
 * shows it back to what the Package says. Two cases by default: one object of
 * the 5,000-object Package, and 20 objects at once of the 1,000-object one
 * (the largest and the smallest of `--objects`). Each round starts once the
 * cluster is quiet, so a correction is timed from a steady Package.
 */
import { mapBounded } from '../../runtime/concurrency.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { combineCases, describeCaseRounds, runCase, type CaseOutcome } from '../framework/cases.ts';
import { runAlternately, type Contender } from '../framework/rounds.ts';
import { formatDuration, percentile } from '../framework/stats.ts';
import { below, type BenchContext, type GoalCheck, type Workload, type WorkloadOutcome } from '../framework/workload.ts';
import { ApiRequests } from './support/api-requests.ts';
import { steadyPackage, type SteadyPackage } from './support/configmap-package.ts';
import { watchUntil, WaitTimeoutError } from './support/kube.ts';
import { CONFIG_KEY } from './support/packages.ts';

/** How long one round waits for its objects to be corrected. */
const WAIT_MS = 60_000;
const GOAL = 'p95 < 1 s';

type ConfigMap = KubeObject & { data?: Record<string, string> };

/** One drift case: `changed` objects of the Package of `size` at once, `rounds` times. */
export interface DriftCase {
  readonly changed: number;
  readonly size: number;
  readonly rounds: number;
}

/**
 * The cases for the sizes of a run: 20 objects at once in the smallest
 * Package (3 rounds: 60 samples), one object in the largest (20 rounds, one
 * sample each). `rounds` from the command line replaces both.
 */
export function driftCases(sizes: readonly number[], rounds?: number): DriftCase[] {
  const smallest = Math.min(...sizes);
  const largest = Math.max(...sizes);
  return [
    { changed: Math.min(20, smallest), size: smallest, rounds: rounds ?? 3 },
    { changed: 1, size: largest, rounds: rounds ?? 20 },
  ];
}

const metricOf = (c: DriftCase): string => (c.changed === 1
  ? `drift corrected, 1 object of ${c.size.toLocaleString('en')} changed`
  : `drift corrected, ${c.changed} of ${c.size.toLocaleString('en')} objects changed at once`);

/** Changes the picked objects at once and resolves with each one's latency; `missing` counts those not back within {@link WAIT_MS}. */
async function driftRound(ctx: BenchContext, steady: SteadyPackage, picked: readonly KubeObject[], round: number): Promise<{ latencies: number[]; missing: number }> {
  const { client } = await ctx.env.cluster();
  const type = { apiVersion: 'v1', kind: 'ConfigMap', namespace: steady.namespace };
  const wanted = new Map(picked.map((o) => [o.metadata!.name!, (o as ConfigMap).data?.[CONFIG_KEY] ?? '']));
  // A watch from "now" (the resourceVersion of an empty list) sees every change made after it.
  const { resourceVersion } = await client.list(type, { labelSelector: 'bench.trellis.dev/none=1' });
  const changedAt = new Map<string, number>();
  const restoredAt = new Map<string, number>();
  const drifted = new Set<string>();
  const watching = watchUntil<ConfigMap>(client, type, {
    resourceVersion, labelSelector: 'bench.trellis.dev/set=cm', timeoutMs: WAIT_MS, what: `${wanted.size} drifted ConfigMaps to be corrected`,
  }, (obj, event) => {
    const name = obj.metadata?.name ?? '';
    const want = wanted.get(name);
    if (want === undefined || restoredAt.has(name)) return false;
    // Restored means: seen drifted (or deleted), then seen as the Package says again.
    if (event === 'DELETED' || obj.data?.[CONFIG_KEY] !== want) drifted.add(name);
    else if (drifted.has(name)) restoredAt.set(name, performance.now());
    return restoredAt.size === wanted.size;
  });
  await mapBounded(picked, picked.length, async (o) => {
    const name = o.metadata!.name!;
    await client.patch({ ...type, name }, { data: { [CONFIG_KEY]: `drifted in round ${round + 1}\n` } }, { fieldManager: 'bench-drift' });
    changedAt.set(name, performance.now());
  });
  try {
    await watching;
  } catch (err) {
    if (!(err instanceof WaitTimeoutError)) throw err;
  }
  return { latencies: [...restoredAt].map(([name, at]) => at - changedAt.get(name)!), missing: wanted.size - restoredAt.size };
}

async function measureCase(ctx: BenchContext, c: DriftCase): Promise<CaseOutcome> {
  const steady = await steadyPackage(ctx.env, c.size, ctx.log);
  const counter = new ApiRequests(await ctx.env.cluster());
  const metric = metricOf(c);
  const latencies: number[] = [];
  const busy: string[] = [];
  let missing = 0;
  let roundsRun = 0;
  const contender: Contender = {
    name: 'Trellis (drift.mode: correct)', role: 'trellis', metrics: {},
    async run(round): Promise<Record<string, number>> {
      // After a round with uncorrected objects the case has its answer; more rounds would only wait out the limit again.
      if (missing > 0) return {};
      const seen = await counter.waitForQuiet({ windowMs: 2_000, limitMs: 30_000, onLimit: 'continue', log: ctx.log });
      if (seen.length > 0) busy.push(`round ${round + 1}: ${seen.join(' / ')}`);
      const start = (round * c.changed) % c.size;
      const picked = steady.source.objects.slice(start, start + c.changed);
      const r = await driftRound(ctx, steady, picked, round);
      latencies.push(...r.latencies);
      missing += r.missing;
      roundsRun += 1;
      return { restored: r.latencies.length };
    },
  };
  await runAlternately([contender], { rounds: c.rounds, log: ctx.log });
  const expected = roundsRun * c.changed;
  const goal: GoalCheck = missing > 0
    ? { metric, goal: GOAL, met: false, detail: `${missing} of ${expected} changes not corrected within ${WAIT_MS / 1000} s${roundsRun < c.rounds ? `; the other ${c.rounds - roundsRun} rounds not run` : ''}` }
    : below(metric, GOAL, latencies.length > 0 ? percentile(latencies, 95) : undefined, 1_000, (v) => `p95 ${formatDuration(v)}`);
  const label = c.changed === 1 ? `1 of ${c.size.toLocaleString('en')}` : `${c.changed} of ${c.size.toLocaleString('en')}`;
  return {
    measurements: [{ metric, contender: contender.name, role: 'trellis', unit: 'ms', samples: latencies }],
    goals: [goal],
    notes: [
      ...(latencies.length > 0 ? [`${label}: ${latencies.length} sample${latencies.length === 1 ? '' : 's'}, p50 ${formatDuration(percentile(latencies, 50))}, `
        + `p95 ${formatDuration(percentile(latencies, 95))}, max ${formatDuration(Math.max(...latencies))}.`] : []),
      ...(busy.length > 0 ? [`${label}: busy before a round (the round waited, up to 30 s): ${busy.join('; ')}.`] : []),
    ],
  };
}

async function run(ctx: BenchContext): Promise<WorkloadOutcome> {
  await ctx.env.awaitBackground(ctx.log);
  const cases = driftCases(ctx.options.objects, ctx.options.rounds);
  const outcomes: CaseOutcome[] = [];
  for (const c of cases) outcomes.push(await runCase(metricOf(c), [{ metric: metricOf(c), goal: GOAL }], () => measureCase(ctx, c), ctx.log));
  return combineCases(outcomes, {
    rounds: describeCaseRounds(cases.map((c) => ({ label: `with ${c.changed} of ${c.size.toLocaleString('en')} changed`, rounds: c.rounds }))),
    notes: ['One sample per changed object: from the out-of-band PATCH being answered to the watch event showing the object restored. '
      + 'Each round starts once a 2 s window passes without requests a reconcile could make.'],
  });
}

/** Workload 3. */
export const workload: Workload = {
  name: 'drift',
  number: 3,
  title: 'Drift correction',
  description: 'Managed ConfigMaps changed out of band: one object of the 5,000-object Package, and 20 at once of the 1,000-object one; time until each is back (p95).',
  goal: GOAL,
  defaultRounds: 3,
  run,
};
