// Benchmark statistics and number formats: medians, percentiles, ratios, units.
import test from 'ava';
import {
  formatDuration, formatMiB, formatRatio, formatValue, InvalidSampleError, median, percentile, ratio, summarize,
} from '../../../bench/framework/stats.ts';

test('median of an odd count is the middle sample, of an even count the mean of the two middle ones, whatever the order', (t) => {
  t.is(median([5, 1, 3]), 3);
  t.is(median([4, 1, 3, 2]), 2.5);
  t.is(median([7]), 7);
});

test('percentiles interpolate between the closest ranks; p0 and p100 are the extremes', (t) => {
  const values = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200];
  t.is(percentile(values, 0), 10);
  t.is(percentile(values, 100), 200);
  t.is(percentile(values, 50), 105);
  // rank 0.95 * 19 = 18.05: 190 + 0.05 * 10
  t.is(Math.round(percentile(values, 95) * 1000) / 1000, 190.5);
  t.is(percentile([3, 1, 2], 50), 2);
});

test('a statistic of no samples, of NaN or Infinity, or an out-of-range percentile is refused', (t) => {
  t.throws(() => median([]), { instanceOf: InvalidSampleError });
  t.throws(() => median([1, Number.NaN]), { instanceOf: InvalidSampleError });
  t.throws(() => summarize([Number.POSITIVE_INFINITY]), { instanceOf: InvalidSampleError });
  t.throws(() => percentile([1, 2], 101), { instanceOf: RangeError });
  t.throws(() => percentile([1, 2], -1), { instanceOf: RangeError });
  t.throws(() => percentile([1, 2], Number.NaN), { instanceOf: RangeError });
});

test('summarize gives n, median, p95, min and max and leaves its input unsorted', (t) => {
  const input = [300, 100, 200];
  const s = summarize(input);
  t.deepEqual(s, { n: 3, median: 200, p95: 290, min: 100, max: 300 });
  t.deepEqual(input, [300, 100, 200]);
});

test('ratio is undefined when dividing by zero or by something not finite', (t) => {
  t.is(ratio(3, 2), 1.5);
  t.is(ratio(1, 0), undefined);
  t.is(ratio(Number.NaN, 2), undefined);
  t.is(ratio(2, Number.POSITIVE_INFINITY), undefined);
});

test('ratios print with about three significant digits and an ×; undefined prints n/a', (t) => {
  t.is(formatRatio(1.4), '1.40×');
  t.is(formatRatio(2.2049), '2.20×');
  t.is(formatRatio(0.3421), '0.34×');
  t.is(formatRatio(0.05234), '0.052×');
  t.is(formatRatio(12.345), '12×');
  t.is(formatRatio(123.4), '123×');
  t.is(formatRatio(0), '0×');
  t.is(formatRatio(undefined), 'n/a');
  t.is(formatRatio(Number.NaN), 'n/a');
});

test('durations print in ms below a second and in seconds above; bytes in MiB', (t) => {
  t.is(formatDuration(0.42), '0.4 ms');
  t.is(formatDuration(9.96), '10.0 ms');
  t.is(formatDuration(812.4), '812 ms');
  t.is(formatDuration(1249), '1.25 s');
  t.is(formatDuration(65_210), '65.2 s');
  t.is(formatDuration(Number.NaN), 'n/a');
  t.is(formatMiB(44.4 * 1024 * 1024), '44.4 MiB');
  t.is(formatMiB(0), '0.0 MiB');
});

test('values print in their unit', (t) => {
  t.is(formatValue(1500, 'ms'), '1.50 s');
  t.is(formatValue(2 * 1024 * 1024, 'bytes'), '2.0 MiB');
  t.is(formatValue(0.0123, 'requests/object'), '0.012 req/object');
  t.is(formatValue(0, 'requests/object'), '0 req/object');
  t.is(formatValue(31.46, 'objects/s'), '31.5 objects/s');
  t.is(formatValue(3, 'count'), '3');
  t.is(formatValue(2.5, 'requests'), '2.5 req');
});
