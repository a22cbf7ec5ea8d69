/**
 * Workload 2, no-op reconcile: the Ready Package of N ConfigMaps (1,000 and
 * 5,000 by default, the ones the cold apply left) gets a reconcile request
 * while nothing changed. Requests are counted at the apiserver
 * (`apiserver_request_total`) over the window from the request until it is
 * handled, with the acknowledgement of the request (the status write of
 * `lastHandledReconcileAt`) counted apart; see support/noop.ts. The
 * apply-controller's own request counter is reported next to it.
 */
import { combineCases, describeCaseRounds, runCase, type CaseOutcome } from '../framework/cases.ts';
import { medianOf } from '../framework/rounds.ts';
import { formatDuration, median } from '../framework/stats.ts';
import { atMost, below, type BenchContext, type GoalCheck, type Workload, type WorkloadOutcome } from '../framework/workload.ts';
import { steadyPackage } from './support/configmap-package.ts';
import { measureNoop, noopMetrics } from './support/noop.ts';

/** Rounds per size when the command line gives none: a no-op is cheap. */
const DEFAULT_ROUNDS = 3;

const label = (count: number): string => `no-op, ${count.toLocaleString('en')} objects`;

/** Issue 12's goals for one size, not yet decided. */
function pendingGoals(count: number): { metric: string; goal: string }[] {
  const m = noopMetrics(label(count));
  return [
    { metric: m.requests, goal: '≤ 10 API requests in total' },
    { metric: m.writes, goal: 'zero writes' },
    { metric: m.wall, goal: 'under 1 s' },
  ];
}

async function measureSize(ctx: BenchContext, count: number, rounds: number): Promise<CaseOutcome> {
  const steady = await steadyPackage(ctx.env, count, ctx.log);
  const contender = `Trellis (Package of ${count.toLocaleString('en')} ConfigMaps, nothing changed)`;
  const result = await measureNoop(ctx, { namespace: steady.namespace, name: steady.name, objects: count }, { rounds, label: label(count), contender });
  const { metrics, measurements } = result;
  const med = (metric: string): number | undefined => medianOf(measurements, contender, metric, median);
  const writeSamples = measurements.find((m) => m.metric === metrics.writes)?.samples ?? [];
  const writesMax = writeSamples.length > 0 ? Math.max(...writeSamples) : undefined;
  const worst = writesMax === undefined ? '' : result.writesByRound[writeSamples.indexOf(writesMax)] ?? '';
  const acks = measurements.find((m) => m.metric === metrics.acknowledgement)?.samples ?? [];
  const ackNote = acks.some((a) => a > 0) ? ` (+ the acknowledgement, counted apart: ${Math.max(...acks)} status write)` : '';
  const goals: GoalCheck[] = [
    atMost(metrics.requests, '≤ 10 API requests in total', med(metrics.requests), 10, (v) => `${v} requests${ackNote}`),
    // Zero writes is a property, not an average: one round with a write misses it.
    atMost(metrics.writes, 'zero writes', writesMax, 0, (v) => `${v} in the worst round${v > 0 ? `: ${worst}` : ''}`),
    below(metrics.wall, 'under 1 s', med(metrics.wall), 1_000, formatDuration),
  ];
  return { measurements, goals, notes: result.notes };
}

async function run(ctx: BenchContext): Promise<WorkloadOutcome> {
  await ctx.env.awaitBackground(ctx.log);
  const rounds = ctx.options.rounds ?? DEFAULT_ROUNDS;
  const cases: CaseOutcome[] = [];
  for (const count of ctx.options.objects) {
    cases.push(await runCase(label(count), pendingGoals(count), () => measureSize(ctx, count, rounds), ctx.log));
  }
  return combineCases(cases, {
    rounds: describeCaseRounds(ctx.options.objects.map((n) => ({ label: `at ${n.toLocaleString('en')} objects`, rounds }))),
    notes: [
      'Trigger: the reconcile.trellis.dev/requestedAt annotation on the Ready Package. The controller acknowledges it by writing '
        + 'status.lastHandledReconcileAt: that one status write is counted apart (its own row), and only when the status changed in that field alone; '
        + 'every other request and write counts. Each round starts once a 3 s window passes without requests a reconcile could make.',
    ],
  });
}

/** Workload 2. */
export const workload: Workload = {
  name: 'noop-reconcile',
  number: 2,
  title: 'No-op reconcile',
  description: 'A reconcile requested on the Ready Package of 1,000 and of 5,000 ConfigMaps with nothing changed: API requests (apiserver_request_total), writes, wall time.',
  goal: '≤ 10 API requests in total, zero writes, under 1 s',
  defaultRounds: DEFAULT_ROUNDS,
  run,
};
