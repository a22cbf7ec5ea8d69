// Alternating rounds: every contender once per round, the starting one rotating, warm-ups not recorded.
import test from 'ava';
import { roundOrder, runAlternately, type Contender } from '../../../bench/framework/rounds.ts';

test('the order rotates by one each round and wraps around', (t) => {
  t.deepEqual(roundOrder(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
  t.deepEqual(roundOrder(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
  t.deepEqual(roundOrder(['a', 'b', 'c'], 3), ['a', 'b', 'c']);
  t.deepEqual(roundOrder(['a', 'b'], -1), ['b', 'a'], 'warm-up rounds (negative) rotate too');
  t.deepEqual(roundOrder([], 2), []);
});

test('contenders alternate, warm-ups are run but not recorded, unknown metrics are dropped', async (t) => {
  const calls: string[] = [];
  const contender = (name: string, base: number): Contender => ({
    name, role: name === 'trellis' ? 'trellis' : 'peer', metrics: { time: 'ms' },
    run(round) {
      calls.push(`${name}@${round}`);
      return Promise.resolve({ time: base + round, stray: 1 });
    },
  });
  const after: string[] = [];
  const result = await runAlternately([contender('trellis', 100), contender('peer', 200)], {
    rounds: 3, warmup: 1, after: (c, round) => { after.push(`${c.name}@${round}`); return Promise.resolve(); },
  });
  t.deepEqual(calls, ['peer@-1', 'trellis@-1', 'trellis@0', 'peer@0', 'peer@1', 'trellis@1', 'trellis@2', 'peer@2']);
  t.deepEqual(after, calls, 'the after hook runs after every run, warm-ups included');
  t.deepEqual(result, [
    { metric: 'time', contender: 'trellis', role: 'trellis', unit: 'ms', samples: [100, 101, 102] },
    { metric: 'time', contender: 'peer', role: 'peer', unit: 'ms', samples: [200, 201, 202] },
  ]);
});

test('a failing contender fails the whole run (no partial figures pass as complete)', async (t) => {
  const bad: Contender = { name: 'bad', role: 'peer', metrics: { time: 'ms' }, run: () => Promise.reject(new Error('tool crashed')) };
  await t.throwsAsync(runAlternately([bad], { rounds: 2 }), { message: 'tool crashed' });
});
