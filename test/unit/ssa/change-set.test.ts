// ChangeSet: counts and the one-line summary events and conditions use.
import test from 'ava';
import { ChangeSet, type ChangeAction } from '../../../apply-controller/ssa/index.ts';

const entry = (n: number, action: ChangeAction) => ({ id: `ns_o${n}__ConfigMap`, subject: `ConfigMap/ns/o${n}`, action });

test('summary counts by action in a fixed order and leaves zero counts out', (t) => {
  const cs = new ChangeSet([entry(1, 'unchanged'), entry(2, 'configured'), entry(3, 'created'), entry(4, 'created'), entry(5, 'created')]);
  t.is(cs.summary(), '3 created, 1 configured, 1 unchanged');
  t.is(cs.count('created'), 3);
  t.is(cs.count('deleted'), 0);
  t.true(cs.changed);
});

test('summary words can be renamed (a prune says pruned) and an empty set says so', (t) => {
  const prune = new ChangeSet([entry(1, 'deleted'), entry(2, 'deleted'), entry(3, 'skipped')]);
  t.is(prune.summary({ deleted: 'pruned' }), '2 pruned, 1 skipped');
  t.is(prune.summary(), '2 deleted, 1 skipped');
  t.is(new ChangeSet().summary(), 'no objects');
});

test('unchanged and skipped entries are not changes; append keeps order; JSON is the entries', (t) => {
  const a = new ChangeSet([entry(1, 'unchanged'), entry(2, 'skipped')]);
  t.false(a.changed);
  const b = new ChangeSet([entry(3, 'recreated')]);
  a.append(b);
  t.deepEqual(a.entries.map((e) => e.action), ['unchanged', 'skipped', 'recreated']);
  t.true(a.changed);
  t.deepEqual(JSON.parse(JSON.stringify(a)), a.entries);
  t.deepEqual(a.withAction('recreated'), [entry(3, 'recreated')]);
});
