// The slow background verification's schedule (apply-controller/drift/verify.ts): which objects of a
// Package the next reconcile checks by dry run, and when.
import test from 'ava';
import { DEFAULT_VERIFY_INTERVAL_MS, VerificationSchedule } from '../../../apply-controller/drift/verify.ts';

const HOUR = 3_600_000;
const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `ns_cm-${i}__ConfigMap`);
/** The middle of the first batch's spread: exactly one interval. */
const middle = (): number => 0.5;

test('a revision is first checked about one interval after this process saw it applied', (t) => {
  const schedule = new VerificationSchedule(HOUR, 50, middle);
  const objects = ids(4);
  t.is(schedule.delay('ns/web'), undefined, 'nothing scheduled before the first reconcile');
  t.deepEqual([...schedule.take('ns/web', 1, objects, 0)], [], 'just applied: the apiserver answered for every object');
  t.is(schedule.delay('ns/web', 0), HOUR);
  t.deepEqual([...schedule.take('ns/web', 1, objects, HOUR - 1)], [], 'not due yet');
  t.deepEqual([...schedule.take('ns/web', 1, objects, HOUR)], objects, 'a small package is one batch');
  t.is(schedule.delay('ns/web', HOUR), HOUR, 'and then again an interval later');
  t.deepEqual([...schedule.take('ns/web', 1, objects, HOUR + 10)], [], 'a reconcile between batches checks nothing');
});

test('a large package is checked in batches spread evenly over the interval, round and round', (t) => {
  const schedule = new VerificationSchedule(HOUR, 50, middle);
  const objects = ids(120);
  schedule.take('ns/big', 3, objects, 0);
  const spacing = HOUR / 3;
  const first = schedule.take('ns/big', 3, objects, HOUR);
  t.deepEqual([...first], objects.slice(0, 50));
  t.is(schedule.delay('ns/big', HOUR), spacing);
  t.deepEqual([...schedule.take('ns/big', 3, objects, HOUR + spacing)], objects.slice(50, 100));
  t.deepEqual([...schedule.take('ns/big', 3, objects, HOUR + 2 * spacing)], objects.slice(100), 'the last batch is what is left');
  t.deepEqual([...schedule.take('ns/big', 3, objects, HOUR + 3 * spacing)], objects.slice(0, 50), 'then from the start again');
});

test('every object is checked once per interval, whatever the size', (t) => {
  for (const count of [1, 49, 50, 51, 5_000]) {
    const schedule = new VerificationSchedule(HOUR, 50, middle);
    const objects = ids(count);
    schedule.take('ns/p', 1, objects, 0);
    const seen = new Map<string, number>();
    let now = HOUR;
    while (now < 2 * HOUR) {
      for (const id of schedule.take('ns/p', 1, objects, now)) seen.set(id, (seen.get(id) ?? 0) + 1);
      now += schedule.delay('ns/p', now) ?? HOUR;
    }
    t.is(seen.size, count, `${count} objects: every one checked within the interval`);
    t.true([...seen.values()].every((n) => n === 1), `${count} objects: none twice`);
  }
});

test('a new revision starts over, and a package that shrank starts its round again', (t) => {
  const schedule = new VerificationSchedule(HOUR, 2, middle);
  schedule.take('ns/web', 1, ids(6), 0);
  schedule.take('ns/web', 1, ids(6), HOUR);
  t.deepEqual([...schedule.take('ns/web', 1, ids(6), 2 * HOUR)], ids(6).slice(2, 4));
  t.deepEqual([...schedule.take('ns/web', 2, ids(3), 2 * HOUR + 1)], [], 'revision 2 was just applied');
  t.is(schedule.delay('ns/web', 2 * HOUR + 1), HOUR);
  schedule.take('ns/web', 2, ids(3), 3 * HOUR + 1);
  t.deepEqual([...schedule.take('ns/web', 2, ids(1), 5 * HOUR)], ids(1), 'a cursor past the end starts from the first object');
});

test('an interval of 0 turns it off; forget drops a package', (t) => {
  const off = new VerificationSchedule(0);
  t.deepEqual([...off.take('ns/web', 1, ids(3), 0)], []);
  t.deepEqual([...off.take('ns/web', 1, ids(3), 10 * HOUR)], []);
  t.is(off.delay('ns/web', 0), undefined, 'no requeue for it');
  const on = new VerificationSchedule();
  t.is(on.intervalMs, DEFAULT_VERIFY_INTERVAL_MS);
  on.take('ns/web', 1, ids(3), 0);
  const first = on.delay('ns/web', 0) ?? -1;
  t.true(first >= DEFAULT_VERIFY_INTERVAL_MS / 2 && first < DEFAULT_VERIFY_INTERVAL_MS * 1.5, `first batch in ${first} ms`);
  on.take('ns/web', 1, ids(3), 0);
  on.forget('ns/web');
  t.is(on.delay('ns/web', 0), undefined);
  t.deepEqual([...on.take('ns/web', 1, [], 0)], [], 'a package without objects has nothing to check');
  t.throws(() => new VerificationSchedule(-1), { instanceOf: RangeError });
  t.throws(() => new VerificationSchedule(HOUR, 0), { instanceOf: RangeError });
});

test('the first batches of Packages reconciled in the same instant are spread over one interval, and stay spread', (t) => {
  // A restart (or one source's new revision) reconciles many Packages at once; their batches must not come due at once.
  const schedule = new VerificationSchedule(HOUR, 50);
  const keys = Array.from({ length: 1_000 }, (_, i) => `ns/p-${i}`);
  const objects = ids(4);
  for (const key of keys) schedule.take(key, 1, objects, 0);
  const firsts = keys.map((key) => schedule.delay(key, 0) ?? -1);
  t.true(firsts.every((d) => d >= HOUR / 2 && d < 1.5 * HOUR), 'between half an interval and one and a half');
  // Ten equal parts of that span: about a hundred first batches in each, never most of them in one.
  const tenths = Array.from({ length: 10 }, (_, k) => firsts.filter((d) => Math.floor((d - HOUR / 2) / (HOUR / 10)) === k).length);
  t.true(tenths.every((n) => n >= 50 && n <= 150), `first batches per tenth of the interval: ${tenths.join(', ')}`);
  // Each Package then keeps its own pace: the second batches are as spread as the first.
  const seconds = keys.map((key, i) => {
    const at = firsts[i] as number;
    schedule.take(key, 1, objects, at);
    return at + (schedule.delay(key, at) ?? -1);
  });
  t.deepEqual(seconds, firsts.map((d) => d + HOUR));
});

test('the spread is drawn per revision, within its bounds whatever the draw', (t) => {
  const draws = [0, 0.999_999, 2, -1];
  const schedule = new VerificationSchedule(HOUR, 50, () => draws.shift() ?? 0);
  schedule.take('ns/a', 1, ids(1), 0);
  t.is(schedule.delay('ns/a', 0), HOUR / 2, 'the earliest: half an interval');
  schedule.take('ns/a', 2, ids(1), 0);
  t.is(schedule.delay('ns/a', 0), Math.round(HOUR * 1.499_999), 'a new revision draws again');
  schedule.take('ns/b', 1, ids(1), 0);
  t.is(schedule.delay('ns/b', 0), 1.5 * HOUR, 'a draw past 1 is held to one and a half intervals');
  schedule.take('ns/c', 1, ids(1), 0);
  t.is(schedule.delay('ns/c', 0), HOUR / 2, 'a draw below 0 to half an interval');
});
