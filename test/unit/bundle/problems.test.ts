// The error records and their one-line summary for a condition message.
import test from 'ava';
import { BundleValidationError, problem, summarizeProblems } from '../../../apply-controller/bundle/problems.ts';

test('problem() prefixes the message with file, document, position and object', (t) => {
  t.deepEqual(problem('InvalidYAML', 'Map keys must be unique', { file: 'm/a.yaml', line: 4, column: 3 }), {
    reason: 'InvalidYAML', message: 'm/a.yaml: line 4, column 3: Map keys must be unique', file: 'm/a.yaml', line: 4, column: 3,
  });
  t.deepEqual(problem('OwnerReferencesSet', 'x', { source: { file: 'm/a.yaml', document: 2, item: 0 }, object: { kind: 'ConfigMap', name: 'c', namespace: 'n' } }), {
    reason: 'OwnerReferencesSet', message: 'm/a.yaml (document 3, List item 1): ConfigMap n/c: x', file: 'm/a.yaml',
    object: { kind: 'ConfigMap', name: 'c', namespace: 'n' },
  });
  t.deepEqual(problem('InvalidValues', 'values/a must be integer'), { reason: 'InvalidValues', message: 'values/a must be integer' });
});

test('summarizeProblems shows the first few and counts the rest', (t) => {
  const list = ['a', 'b', 'c'].map((m) => problem('MissingKind', m));
  t.is(summarizeProblems(list), 'a; b; c');
  t.is(summarizeProblems(list, 2), 'a; b; and 1 more');
});

test('BundleValidationError carries every error and the first reason', (t) => {
  const err = new BundleValidationError([problem('UndeclaredPhase', 'p'), problem('MissingKind', 'k')]);
  t.true(err instanceof Error);
  t.is(err.name, 'BundleValidationError');
  t.is(err.reason, 'UndeclaredPhase');
  t.is(err.errors.length, 2);
  t.is(err.message, 'p; k');
  t.throws(() => new BundleValidationError([]), { instanceOf: RangeError });
});
