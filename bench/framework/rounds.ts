/**
 * Running contenders alternately: round after round, every contender once, the
 * starting contender rotating, so slow drifts of a shared machine (other jobs,
 * page cache, a growing etcd) fall on all of them alike instead of on whoever
 * ran last.
 */
import type { Unit } from './stats.ts';
import type { Measurement, Role } from './workload.ts';

/** One contender of a workload. */
export interface Contender {
  readonly name: string;
  readonly role: Role;
  /** The metrics one run measures, with their units. */
  readonly metrics: Readonly<Record<string, Unit>>;
  /** One run; resolves with a value for each of `metrics` (a missing one is simply not recorded). */
  run(round: number): Promise<Readonly<Record<string, number>>>;
}

/** Options of {@link runAlternately}. */
export interface AlternateOptions {
  readonly rounds: number;
  /** Unrecorded runs of every contender first (warm caches, JIT, connections). */
  readonly warmup?: number;
  readonly log?: (line: string) => void;
  /** Called after every run (cleanup the next run must not pay for). */
  readonly after?: (contender: Contender, round: number) => Promise<void>;
}

/** The order of contenders in round `round`: rotated by one each round. */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const start = ((round % items.length) + items.length) % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

/** Runs every contender `rounds` times, alternating; returns their samples as measurements. */
export async function runAlternately(contenders: readonly Contender[], opts: AlternateOptions): Promise<Measurement[]> {
  const samples = new Map<Contender, Map<string, number[]>>(contenders.map((c) => [c, new Map()]));
  const warmup = opts.warmup ?? 0;
  for (let round = -warmup; round < opts.rounds; round++) {
    for (const contender of roundOrder(contenders, round)) {
      const label = round < 0 ? 'warm-up' : `round ${round + 1}/${opts.rounds}`;
      const values = await contender.run(round);
      opts.log?.(`${label}: ${contender.name}: ${Object.entries(values).map(([k, v]) => `${k} ${Math.round(v * 10) / 10}`).join(', ')}`);
      if (round >= 0) {
        const mine = samples.get(contender)!;
        for (const [metric, value] of Object.entries(values)) {
          if (!(metric in contender.metrics)) continue;
          mine.set(metric, [...(mine.get(metric) ?? []), value]);
        }
      }
      await opts.after?.(contender, round);
    }
  }
  return contenders.flatMap((c) => Object.entries(c.metrics).map(([metric, unit]) => ({
    metric, contender: c.name, role: c.role, unit, samples: samples.get(c)!.get(metric) ?? [],
  })));
}

/** The median of one contender's metric from a list of measurements, if measured. */
export function medianOf(measurements: readonly Measurement[], contender: string, metric: string,
  median: (v: readonly number[]) => number): number | undefined {
  const m = measurements.find((x) => x.contender === contender && x.metric === metric);
  return m && m.samples.length > 0 ? median(m.samples) : undefined;
}
