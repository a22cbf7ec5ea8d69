// The failure model both controllers share: each retry mode, the counts that make
// the exponential ones grow, and what resets them — on plain data.
import test from 'ava';
import { StallingError, WaitingError } from '../../../runtime/errors.ts';
import {
  exponentialDelay, FailureCounts, nextAfterFailure, nextAfterSuccess, ReconcileFailure, RETRY_BASE_MS, type RetryMode, type RetryPolicy,
} from '../../../runtime/failure.ts';
import { PackageFailure } from '../../../apply-controller/reconcile/failure.ts';
import { SourceFailure } from '../../../source-controller/reconcile/failure.ts';

const policy: RetryPolicy = { intervalMs: 300_000, retryIntervalMs: 60_000, backoffBaseMs: 500, dependencyDelayMs: 7_000 };

/** The delay `failure` asks for, or `stalled`. */
function next(key: string, retry: RetryMode, counts: FailureCounts, retryAfterMs?: number): number | 'stalled' {
  try {
    nextAfterFailure(key, new ReconcileFailure('ApplyFailed', 'Reason', 'message', retry, { retryAfterMs }), policy, counts);
  } catch (err) {
    if (err instanceof StallingError) return 'stalled';
    if (err instanceof WaitingError) return err.retryAfterMs;
    throw err;
  }
  throw new Error('nextAfterFailure returned');
}

test('each retry mode: stall, interval, dependency, retry up to the retry interval, backoff up to the interval', (t) => {
  const counts = new FailureCounts();
  t.is(next('a', 'stall', counts), 'stalled');
  t.is(next('a', 'interval', counts), 300_000);
  t.is(next('a', 'dependency', counts), 7_000);
  t.deepEqual([1, 2, 3, 4, 5, 6].map(() => next('r', 'retry', counts)), [2_000, 4_000, 8_000, 16_000, 32_000, 60_000]);
  t.deepEqual([1, 2, 3].map(() => next('b', 'backoff', counts)), [500, 1_000, 2_000]);
  t.is(counts.get('r'), 6);
});

test('a Retry-After is honoured past the cap; other outcomes and successes reset the count', (t) => {
  const counts = new FailureCounts();
  t.is(next('k', 'backoff', counts, 900_000), 900_000);
  t.is(next('k', 'backoff', counts), 1_000, 'the count went on under the Retry-After');
  t.is(next('k', 'interval', counts), 300_000);
  t.is(next('k', 'backoff', counts), 500, 'an interval failure reset it');
  t.deepEqual(nextAfterSuccess('k', 42, counts), { requeueAfterMs: 42 });
  t.is(counts.get('k'), 0);
  t.is(next('k', 'retry', counts), RETRY_BASE_MS);
});

test('the exponential delay never overflows and never passes its cap', (t) => {
  t.is(exponentialDelay(1, 2_000, 600_000), 2_000);
  t.is(exponentialDelay(9, 2_000, 600_000), 512_000);
  t.is(exponentialDelay(10, 2_000, 600_000), 600_000);
  t.is(exponentialDelay(1_000, 2_000, 600_000), 600_000);
  t.is(exponentialDelay(0, 2_000, 600_000), 2_000, 'a count of zero is the first delay');
});

test('both controllers fail with the one typed error, its message redacted', (t) => {
  const source = new SourceFailure('FetchFailed', 'Unreachable', 'GET https://user:hunter2@registry.example/v2/ failed', 'backoff');
  const pkg = new PackageFailure('ApplyFailed', 'ApplyFailed', 'refused', 'retry');
  t.true(source instanceof ReconcileFailure);
  t.true(pkg instanceof ReconcileFailure);
  t.is(source.name, 'SourceFailure');
  t.is(pkg.name, 'PackageFailure');
  t.false(source.message.includes('hunter2'), source.message);
});
