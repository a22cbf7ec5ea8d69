// runtime/concurrency.ts: the bounded map every layer runs its many small requests and file operations with.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { mapBounded } from '../../../runtime/concurrency.ts';

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
