// Retry-After parsing and backoff arithmetic, on plain values and a fixed clock.
import test from 'ava';
import { DEFAULT_RETRY_POLICY, backoffDelay, isRetryableStatus, parseRetryAfter } from '../../../source-controller/oci/retry.ts';

const NOW = Date.parse('2026-01-01T12:00:00Z');

test('Retry-After in delta seconds', (t) => {
  t.is(parseRetryAfter('0', NOW), 0);
  t.is(parseRetryAfter('3', NOW), 3000);
  t.is(parseRetryAfter(' 120 ', NOW), 120_000);
});

test('Retry-After as an HTTP date, relative to the clock; a past date means now', (t) => {
  t.is(parseRetryAfter('Thu, 01 Jan 2026 12:00:05 GMT', NOW), 5000);
  t.is(parseRetryAfter('Thursday, 01-Jan-26 12:01:00 GMT', NOW), 60_000);
  t.is(parseRetryAfter('Thu, 01 Jan 2026 11:00:00 GMT', NOW), 0);
});

test('absent or malformed Retry-After gives undefined', (t) => {
  t.is(parseRetryAfter(undefined, NOW), undefined);
  t.is(parseRetryAfter('', NOW), undefined);
  t.is(parseRetryAfter('-3', NOW), undefined);
  t.is(parseRetryAfter('1.5', NOW), undefined);
  t.is(parseRetryAfter('soon', NOW), undefined);
  t.is(parseRetryAfter('Fri, 99 Foo 2026', NOW), undefined);
});

test('backoff doubles from the base, is capped, and jitters within [50%, 100%]', (t) => {
  const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };
  t.is(backoffDelay(0, policy, () => 1), 100);
  t.is(backoffDelay(1, policy, () => 1), 200);
  t.is(backoffDelay(3, policy, () => 1), 800);
  t.is(backoffDelay(4, policy, () => 1), 1000);
  t.is(backoffDelay(60, policy, () => 1), 1000);
  t.is(backoffDelay(2, policy, () => 0), 200);
});

test('which statuses are retried', (t) => {
  for (const s of [408, 429, 500, 502, 503, 504]) t.true(isRetryableStatus(s), String(s));
  for (const s of [200, 400, 401, 403, 404, 405, 413, 501, 505]) t.false(isRetryableStatus(s), String(s));
});
