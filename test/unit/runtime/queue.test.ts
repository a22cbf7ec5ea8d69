// Work queue semantics on plain data: de-duplication, one worker per key,
// bounded concurrency, backoff math, jitter bounds and graceful shutdown.
import test from 'ava';
import { backoffDelay, jitteredDelay, WorkQueue } from '../../../runtime/queue.ts';

/** A promise plus its resolve function, to hold a worker in place. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((r) => { open = r; });
  return { promise, open };
}

/** Waits until `cond` holds, yielding to the event loop between checks (gives up after 10 s). */
async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
  if (!cond()) throw new Error('condition never held');
}

test('a key added many times while it waits is processed once', async (t) => {
  const blocker = gate();
  const runs: string[] = [];
  const q = new WorkQueue(async (key) => {
    runs.push(key);
    if (key === 'ns/blocker') await blocker.promise;
  }, { concurrency: 1 });
  q.add('ns/blocker');
  for (let i = 0; i < 50; i++) q.add('ns/a');
  t.is(q.depth, 1, 'fifty adds of one key are one queued item');
  blocker.open();
  await until(() => q.depth === 0 && q.inFlight === 0);
  t.deepEqual(runs, ['ns/blocker', 'ns/a']);
});

test('a key added while it is processed runs exactly once more, after the current run', async (t) => {
  const first = gate();
  let active = 0;
  let maxActive = 0;
  let runs = 0;
  const q = new WorkQueue(async () => {
    runs += 1;
    active += 1;
    maxActive = Math.max(maxActive, active);
    if (runs === 1) await first.promise;
    active -= 1;
  }, { concurrency: 8 });
  q.add('ns/a');
  await until(() => q.inFlight === 1);
  q.add('ns/a');
  q.add('ns/a');
  t.is(q.inFlight, 1, 'not started a second time while running, despite free workers');
  first.open();
  await until(() => runs === 2 && q.inFlight === 0);
  await new Promise((r) => setTimeout(r, 20));
  t.is(runs, 2);
  t.is(maxActive, 1, 'one worker per key at a time');
});

test('concurrency is bounded across many keys and fully used', async (t) => {
  let active = 0;
  let maxActive = 0;
  let done = 0;
  const q = new WorkQueue(async () => {
    active += 1;
    maxActive = Math.max(maxActive, active);
    await new Promise((r) => setTimeout(r, 5));
    active -= 1;
    done += 1;
  }, { concurrency: 3 });
  for (let i = 0; i < 30; i++) q.add(`ns/k${i}`);
  await until(() => done === 30);
  t.is(maxActive, 3);
});

test('backoff doubles from the base and stops at the cap', (t) => {
  t.is(backoffDelay(0, 5, 300_000), 0);
  t.deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 5, 300_000)), [5, 10, 20, 40, 80]);
  t.is(backoffDelay(17, 5, 300_000), 300_000, '5·2^16 = 327680 is capped');
  t.is(backoffDelay(10_000, 5, 300_000), 300_000, 'huge failure counts do not overflow past the cap');
});

test('addRateLimited grows the delay per key, and forget resets it', async (t) => {
  const q = new WorkQueue(() => Promise.resolve(), { backoffBaseMs: 1000, backoffCapMs: 4000 });
  t.is(q.addRateLimited('ns/a'), 1000);
  t.is(q.addRateLimited('ns/a'), 2000);
  t.is(q.addRateLimited('ns/b'), 1000, 'other keys have their own count');
  t.is(q.addRateLimited('ns/a'), 4000);
  t.is(q.addRateLimited('ns/a'), 4000, 'capped');
  t.is(q.failures('ns/a'), 4);
  q.forget('ns/a');
  t.is(q.failures('ns/a'), 0);
  t.is(q.addRateLimited('ns/a'), 1000);
  await q.shutdown();
});

test('jitter never shortens a delay and adds at most the configured fraction', (t) => {
  t.is(jitteredDelay(1000, 0.1, () => 0), 1000);
  t.is(jitteredDelay(1000, 0.1, () => 0.5), 1050);
  const max = jitteredDelay(1000, 0.1, () => 0.999_999);
  t.true(max < 1100 && max > 1099);
  for (let i = 0; i < 1000; i++) {
    const d = jitteredDelay(200, 0.25, Math.random);
    t.true(d >= 200 && d < 250, `${d} within [200, 250)`);
  }
});

test('a delayed add keeps the earlier of two deadlines', async (t) => {
  const runs: number[] = [];
  const q = new WorkQueue(() => { runs.push(Date.now()); return Promise.resolve(); }, { jitterFraction: 0 });
  q.addAfter('ns/a', 60_000);
  q.addAfter('ns/a', 10);
  t.is(q.delayed, 1);
  await until(() => runs.length === 1);
  q.addAfter('ns/b', 10);
  q.addAfter('ns/b', 60_000);
  await until(() => runs.length === 2);
  t.is(q.delayed, 0, 'the later deadline was dropped, not kept as a second timer');
  await q.shutdown();
});

test('cancelDelayed drops a pending requeue', async (t) => {
  let runs = 0;
  const q = new WorkQueue(() => { runs += 1; return Promise.resolve(); }, { jitterFraction: 0 });
  q.addAfter('ns/a', 20);
  q.cancelDelayed('ns/a');
  t.is(q.delayed, 0);
  await new Promise((r) => setTimeout(r, 60));
  t.is(runs, 0);
  await q.shutdown();
});

test('shutdown waits for in-flight work, drops queued and delayed work, and ignores new adds', async (t) => {
  const blocker = gate();
  const finished: string[] = [];
  const q = new WorkQueue(async (key) => {
    if (key === 'ns/slow') await blocker.promise;
    finished.push(key);
  }, { concurrency: 1 });
  q.add('ns/slow');
  q.add('ns/queued');
  q.addAfter('ns/later', 10);
  await until(() => q.inFlight === 1);
  let shutDown = false;
  const done = q.shutdown().then(() => { shutDown = true; });
  await new Promise((r) => setTimeout(r, 30));
  t.false(shutDown, 'still waiting for the in-flight key');
  q.add('ns/new');
  blocker.open();
  await done;
  await new Promise((r) => setTimeout(r, 30));
  t.deepEqual(finished, ['ns/slow']);
});

test('a processor that throws is retried with backoff instead of stopping the queue', async (t) => {
  let calls = 0;
  const q = new WorkQueue(() => {
    calls += 1;
    return calls < 3 ? Promise.reject(new Error('boom')) : Promise.resolve();
  }, { backoffBaseMs: 1 });
  q.add('ns/a');
  await until(() => calls === 3 && q.inFlight === 0);
  t.is(calls, 3);
  await q.shutdown();
});

test('invalid backoff settings are refused', (t) => {
  t.throws(() => new WorkQueue(() => Promise.resolve(), { backoffBaseMs: 0 }), { instanceOf: RangeError });
  t.throws(() => new WorkQueue(() => Promise.resolve(), { backoffBaseMs: 10, backoffCapMs: 5 }), { instanceOf: RangeError });
});
