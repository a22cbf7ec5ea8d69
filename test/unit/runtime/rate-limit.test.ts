// Client-side flow control on plain data: the APF switch, Retry-After, the
// attempt bound, the process-wide pause after throttling, and the counter.
import test from 'ava';
import { RequestCounter } from '../../../runtime/kube-transport.ts';
import {
  ApiRateLimiter, DEFAULT_RETRY_AFTER_MS, judgeThrottle, MAX_PAUSE_MS, parseRetryAfter, SAFETY_NET_RATE_LIMIT,
  type LimiterClock,
} from '../../../runtime/rate-limit.ts';

const APF = { 'x-kubernetes-pf-flowschema-uid': 'f-uid', 'x-kubernetes-pf-prioritylevel-uid': 'p-uid' };

/** A clock tests move by hand; `random` is the jitter draw (0: none, 0.999: the most). */
function manualClock(start = 1_000_000): LimiterClock & { at: number; draw: number } {
  const clock = { at: start, draw: 0, now: () => clock.at, random: () => clock.draw };
  return clock;
}

test('by default the safety-net bucket applies until a response carries APF headers, then none does', (t) => {
  const limiter = new ApiRateLimiter({}, manualClock());
  t.is(limiter.mode, 'adaptive');
  t.is(limiter.bucket?.qps, SAFETY_NET_RATE_LIMIT.qps);
  t.is(limiter.bucket?.burst, SAFETY_NET_RATE_LIMIT.burst);
  limiter.observe({ 'content-type': 'application/json' });
  t.truthy(limiter.bucket, 'a response without APF headers changes nothing');
  t.false(limiter.apfSeen);
  limiter.observe({ 'x-kubernetes-pf-prioritylevel-uid': 'p-uid' });
  t.true(limiter.apfSeen);
  t.is(limiter.bucket, undefined, 'one APF header is enough');
  limiter.observe({});
  t.is(limiter.bucket, undefined, 'and it stays off');
});

test('explicit qps or burst force a fixed bucket that APF does not remove; qps 0 means none', (t) => {
  const fixed = new ApiRateLimiter({ qps: 20, burst: 40 }, manualClock());
  t.is(fixed.mode, 'fixed');
  fixed.observe(APF);
  t.true(fixed.apfSeen);
  t.is(fixed.bucket?.qps, 20);
  t.is(fixed.bucket?.burst, 40);
  const burstOnly = new ApiRateLimiter({ burst: 7 }, manualClock());
  t.is(burstOnly.mode, 'fixed');
  t.is(burstOnly.bucket?.qps, SAFETY_NET_RATE_LIMIT.qps, 'the qps of a burst-only flag is the safety net one');
  t.is(new ApiRateLimiter({ qps: 20 }, manualClock()).bucket?.burst, SAFETY_NET_RATE_LIMIT.burst);
  const off = new ApiRateLimiter({ qps: 0 }, manualClock());
  t.is(off.mode, 'fixed');
  t.is(off.bucket, undefined);
});

test('Retry-After: delta seconds, HTTP dates, garbage', (t) => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  t.is(parseRetryAfter('1', now), 1000);
  t.is(parseRetryAfter(' 30 ', now), 30_000);
  t.is(parseRetryAfter('0', now), 0);
  t.is(parseRetryAfter('Wed, 01 May 2024 12:00:05 GMT', now), 5000, 'IMF-fixdate');
  t.is(parseRetryAfter('Wednesday, 01-May-24 12:00:02 GMT', now), 2000, 'RFC 850');
  t.is(parseRetryAfter('Wed, 01 May 2024 11:00:00 GMT', now), 0, 'a date in the past means now');
  for (const garbage of [undefined, '', 'soon', '1.5', '-3', '2024-05-01T12:00:05Z', 'Wed, 99 Foo']) {
    t.is(parseRetryAfter(garbage, now), undefined, String(garbage));
  }
});

test('which responses are throttles, and how long they ask for', (t) => {
  const now = 0;
  t.deepEqual(judgeThrottle(200, '1', 1, now), { kind: 'not-throttled' });
  t.deepEqual(judgeThrottle(500, '1', 1, now), { kind: 'not-throttled' }, 'a 5xx is not a throttle');
  t.deepEqual(judgeThrottle(503, undefined, 1, now), { kind: 'not-throttled' }, 'a 503 without Retry-After is a failure');
  t.deepEqual(judgeThrottle(503, '2', 1, now), { kind: 'retry', retryAfterMs: 2000 });
  t.deepEqual(judgeThrottle(429, undefined, 1, now), { kind: 'retry', retryAfterMs: DEFAULT_RETRY_AFTER_MS });
  t.deepEqual(judgeThrottle(429, 'later', 1, now), { kind: 'retry', retryAfterMs: DEFAULT_RETRY_AFTER_MS }, 'garbage: the default');
  t.deepEqual(judgeThrottle(429, '3600', 1, now), { kind: 'retry', retryAfterMs: MAX_PAUSE_MS }, 'capped');
  const zero = judgeThrottle(429, '0', 1, now);
  t.true(zero.kind === 'retry' && zero.retryAfterMs > 0, 'Retry-After 0 still waits a little');
});

