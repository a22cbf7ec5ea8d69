// Cases of a workload: a refused or timed-out case is a missed result, a broken one undecided, and neither stops the others.
import test from 'ava';
import { combineCases, describeCaseRounds, errorSummary, runCase, type CaseOutcome } from '../../../bench/framework/cases.ts';
import { below, MissedError, NotRunError } from '../../../bench/framework/workload.ts';

const goals = [{ metric: 'cold apply 5,000', goal: '≥ 2× faster than kubectl' }, { metric: 'cold apply 5,000', goal: '≥ 0.8× the bare loop' }];
const quiet = (): void => undefined;

test('a case that measured returns its own outcome', async (t) => {
  const outcome: CaseOutcome = { measurements: [], goals: [below('m', '< 1 s', 10, 1000, String)], notes: ['n'] };
  t.is(await runCase('case', goals, () => Promise.resolve(outcome), quiet), outcome);
});

test('Trellis refusing or running out of time misses every goal of the case, with the reason', async (t) => {
  const r = await runCase('cold apply 5,000', goals, () => Promise.reject(new MissedError('refused: RevisionTooLarge\nmore')), quiet);
  t.deepEqual(r.measurements, []);
  t.deepEqual(r.goals.map((g) => [g.goal, g.met, g.detail]), [
    ['≥ 2× faster than kubectl', false, 'refused: RevisionTooLarge'],
    ['≥ 0.8× the bare loop', false, 'refused: RevisionTooLarge'],
  ]);
  t.deepEqual(r.notes, ['cold apply 5,000: missed: refused: RevisionTooLarge']);
});

test('a benchmark failure leaves the goals undecided instead of blaming Trellis', async (t) => {
  const r = await runCase('case', goals, () => Promise.reject(new Error('kubectl exited 1')), quiet);
  t.true(r.goals.every((g) => g.met === undefined && g.detail === 'not measured, the benchmark failed: kubectl exited 1'));
});

test('a missing prerequisite still ends the whole workload', async (t) => {
  await t.throwsAsync(runCase('case', goals, () => Promise.reject(new NotRunError('no kubectl')), quiet), { instanceOf: NotRunError });
});

test('cases combine in order, shared notes first; rounds describe each case', (t) => {
  const a: CaseOutcome = { measurements: [{ metric: 'a', contender: 'T', role: 'trellis', unit: 'ms', samples: [1] }], goals: [], notes: ['a'] };
  const b: CaseOutcome = { measurements: [], goals: [below('b', '< 1 s', undefined, 1000, String)], notes: ['b'] };
  const combined = combineCases([a, b], { notes: ['shared'], rounds: describeCaseRounds([{ label: 'at 1,000', rounds: 3 }, { label: 'at 5,000', rounds: 2 }]) });
  t.deepEqual(combined.notes, ['shared', 'a', 'b']);
  t.is(combined.measurements.length, 1);
  t.is(combined.goals[0]!.met, undefined);
  t.is(combined.rounds, '3 at 1,000, 2 at 5,000');
  t.false('rounds' in combineCases([a]));
  t.is(errorSummary('plain'), 'plain');
});
