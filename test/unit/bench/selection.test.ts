// Choosing workloads and sizes from the command line: names, numbers, prefixes, comma lists; counts like 5k.
import test from 'ava';
import { parseCount, parseCountList, selectWorkloads, SelectionError } from '../../../bench/framework/selection.ts';

const all = [
  { name: 'cold-apply', number: 1 },
  { name: 'noop-reconcile', number: 2 },
  { name: 'drift', number: 3 },
  { name: 'commit-to-applied', number: 7 },
  { name: 'large-package', number: 8 },
];
const names = (ws: readonly { name: string }[]): string[] => ws.map((w) => w.name);

test('nothing requested is everything, in the known order', (t) => {
  t.deepEqual(names(selectWorkloads([], all)), names(all));
  t.deepEqual(names(selectWorkloads([' , '], all)), names(all), 'an empty list is nothing requested');
});

test('names, numbers and unambiguous prefixes select, comma lists split, order is the known one and repeats count once', (t) => {
  t.deepEqual(names(selectWorkloads(['drift,noop'], all)), ['noop-reconcile', 'drift']);
  t.deepEqual(names(selectWorkloads(['8', 'cold-apply', 'large'], all)), ['cold-apply', 'large-package']);
  t.deepEqual(names(selectWorkloads(['drift', ' drift '], all)), ['drift']);
});

test('an unknown or ambiguous name is refused with what it could be', (t) => {
  t.throws(() => selectWorkloads(['gitt'], all), { instanceOf: SelectionError, message: /no workload "gitt" \(there are: cold-apply, / });
  t.throws(() => selectWorkloads(['co'], all), { instanceOf: SelectionError, message: /"co" could be cold-apply or commit-to-applied/ });
  t.throws(() => selectWorkloads(['9'], all), { instanceOf: SelectionError });
});

test('counts take 5000, 5_000 and 5k; lists come back ascending and unique', (t) => {
  t.is(parseCount('5000'), 5000);
  t.is(parseCount('5_000'), 5000);
  t.is(parseCount('10K'), 10_000);
  t.deepEqual(parseCountList('5k, 1000,1000'), [1000, 5000]);
  for (const bad of ['0', '-3', '1.5', 'many', '', 'k']) t.throws(() => parseCount(bad), { instanceOf: SelectionError }, bad);
  t.throws(() => parseCountList(' , '), { instanceOf: SelectionError });
});
