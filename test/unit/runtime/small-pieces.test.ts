// Rate limiting, listen addresses, MicroTime, keys and reconcile outcomes on plain data.
import test from 'ava';
import { classifyError, classifyResult, StallingError, WaitingError } from '../../../runtime/errors.ts';
import { truncateBytes } from '../../../runtime/events.ts';
import { parseListenAddress } from '../../../runtime/http.ts';
import { microTime, objectKey, parseKey } from '../../../runtime/object.ts';
import { parseRateFlag, TokenBucket } from '../../../runtime/rate-limit.ts';

test('the token bucket allows a burst, then one request per 1/qps', (t) => {
  let now = 0;
  const bucket = new TokenBucket({ qps: 10, burst: 3 }, () => now);
  t.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0], 'the burst is free');
  t.is(Math.round(bucket.reserve()), 100, 'the fourth waits 1/qps');
  t.is(Math.round(bucket.reserve()), 200, 'the fifth queues behind it');
  now = 1000; // one second later: 10 tokens refilled, minus the 2 borrowed, capped at burst
  t.is(bucket.reserve(), 0);
  now = 1_000_000;
  for (let i = 0; i < 3; i++) t.is(bucket.reserve(), 0);
  t.true(bucket.reserve() > 0, 'refill never exceeds the burst');
});

test('a qps of 0 disables limiting', (t) => {
  const bucket = new TokenBucket({ qps: 0, burst: 1 }, () => 0);
  for (let i = 0; i < 100; i++) t.is(bucket.reserve(), 0);
});

test('rate flags must be numbers >= 0', (t) => {
  t.is(parseRateFlag('--kube-api-qps', '20.5'), 20.5);
  for (const bad of ['', 'abc', '-1', 'Infinity']) t.throws(() => parseRateFlag('--kube-api-qps', bad), { instanceOf: RangeError });
});

test('listen addresses', (t) => {
  t.deepEqual(parseListenAddress('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  t.deepEqual(parseListenAddress(':9090'), { host: undefined, port: 9090 });
  t.deepEqual(parseListenAddress('[::1]:0'), { host: '::1', port: 0 });
  t.deepEqual(parseListenAddress(8081), { host: undefined, port: 8081 });
  for (const bad of ['localhost', 'host:port', '1.2.3.4:99999']) t.throws(() => parseListenAddress(bad), { instanceOf: RangeError });
});

test('microTime has exactly six fractional digits', (t) => {
  t.is(microTime(new Date('2026-03-04T05:06:07.089Z')), '2026-03-04T05:06:07.089000Z');
});

test('object keys round-trip', (t) => {
  t.is(objectKey({ metadata: { name: 'a', namespace: 'ns' } }), 'ns/a');
  t.is(objectKey({ metadata: { name: 'cluster-wide' } }), 'cluster-wide');
  t.deepEqual(parseKey('ns/a'), { namespace: 'ns', name: 'a' });
  t.deepEqual(parseKey('cluster-wide'), { name: 'cluster-wide' });
  t.throws(() => objectKey({ metadata: {} }));
});

test('reconcile outcomes', (t) => {
  t.deepEqual(classifyResult(undefined), { kind: 'success' });
  t.deepEqual(classifyResult({ requeueAfterMs: 500 }), { kind: 'requeue', afterMs: 500 });
  t.deepEqual(classifyResult({ requeueAfterMs: Number.NaN }), { kind: 'success' });
  t.deepEqual(classifyError(new StallingError('InvalidURL', 'bad')), { kind: 'stalled', reason: 'InvalidURL' });
  t.deepEqual(classifyError(new WaitingError('NotReady', 'later', { retryAfterMs: 30 })), { kind: 'waiting', reason: 'NotReady', afterMs: 30 });
  t.deepEqual(classifyError(new Error('x')), { kind: 'error' });
  t.throws(() => new WaitingError('X', 'y', { retryAfterMs: -1 }), { instanceOf: RangeError });
});

test('event notes are cut to a byte limit without splitting characters', (t) => {
  t.is(truncateBytes('short', 1024), 'short');
  const cut = truncateBytes('é'.repeat(1000), 1024);
  t.true(Buffer.byteLength(cut) <= 1024);
  t.true(cut.endsWith('...'));
  t.false(cut.includes('\uFFFD'));
});
