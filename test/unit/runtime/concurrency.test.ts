// runtime/concurrency.ts: the bounded map every layer runs its many small requests and file operations with, and
// the in-order read-ahead of files.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { inOrderAhead, mapBounded, TaskPool } from '../../../runtime/concurrency.ts';

test('mapBounded keeps the limit and the order, and stops starting work after a failure', async (t) => {
  let running = 0;
  let peak = 0;
  const out = await mapBounded([5, 1, 4, 2, 3], 2, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await sleep(n * 3);
    running--;
    return n * 10;
  });
  t.deepEqual(out, [50, 10, 40, 20, 30]);
  t.is(peak, 2);

  const started: number[] = [];
  await t.throwsAsync(mapBounded([1, 2, 3, 4, 5], 1, async (n) => {
    started.push(n);
    await sleep(1);
    if (n === 2) throw new Error('boom');
  }), { message: 'boom' });
  t.deepEqual(started, [1, 2]);
  t.deepEqual(await mapBounded([], 4, () => Promise.resolve(1)), []);
});

test('a failure is thrown only once the work under way has finished', async (t) => {
  // A checkout removes its folder after a failure: no write may still be in flight then.
  const finished: number[] = [];
  await t.throwsAsync(mapBounded([1, 2, 3], 3, async (n) => {
    if (n === 1) throw new Error('first');
    await sleep(n * 10);
    finished.push(n);
  }), { message: 'first' });
  t.deepEqual(finished, [2, 3]);
});

test('a limit below 1 still runs the items, one at a time', async (t) => {
  let running = 0;
  let peak = 0;
  const out = await mapBounded([1, 2, 3], 0, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await sleep(1);
    running--;
    return n;
  });
  t.deepEqual(out, [1, 2, 3]);
  t.is(peak, 1);
});

test('inOrderAhead yields in item order with at most `ahead` later items under way', async (t) => {
  let running = 0;
  let peak = 0;
  const seen: number[] = [];
  for await (const n of inOrderAhead([30, 5, 20, 1, 10, 2], 2, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await sleep(n);
    running--;
    return n;
  })) seen.push(n);
  t.deepEqual(seen, [30, 5, 20, 1, 10, 2]);
  t.true(peak <= 3 && peak >= 2, `peak ${peak}: the item awaited and at most two after it`);
});

test('inOrderAhead throws a failure at its item\'s turn, after the items before it', async (t) => {
  const seen: number[] = [];
  await t.throwsAsync(async () => {
    for await (const n of inOrderAhead([1, 2, 3, 4], 3, (n) => {
      if (n === 3) throw new Error('three');
      return sleep(5).then(() => n);
    })) seen.push(n);
  }, { message: 'three' });
  t.deepEqual(seen, [1, 2], 'the failure of the third item, started early, waited for its turn');
});

test('inOrderAhead leaves unobserved the work of items a consumer that stopped never reached', async (t) => {
  // A rejection of work started ahead must not surface as an unhandled rejection (AVA fails the run if it does).
  const seen: number[] = [];
  for await (const n of inOrderAhead([1, 2, 3, 4], 3, async (n) => {
    await sleep(1);
    if (n > 1) throw new Error(`never asked for ${n}`);
    return n;
  })) {
    seen.push(n);
    break;
  }
  await sleep(20);
  t.deepEqual(seen, [1]);
});

test('TaskPool keeps its limit, and settle waits for every task', async (t) => {
  const pool = new TaskPool(3);
  let running = 0;
  let peak = 0;
  const done: number[] = [];
  for (let i = 0; i < 10; i++) {
    await pool.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await sleep(5 + (i % 3) * 5);
      running--;
      done.push(i);
    });
  }
  await pool.settle();
  t.is(peak, 3);
  t.is(done.length, 10);
});

test('TaskPool: a failure is thrown once every task started has finished, and no task starts after it', async (t) => {
  // An extraction removes its folder after a failure: no write may still be under way then.
  const pool = new TaskPool(4);
  const finished: number[] = [];
  await pool.run(async () => {
    await sleep(1);
    throw new Error('first write failed');
  });
  await pool.run(async () => {
    await sleep(30);
    finished.push(1);
  });
  await sleep(10);
  let startedAfter = false;
  await t.throwsAsync(pool.run(() => { startedAfter = true; return Promise.resolve(); }), { message: 'first write failed' });
  t.false(startedAfter);
  t.deepEqual(finished, [1], 'the task under way finished before the failure was thrown');
  await t.throwsAsync(pool.settle(), { message: 'first write failed' });
});
