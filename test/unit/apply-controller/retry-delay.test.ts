// The retry schedule of a failing Package: exponential from 2 s, capped at retryInterval.
import test from 'ava';
import { RETRY_BASE_MS, retryDelay } from '../../../apply-controller/package.ts';

test('retries back off exponentially and settle at retryInterval', (t) => {
  const cap = 10 * 60_000;
  t.deepEqual([1, 2, 3, 4, 5].map((n) => retryDelay(n, cap)), [2_000, 4_000, 8_000, 16_000, 32_000]);
  t.is(retryDelay(9, cap), 512_000);
  t.is(retryDelay(10, cap), cap);
  t.is(retryDelay(1_000, cap), cap, 'no overflow after many failures');
  t.is(retryDelay(1, 500), 500, 'a retryInterval below the base wins');
  t.is(RETRY_BASE_MS, 2_000);
});
