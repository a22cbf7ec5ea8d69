/**
 * A controller's own /metrics, read for profiles: the API requests it made
 * (`trellis_kube_api_requests_total`, by verb, dry runs as `<verb>_dry_run`) and
 * Node's memory figures (`nodejs_heap_size_used_bytes`, ...), so a figure that
 * misses its goal comes with what the process was doing.
 */
import { parsePrometheusText, type MetricSample } from './prometheus.ts';

/** Requests by verb. */
export type VerbCounts = ReadonlyMap<string, number>;

/** The samples of a controller's /metrics; empty when it has no metrics URL or does not answer. */
export async function readControllerMetrics(url: string | undefined): Promise<MetricSample[]> {
  if (!url) return [];
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    return res.ok ? parsePrometheusText(await res.text()) : [];
  } catch {
    return [];
  }
}

/** `trellis_kube_api_requests_total` by verb. */
export function apiRequestsByVerb(samples: readonly MetricSample[]): VerbCounts {
  const out = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== 'trellis_kube_api_requests_total') continue;
    const verb = s.labels.verb ?? '';
    out.set(verb, (out.get(verb) ?? 0) + s.value);
  }
  return out;
}

/** `after - before` per verb, verbs without change left out. */
export function verbDelta(before: VerbCounts, after: VerbCounts): Map<string, number> {
  const out = new Map<string, number>();
  for (const [verb, n] of after) {
    const d = n - (before.get(verb) ?? 0);
    if (d > 0) out.set(verb, d);
  }
  return out;
}

/** `1234 requests (600 apply, 600 apply_dry_run, 34 get)`, largest first. */
export function describeVerbs(counts: ReadonlyMap<string, number>): string {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return '0 requests';
  const parts = [...counts].sort((a, b) => b[1] - a[1]).map(([verb, n]) => `${n} ${verb}`);
  return `${total} requests (${parts.join(', ')})`;
}

/** The value of the first sample named `name` (a gauge), if any. */
export function gauge(samples: readonly MetricSample[], name: string): number | undefined {
  return samples.find((s) => s.name === name)?.value;
}

/** A metric by its name with or without the `trellis_` prefix the runtime gives Node's default metrics. */
function either(samples: readonly MetricSample[], name: string): number | undefined {
  return gauge(samples, `trellis_${name}`) ?? gauge(samples, name);
}

/** `heap 80.1 of 120.0 MiB, external 12.3 MiB, RSS 180.2 MiB` from Node's default metrics; undefined if absent. */
export function describeMemory(samples: readonly MetricSample[]): string | undefined {
  const mib = (v: number | undefined): string => (v === undefined ? '?' : (v / 1024 / 1024).toFixed(1));
  const used = either(samples, 'nodejs_heap_size_used_bytes');
  const total = either(samples, 'nodejs_heap_size_total_bytes');
  const external = either(samples, 'nodejs_external_memory_bytes');
  const rss = either(samples, 'process_resident_memory_bytes');
  if (used === undefined && rss === undefined) return undefined;
  return `JS heap ${mib(used)} MiB used of ${mib(total)} MiB, external ${mib(external)} MiB, RSS ${mib(rss)} MiB`;
}

/** Count and total seconds of `trellis_reconcile_duration_seconds` for `kind` (all results). */
export function reconcileTime(samples: readonly MetricSample[], kind: string): { count: number; seconds: number } {
  let count = 0;
  let seconds = 0;
  for (const s of samples) {
    if (s.labels.kind !== kind) continue;
    if (s.name === 'trellis_reconcile_duration_seconds_count') count += s.value;
    if (s.name === 'trellis_reconcile_duration_seconds_sum') seconds += s.value;
  }
  return { count, seconds };
}
