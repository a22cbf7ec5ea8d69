/**
 * Workload 3, drift correction: 20 ConfigMaps of the Ready Package are changed
 * out of band at once (a merge patch by another field manager, on a field
 * Trellis applied); the time from each change (its PATCH answered) until a
 * watch shows the object back to what the Package says. p50 and p95 over every
 * object of every round.
 */
import type { KubeObject } from '../../runtime/object.ts';
import { runAlternately, type Contender } from '../framework/rounds.ts';
import { formatDuration, percentile } from '../framework/stats.ts';
import { type BenchContext, type Workload, type WorkloadOutcome } from '../framework/workload.ts';
import { steadyPackage } from './support/configmap-package.ts';
import { mapLimit, watchUntil, WaitTimeoutError } from './support/kube.ts';
import { CONFIG_KEY } from './support/packages.ts';

const OBJECTS = 20;
const LATENCY = `drift corrected (${OBJECTS} objects changed at once)`;
const WAIT_MS = 60_000;

type ConfigMap = KubeObject & { data?: Record<string, string> };

async function run(ctx: BenchContext): Promise<WorkloadOutcome> {
  const count = ctx.options.objects;
  const steady = await steadyPackage(ctx.env, count, ctx.log);
  const { client } = await ctx.env.cluster();
  const type = { apiVersion: 'v1', kind: 'ConfigMap', namespace: steady.namespace };
  const latencies: number[] = [];
  let uncorrected = 0;

  const contender: Contender = {
    name: 'Trellis (drift.mode: correct)', role: 'trellis', metrics: { [LATENCY]: 'ms' },
    async run(round) {
      const picked = steady.source.objects.slice((round * OBJECTS) % count, (round * OBJECTS) % count + OBJECTS);
      const wanted = new Map(picked.map((o) => [o.metadata!.name!, (o as ConfigMap).data?.[CONFIG_KEY] ?? '']));
      // A watch from "now" (the resourceVersion of an empty list) sees every change made after it.
      const { resourceVersion } = await client.list(type, { labelSelector: 'bench.trellis.dev/none=1' });
      const changedAt = new Map<string, number>();
      const restoredAt = new Map<string, number>();
      const drifted = new Set<string>();
      const watching = watchUntil<ConfigMap>(client, type, {
        resourceVersion, labelSelector: 'bench.trellis.dev/set=cm', timeoutMs: WAIT_MS, what: `${OBJECTS} drifted ConfigMaps to be corrected`,
      }, (obj) => {
        const name = obj.metadata?.name ?? '';
        const want = wanted.get(name);
        if (want === undefined || restoredAt.has(name)) return false;
        // Restored means: seen drifted, then seen as the Package says again.
        if (obj.data?.[CONFIG_KEY] !== want) drifted.add(name);
        else if (drifted.has(name)) restoredAt.set(name, performance.now());
        return restoredAt.size === wanted.size;
      });
      await mapLimit(picked, OBJECTS, async (o) => {
        const name = o.metadata!.name!;
        await client.patch({ ...type, name }, { data: { [CONFIG_KEY]: `drifted in round ${round + 1}\n` } }, { fieldManager: 'bench-drift' });
        changedAt.set(name, performance.now());
      });
      try {
        await watching;
      } catch (err) {
        if (!(err instanceof WaitTimeoutError)) throw err;
      }
      const mine = [...restoredAt].map(([name, at]) => at - changedAt.get(name)!);
      latencies.push(...mine);
      uncorrected += wanted.size - restoredAt.size;
      return { restored: restoredAt.size };
    },
  };
  await runAlternately([contender], { rounds: ctx.rounds, log: ctx.log });
  const total = ctx.rounds * OBJECTS;
  const p95 = latencies.length === total ? percentile(latencies, 95) : undefined;
  return {
    measurements: [{ metric: LATENCY, contender: contender.name, role: 'trellis', unit: 'ms', samples: latencies }],
    goals: [
      uncorrected > 0
        ? { metric: LATENCY, goal: 'p95 < 2 s', met: false, detail: `${uncorrected} of ${total} changes not corrected within ${WAIT_MS / 1000} s` }
        : { metric: LATENCY, goal: 'p95 < 2 s', met: p95 === undefined ? undefined : p95 < 2_000, detail: p95 === undefined ? 'not measured' : `p95 ${formatDuration(p95)}` },
    ],
    notes: [
      `One sample per changed object (${total} in all): from the out-of-band PATCH being answered to the watch event showing the object restored.`,
      ...(latencies.length > 0 ? [`p50 ${formatDuration(percentile(latencies, 50))}, p95 ${formatDuration(percentile(latencies, 95))}, max ${formatDuration(Math.max(...latencies))}.`] : []),
    ],
  };
}

/** Workload 3. */
export const workload: Workload = {
  name: 'drift',
  number: 3,
  title: 'Drift correction',
  description: `${OBJECTS} managed ConfigMaps changed out of band at once: time until each is back (p50, p95).`,
  goal: 'p95 < 2 s',
  defaultRounds: 3,
  run,
};
