// kstatus condition helpers on plain data.
import test from 'ava';
import {
  conditionsEqual, getCondition, isTrue, markFailed, markReady, markReconciling, markStalled, removeCondition,
  setCondition, type Condition,
} from '../../../runtime/conditions.ts';

const t0 = new Date('2026-01-01T00:00:00.000Z');
const t1 = new Date('2026-01-01T00:05:00.000Z');

test('setCondition adds a condition with the transition time', (t) => {
  const list = setCondition([], { type: 'Ready', status: 'False', reason: 'Failed', message: 'x' }, t0);
  t.deepEqual(list, [{ type: 'Ready', status: 'False', reason: 'Failed', message: 'x', lastTransitionTime: '2026-01-01T00:00:00Z' }]);
});

test('lastTransitionTime is kept while the status stays the same, and moves when it changes', (t) => {
  let list = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'first' }, t0);
  list = setCondition(list, { type: 'Ready', status: 'False', reason: 'B', message: 'second' }, t1);
  t.is(getCondition(list, 'Ready')?.lastTransitionTime, '2026-01-01T00:00:00Z');
  t.is(getCondition(list, 'Ready')?.reason, 'B', 'reason and message are updated anyway');
  list = setCondition(list, { type: 'Ready', status: 'True', reason: 'Succeeded', message: 'ok' }, t1);
  t.is(getCondition(list, 'Ready')?.lastTransitionTime, '2026-01-01T00:05:00Z');
});

test('setCondition does not mutate its input and keeps other conditions in place', (t) => {
  const input: Condition[] = [
    { type: 'Ready', status: 'True', reason: 'Succeeded', message: '', lastTransitionTime: 'x' },
    { type: 'FetchFailed', status: 'True', reason: 'X', message: '', lastTransitionTime: 'x' },
  ];
  const frozen = JSON.stringify(input);
  const out = setCondition(input, { type: 'Ready', status: 'False', reason: 'Y', message: 'm' }, t0);
  t.is(JSON.stringify(input), frozen);
  t.deepEqual(out.map((c) => c.type), ['Ready', 'FetchFailed']);
});

test('markReady clears Reconciling and Stalled', (t) => {
  let list = markStalled([], 'InvalidURL', 'bad url', 3, t0);
  list = markReconciling(list, 'working', 4, undefined, t0);
  list = markReady(list, 'applied revision 1.0.0', 4, undefined, t1);
  t.deepEqual(list.map((c) => c.type), ['Ready']);
  t.true(isTrue(list, 'Ready'));
  t.is(getCondition(list, 'Ready')?.observedGeneration, 4);
});

test('markStalled sets Stalled=True and Ready=False with the same reason, and removes Reconciling', (t) => {
  const list = markStalled(markReconciling([], 'working', 1), 'InvalidURL', 'bad url', 2, t0);
  t.true(isTrue(list, 'Stalled'));
  t.is(getCondition(list, 'Ready')?.status, 'False');
  t.is(getCondition(list, 'Ready')?.reason, 'InvalidURL');
  t.is(getCondition(list, 'Reconciling'), undefined);
});

test('markReconciling sets Ready=Unknown; markFailed sets Ready=False and keeps Reconciling for the retry', (t) => {
  const reconciling = markReconciling([], 'fetching', 1);
  t.is(getCondition(reconciling, 'Ready')?.status, 'Unknown');
  t.true(isTrue(reconciling, 'Reconciling'));
  const failed = markFailed(reconciling, 'FetchFailed', 'connection refused', 1);
  t.is(getCondition(failed, 'Ready')?.status, 'False');
  t.is(getCondition(failed, 'Reconciling')?.reason, 'ProgressingWithRetry');
});

test('messages are redacted and capped', (t) => {
  const list = setCondition([], {
    type: 'Ready', status: 'False', reason: 'FetchFailed',
    message: `clone https://bob:hunter2@git.example.com/repo.git failed ${'x'.repeat(10_000)}`,
  });
  const message = getCondition(list, 'Ready')?.message ?? '';
  t.false(message.includes('hunter2'));
  t.true(message.includes('git.example.com'));
  t.true(message.length <= 4096);
});

test('removeCondition and conditionsEqual', (t) => {
  const a = markReady([], 'ok', 1, undefined, t0);
  const b = markReady([], 'ok', 1, undefined, t0);
  t.true(conditionsEqual(a, b));
  t.false(conditionsEqual(a, markReady([], 'ok', 2, undefined, t0)), 'observedGeneration matters');
  t.false(conditionsEqual(a, removeCondition(a, 'Ready')));
  t.true(conditionsEqual(undefined, []));
});
