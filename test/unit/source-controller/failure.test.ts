// How failures map to conditions and retries, and what the controller does next
// (the result builder), on plain data.
import test from 'ava';
import { UnsafeArchiveError } from '../../../runtime/archive.ts';
import { StallingError, WaitingError } from '../../../runtime/errors.ts';
import { GitAuthError, GitRefNotFoundError, GitTimeoutError, GitUnreachableError } from '../../../source-controller/git/errors.ts';
import {
  AuthenticationError, DigestMismatchError, InvalidReferenceError, NotFoundError, RateLimitedError, RegistryError,
  RegistryUnreachableError,
} from '../../../source-controller/oci/errors.ts';
import { InvalidDurationError, parseDuration, parsePositiveDuration } from '../../../runtime/duration.ts';
import { fetchFailed, toSourceFailure, type RetryMode } from '../../../source-controller/reconcile/failure.ts';
import { nextReconcile } from '../../../source-controller/reconcile/skeleton.ts';
import { FailureCounts } from '../../../runtime/failure.ts';
import { SensitiveValues } from '../../../source-controller/secrets.ts';

const fallback = { condition: 'FetchFailed', reason: 'FetchOperationFailed' } as const;

test('typed client errors map to a condition, a reason and a retry mode', (t) => {
  const cases: Array<[unknown, string, string, RetryMode]> = [
    [new GitAuthError('refused', 401), 'FetchFailed', 'AuthenticationFailed', 'interval'],
    [new GitRefNotFoundError('no tag'), 'FetchFailed', 'RefNotFound', 'interval'],
    [new GitRefNotFoundError('bad', 'InvalidRef'), 'FetchFailed', 'InvalidRef', 'stall'],
    [new GitUnreachableError('down'), 'FetchFailed', 'Unreachable', 'backoff'],
    [new GitTimeoutError(10), 'FetchFailed', 'Timeout', 'backoff'],
    [new AuthenticationError('refused', 401), 'FetchFailed', 'AuthenticationFailed', 'interval'],
    [new NotFoundError('no tag'), 'FetchFailed', 'NotFound', 'interval'],
    [new InvalidReferenceError('bad'), 'FetchFailed', 'InvalidReference', 'stall'],
    [new RegistryUnreachableError('down'), 'FetchFailed', 'RegistryUnreachable', 'backoff'],
    [new RegistryError('500', 503), 'FetchFailed', 'RegistryError', 'backoff'],
    [new RegistryError('400', 400), 'FetchFailed', 'RegistryError', 'interval'],
    [new DigestMismatchError('bad', 'sha256:a'), 'FetchFailed', 'DigestMismatch', 'interval'],
    [new UnsafeArchiveError('link', 'no links', 'x'), 'ArtifactFailed', 'UnsafeArchive', 'interval'],
    [new InvalidDurationError('bad'), 'FetchFailed', 'InvalidSpec', 'stall'],
    [new Error('disk full'), 'FetchFailed', 'FetchOperationFailed', 'backoff'],
  ];
  for (const [err, condition, reason, retry] of cases) {
    t.like(toSourceFailure(err, fallback), { condition, reason, retry }, String(err));
  }
  t.is(toSourceFailure(new RateLimitedError('slow down', 30_000), fallback).retryAfterMs, 30_000);
  const same = fetchFailed('X', 'y', 'stall');
  t.is(toSourceFailure(same, fallback), same, 'a SourceFailure passes through');
});

test('the result builder: interval after success, no retry when stalled, interval for lasting failures, capped backoff for transient ones', (t) => {
  const failures = new FailureCounts();
  const fail = (retry: RetryMode, retryAfterMs?: number) => ({
    kind: 'failed' as const, failure: Object.assign(fetchFailed('R', 'm', retry), { retryAfterMs }), message: 'm',
  });
  t.deepEqual(nextReconcile('k', { kind: 'ready', message: '' }, 60_000, failures, 1000), { requeueAfterMs: 60_000 });
  t.throws(() => nextReconcile('k', fail('stall'), 60_000, failures, 1000), { instanceOf: StallingError, message: 'm' });
  const waited = (retry: RetryMode, after?: number): number => {
    try {
      nextReconcile('k', fail(retry, after), 5_000, failures, 1000);
    } catch (err) {
      if (err instanceof WaitingError) return err.retryAfterMs;
      throw err;
    }
    throw new Error('no WaitingError');
  };
  t.is(waited('interval'), 5_000);
  t.deepEqual([waited('backoff'), waited('backoff'), waited('backoff'), waited('backoff')], [1000, 2000, 4000, 5000]);
  t.is(waited('backoff', 30_000), 30_000, 'a Retry-After longer than the interval is honored');
  nextReconcile('k', { kind: 'ready', message: '' }, 5_000, failures, 1000);
  t.is(waited('backoff'), 1000, 'success resets the backoff');
});

test('Go durations', (t) => {
  t.is(parseDuration('90s'), 90_000);
  t.is(parseDuration('5m'), 300_000);
  t.is(parseDuration('1h30m'), 5_400_000);
  t.is(parseDuration('1.5h'), 5_400_000);
  t.is(parseDuration('250ms'), 250);
  t.is(parseDuration('2m3s500ms'), 123_500);
  for (const bad of ['', '5', 'm', '5d', '1h 30m', '-5s', '5s!']) t.throws(() => parseDuration(bad), { instanceOf: InvalidDurationError }, bad);
  t.throws(() => parsePositiveDuration('0s', 'spec.interval'), { message: 'spec.interval must be longer than 0' });
  t.throws(() => parsePositiveDuration('1000h', 'spec.interval'), { message: /at most 24 days/ });
});

test('SensitiveValues scrubs the exact secrets and their base64, longest first, on top of the pattern redaction', (t) => {
  const s = new SensitiveValues();
  s.add('hunter22');
  s.add('user:hunter22');
  s.add('abc');
  const b64 = Buffer.from('user:hunter22').toString('base64');
  t.is(s.scrub(`failed with hunter22 and ${b64} and abc`), 'failed with [REDACTED] and [REDACTED] and abc');
  t.is(s.scrub('GET https://u:p@host/x'), 'GET https://[REDACTED]@host/x');
});
