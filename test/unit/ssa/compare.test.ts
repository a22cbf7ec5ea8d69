// Comparing live objects with dry-run results, and field-level changes as JSON pointers.
import test from 'ava';
import { comparable, fieldChanges, jsonEqual, wouldChange } from '../../../apply-controller/ssa/index.ts';

const live = {
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'web', namespace: 'ns', resourceVersion: '10', generation: 3, managedFields: [{ manager: 'trellis', time: 't1' }] },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'main', image: 'nginx:1' }] } } },
  status: { availableReplicas: 2 },
};

test('a dry run that only moved server-managed fields is no change', (t) => {
  const dryRun = structuredClone(live);
  dryRun.metadata.resourceVersion = '11';
  dryRun.metadata.generation = 4;
  dryRun.metadata.managedFields = [{ manager: 'trellis', time: 't2' }];
  dryRun.status.availableReplicas = 1;
  t.false(wouldChange(live, dryRun));
  t.false('status' in comparable(live));
  t.is(live.metadata.resourceVersion, '10', 'comparable copies, it does not modify');
});

test('a changed spec, label or annotation is a change', (t) => {
  const image = structuredClone(live);
  image.spec.template.spec.containers[0]!.image = 'nginx:2';
  t.true(wouldChange(live, image));
  const labelled = structuredClone(live) as typeof live & { metadata: { labels?: Record<string, string> } };
  labelled.metadata.labels = { a: 'b' };
  t.true(wouldChange(live, labelled));
});

test('jsonEqual ignores key order but not array order, types or missing keys', (t) => {
  t.true(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }));
  t.false(jsonEqual([1, 2], [2, 1]));
  t.false(jsonEqual({ a: 1 }, { a: '1' }));
  t.false(jsonEqual({ a: undefined }, {}));
  t.false(jsonEqual(null, {}));
});

test('fieldChanges lists added, removed and replaced leaves as escaped JSON pointers', (t) => {
  const from = { metadata: { annotations: { 'example.com/a': 'x', gone: 'y' } }, spec: { ports: [{ port: 80 }, { port: 81 }], list: [1] } };
  const to = { metadata: { annotations: { 'example.com/a': 'z', 'til~de': 'n' } }, spec: { ports: [{ port: 80 }, { port: 82 }], list: [1, 2] } };
  t.deepEqual(fieldChanges(from, to), [
    { path: '/metadata/annotations/example.com~1a', op: 'replace', from: 'x', to: 'z' },
    { path: '/metadata/annotations/gone', op: 'remove', from: 'y' },
    { path: '/metadata/annotations/til~0de', op: 'add', to: 'n' },
    { path: '/spec/list', op: 'replace', from: [1], to: [1, 2] },
    { path: '/spec/ports/1/port', op: 'replace', from: 81, to: 82 },
  ]);
  t.deepEqual(fieldChanges({ a: 1 }, { a: 1 }), []);
  t.deepEqual(fieldChanges(1, 'x'), [{ path: '', op: 'replace', from: 1, to: 'x' }]);
});