test('attempts are bounded: the last allowed attempt gives up', (t) => {
  t.is(judgeThrottle(429, '1', 9, 0).kind, 'retry');
  t.is(judgeThrottle(429, '1', 10, 0).kind, 'give-up', 'ten attempts by default');
  t.is(judgeThrottle(429, '1', 2, 0, 3).kind, 'retry');
  t.is(judgeThrottle(429, '1', 3, 0, 3).kind, 'give-up');
  t.is(judgeThrottle(429, '1', 1, 0, 1).kind, 'give-up', 'one attempt (a watch): never resent');
  t.is(judgeThrottle(200, '1', 10, 0).kind, 'not-throttled', 'a success on the last attempt is a success');
});

test('a throttle closes the gate for every request for at least Retry-After, plus at most a quarter of jitter', (t) => {
  const clock = manualClock();
  const limiter = new ApiRateLimiter({ qps: 0 }, clock);
  t.is(limiter.gateWait(), 0, 'open before any throttle');
  const sentAt = clock.at;
  clock.at += 50;
  limiter.throttled(1000, sentAt);
  t.is(limiter.gateWait(), 1000);
  clock.draw = 0.999;
  t.true(limiter.gateWait() > 1000 && limiter.gateWait() <= 1250, 'jitter only adds');
  clock.at += 1000;
  t.is(limiter.gateWait(), 0, 'open again after the pause');
});

test('the pause doubles only when requests sent after it are throttled again, and resets after a calm spell', (t) => {
  const clock = manualClock();
  const limiter = new ApiRateLimiter({}, clock);
  const wave = clock.at;
  clock.at += 10;
  for (let i = 0; i < 20; i++) limiter.throttled(1000, wave);
  t.is(limiter.level, 0, 'twenty throttles of one wave are one event');
  t.is(limiter.resumeAt, clock.at + 1000);

  clock.at = limiter.resumeAt + 5;
  const retry = clock.at;
  clock.at += 10;
  limiter.throttled(1000, retry);
  t.is(limiter.level, 1, 'throttled again right after the pause: back off more');
  t.is(limiter.resumeAt, clock.at + 2000);
  limiter.throttled(1000, retry);
  t.is(limiter.level, 1, 'the rest of that wave does not escalate further');

  for (let i = 0; i < 10; i++) {
    clock.at = limiter.resumeAt + 1;
    limiter.throttled(1000, clock.at);
  }
  t.is(limiter.resumeAt - clock.at, MAX_PAUSE_MS, 'the pause is capped');

  clock.at = limiter.resumeAt + 60_000;
  limiter.throttled(1000, clock.at);
  t.is(limiter.level, 0, 'after a calm spell the backoff starts from its base');
  t.is(limiter.resumeAt, clock.at + 1000);
});

test('take() waits for the gate and rejects when the signal aborts the wait', async (t) => {
  const limiter = new ApiRateLimiter({ qps: 0 });
  limiter.throttled(MAX_PAUSE_MS, Date.now());
  const abort = new AbortController();
  const taking = limiter.take(abort.signal);
  abort.abort(new Error('reconcile cancelled'));
  await t.throwsAsync(taking);
  const already = new AbortController();
  already.abort(new Error('cancelled before'));
  await t.throwsAsync(new ApiRateLimiter({ qps: 0 }).take(already.signal), { message: 'cancelled before' });
});

test('the request counter counts a resent request once and its throttled responses apart', (t) => {
  const counter = new RequestCounter();
  const seen: string[] = [];
  const stop = counter.onThrottled((verb, status) => seen.push(`${verb}:${status}`));
  counter.record('apply', false);
  counter.recordThrottled('apply', 429);
  counter.recordThrottled('apply', 429);
  counter.record('get', false);
  counter.recordThrottled('get', 503);
  t.is(counter.count('apply'), 1);
  t.is(counter.writes(), 1);
  t.is(counter.throttled('apply'), 2);
  t.is(counter.throttled(), 3);
  t.deepEqual(counter.snapshot(), { apply: 1, get: 1 }, 'the per-verb snapshot keeps its shape');
  t.deepEqual(seen, ['apply:429', 'apply:429', 'get:503']);
  stop();
  counter.recordThrottled('get', 429);
  t.is(seen.length, 3);
  counter.reset();
  t.is(counter.throttled(), 0);
});
