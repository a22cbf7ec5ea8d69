// drift.ignore rules: matching, what is sent on apply, and drifted paths for warn messages.
import test from 'ava';
import {
  applyIgnoreRules, driftedPaths, ignoredPaths, InvalidIgnoreRuleError, isIgnored, ruleApplies, validateIgnoreRules,
  type IgnoreRule,
} from '../../../apply-controller/drift/index.ts';

const desired = {
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'main', image: 'nginx:1' }] } } },
};
const hpa: IgnoreRule = { paths: ['/spec/replicas'], target: { group: 'apps', kind: 'Deployment', name: 'web' } };

test('a rule applies when every field of its target matches; no target matches everything', (t) => {
  t.true(ruleApplies(hpa, desired));
  t.true(ruleApplies({ paths: ['/a'] }, desired));
  t.true(ruleApplies({ paths: ['/a'], target: { kind: 'Deployment', namespace: 'shop' } }, desired));
  t.false(ruleApplies({ paths: ['/a'], target: { kind: 'Deployment', name: 'api' } }, desired));
  t.false(ruleApplies({ paths: ['/a'], target: { group: '', kind: 'Deployment' } }, desired), 'the core group is not apps');
  t.false(ruleApplies({ paths: ['/a'], target: { namespace: 'other' } }, desired));
  t.deepEqual(ignoredPaths(desired, [hpa, { paths: ['/spec/replicas', '/metadata/labels'] }]), ['/spec/replicas', '/metadata/labels']);
});

test('applyIgnoreRules sends the live value of an ignored field, and leaves the input alone', (t) => {
  const live = structuredClone(desired);
  live.spec.replicas = 7;
  const sent = applyIgnoreRules(desired, live, [hpa]);
  t.is(sent.spec.replicas, 7);
  t.is(desired.spec.replicas, 2);
  t.is(sent.spec.template.spec.containers[0]?.image, 'nginx:1', 'other fields are as desired');
});

test('applyIgnoreRules keeps the desired value on creation and drops a field live does not have', (t) => {
  t.deepEqual(applyIgnoreRules(desired, undefined, [hpa]), desired);
  const live = structuredClone(desired);
  delete (live.spec as Partial<typeof live.spec>).replicas;
  t.false('replicas' in applyIgnoreRules(desired, live, [hpa]).spec);
});

test('applyIgnoreRules works inside arrays and ignores rules for other objects and absent paths', (t) => {
  const live = structuredClone(desired);
  live.spec.template.spec.containers[0]!.image = 'nginx:patched';
  const rule: IgnoreRule = { paths: ['/spec/template/spec/containers/0/image', '/spec/notThere'] };
  t.is(applyIgnoreRules(desired, live, [rule]).spec.template.spec.containers[0]?.image, 'nginx:patched');
  t.false('notThere' in applyIgnoreRules(desired, live, [rule]).spec, 'a path the package does not set is not added');
  t.is(applyIgnoreRules(desired, { ...live }, [{ paths: ['/spec/replicas'], target: { name: 'api' } }]).spec.replicas, 2);
});

test('driftedPaths lists fields desired sets that live has differently, minus ignored ones', (t) => {
  const live = structuredClone(desired) as typeof desired & { spec: Record<string, unknown>; status?: unknown };
  live.spec.replicas = 5;
  live.spec.template.spec.containers[0]!.image = 'nginx:2';
  live.spec.strategy = { type: 'RollingUpdate' };
  live.status = { ready: 1 };
  t.deepEqual(driftedPaths(desired, live, []), ['/spec/replicas', '/spec/template/spec/containers/0/image']);
  t.deepEqual(driftedPaths(desired, live, [hpa]), ['/spec/template/spec/containers/0/image']);
  t.deepEqual(driftedPaths(desired, live, [{ paths: ['/spec/template'] }, hpa]), [], 'a path ignores everything below it');
  t.deepEqual(driftedPaths(desired, undefined, []), [''], 'a missing object is drift of the whole object');
  const added = structuredClone(desired);
  added.spec.template.spec.containers.push({ name: 'sidecar', image: 'x' });
  t.deepEqual(driftedPaths(desired, added, []), ['/spec/template/spec/containers'], 'a list of another length drifted as a whole');
  const escaped = { ...desired, metadata: { ...desired.metadata, annotations: { 'a/b': '1' } } };
  t.deepEqual(driftedPaths(escaped, desired, []), ['/metadata/annotations']);
  const changed = { ...escaped, metadata: { ...escaped.metadata, annotations: { 'a/b': '2' } } };
  t.deepEqual(driftedPaths(escaped, changed, []), ['/metadata/annotations/a~1b']);
});

test('isIgnored matches whole tokens only', (t) => {
  t.true(isIgnored('/spec/replicas', ['/spec/replicas']));
  t.true(isIgnored('/spec/template/spec', ['/spec/template']));
  t.false(isIgnored('/spec/replicasExtra', ['/spec/replicas']));
  t.false(isIgnored('/spec', ['/spec/replicas']));
});

test('validateIgnoreRules refuses bad pointers, empty pointers and empty path lists', (t) => {
  t.notThrows(() => validateIgnoreRules([hpa, { paths: ['/metadata/annotations/a~1b'] }]));
  t.throws(() => validateIgnoreRules([{ paths: ['spec/replicas'] }]), { instanceOf: InvalidIgnoreRuleError, message: /drift\.ignore\[0\]/ });
  t.throws(() => validateIgnoreRules([hpa, { paths: ['/a~2'] }]), { instanceOf: InvalidIgnoreRuleError, message: /drift\.ignore\[1\]/ });
  t.throws(() => validateIgnoreRules([{ paths: [''] }]), { instanceOf: InvalidIgnoreRuleError });
  t.throws(() => validateIgnoreRules([{ paths: [] }]), { instanceOf: InvalidIgnoreRuleError });
});
