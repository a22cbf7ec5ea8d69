/**
 * Statistics and number formatting for benchmark results: medians and
 * percentiles of samples, ratios between contenders, and the short human forms
 * (`812 ms`, `1.25 s`, `41.3 MiB`, `1.40×`) the results table prints.
 */

/** Raised when a statistic is asked of no samples (or of samples that are not finite numbers). */
export class InvalidSampleError extends Error {
  override readonly name = 'InvalidSampleError';
}

function checked(values: readonly number[], what: string): number[] {
  if (values.length === 0) throw new InvalidSampleError(`${what} of no samples`);
  for (const v of values) {
    if (!Number.isFinite(v)) throw new InvalidSampleError(`${what} of a sample that is not a finite number (${String(v)})`);
  }
  return [...values].sort((a, b) => a - b);
}

/**
 * The `p`-th percentile (0–100) by linear interpolation between the closest
 * ranks (the usual spreadsheet/numpy definition): p50 of an even count is the
 * mean of the two middle samples, p0 the minimum, p100 the maximum.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!Number.isFinite(p) || p < 0 || p > 100) throw new RangeError(`percentile must be within 0..100, not ${p}`);
  const sorted = checked(values, `p${p}`);
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const lo = sorted[lower]!;
  const hi = sorted[upper]!;
  return lo + (hi - lo) * (rank - lower);
}

/** The median (p50). */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** What the table and the JSON report of one set of samples. */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p95: number;
  readonly min: number;
  readonly max: number;
}

/** Median, p95, min and max of `values`. */
export function summarize(values: readonly number[]): Summary {
  const sorted = checked(values, 'summary');
  return {
    n: sorted.length,
    median: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
  };
}

/** `a / b`, or undefined when it has no meaning (b is 0, either is not finite). */
export function ratio(a: number, b: number): number | undefined {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return undefined;
  return a / b;
}

/** A number with `digits` significant digits, without exponent notation and trailing zeros kept off. */
function significant(value: number, digits: number): string {
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return value.toFixed(Math.min(decimals, 6));
}

/** `1.40×`, `0.052×`, `12×`; `n/a` for an undefined ratio. Three significant digits at most. */
export function formatRatio(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  return `${significant(value, value >= 100 ? 3 : value >= 10 ? 2 : value >= 1 ? 3 : 2)}×`;
}

/** `812 ms`, `1.25 s`, `65.2 s`; sub-millisecond values keep one decimal (`0.4 ms`). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (Math.abs(ms) < 10) return `${ms.toFixed(1)} ms`;
  if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  return `${s.toFixed(Math.abs(s) < 10 ? 2 : 1)} s`;
}

/** Bytes as MiB with one decimal: `41.3 MiB`. */
export function formatMiB(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a';
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The units a measurement can be in. */
export type Unit = 'ms' | 'bytes' | 'requests/object' | 'requests' | 'objects/s' | 'count';

/** A value in its unit, short: `812 ms`, `41.3 MiB`, `0.012 req/object`, `31.5 objects/s`, `3`. */
export function formatValue(value: number, unit: Unit): string {
  switch (unit) {
    case 'ms': return formatDuration(value);
    case 'bytes': return formatMiB(value);
    case 'requests/object': return `${significant(value, 2)} req/object`;
    case 'requests': return `${Number.isInteger(value) ? value : value.toFixed(1)} req`;
    case 'objects/s': return `${value.toFixed(1)} objects/s`;
    case 'count': return Number.isInteger(value) ? String(value) : value.toFixed(1);
  }
}
