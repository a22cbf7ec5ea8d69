// The status a reconcile publishes: kstatus conditions per outcome, what is kept,
// and a merge patch that is empty when nothing changed.
import test from 'ava';
import { inventoryItem, parseInventoryItem, statusInventory, type PackageStatus } from '../../../apply-controller/api.ts';
import { PackageFailure } from '../../../apply-controller/reconcile/failure.ts';
import { persistedRolloutStart, readyForGeneration, summarizeStatus, rolloutStartStatus, rolloutUnderWay } from '../../../apply-controller/reconcile/status.ts';
import { EngineMemory } from '../../../apply-controller/reconcile/engine.ts';
import type { ManagedObjectCache } from '../../../apply-controller/cache/managed-objects.ts';
import { mergePatch } from '../../../runtime/merge-patch.ts';
import { getCondition } from '../../../runtime/conditions.ts';

const rev1 = `1.0.0@sha256:${'1'.repeat(64)}`;
const rev2 = `1.1.0@sha256:${'2'.repeat(64)}`;
const now = new Date('2026-01-01T00:00:00Z');
const later = new Date('2026-01-01T01:00:00Z');

const applied: PackageStatus = summarizeStatus({
  previous: undefined, generation: 1, now, outcome: { kind: 'ready', message: `Applied revision 1: ${rev1}` },
  attempted: { revision: rev1, valuesHash: `sha256:${'a'.repeat(64)}` }, appliedRevision: rev1, currentRevision: 1,
  inventory: [{ id: 'shop_cfg__ConfigMap', v: 'v1' }],
});

test('success: Ready=True, revisions, inventory and observedGeneration', (t) => {
  t.is(getCondition(applied.conditions, 'Ready')?.status, 'True');
  t.is(applied.lastAppliedRevision, rev1);
  t.is(applied.lastAttemptedRevision, rev1);
  t.is(applied.currentRevision, 1);
  t.is(applied.observedGeneration, 1);
  t.true(readyForGeneration(applied, 1));
  t.false(readyForGeneration(applied, 2));
});

test('the inventory is written as one `<id> <version>` string per object, replacing the older list of objects', (t) => {
  t.deepEqual(applied.objects, ['shop_cfg__ConfigMap v1']);
  t.is(applied.inventory, undefined);
  // A status last written by an earlier controller holds `inventory`; the next write that sets the inventory removes it.
  const old: PackageStatus = { currentRevision: 1, inventory: [{ id: 'shop_cfg__ConfigMap', v: 'v1' }, { id: 'shop_web_apps_Deployment', v: 'v1' }] };
  t.deepEqual(statusInventory(old), [{ id: 'shop_cfg__ConfigMap', v: 'v1' }, { id: 'shop_web_apps_Deployment', v: 'v1' }]);
  const next = summarizeStatus({
    previous: old, generation: 2, now, outcome: { kind: 'ready', message: 'ok' }, inventory: [{ id: 'shop_web_apps_Deployment', v: 'v1' }],
  });
  t.deepEqual(mergePatch(old, next), {
    conditions: next.conditions, observedGeneration: 2, objects: ['shop_web_apps_Deployment v1'], inventory: null,
  });
  t.deepEqual(statusInventory(next), [{ id: 'shop_web_apps_Deployment', v: 'v1' }]);
  // An outcome that does not know the inventory (a failure before the apply) leaves either shape as it was.
  const failed = summarizeStatus({ previous: old, generation: 2, now, outcome: { kind: 'failed', failure: new PackageFailure('ArtifactFailed', 'X', 'x', 'retry') } });
  t.deepEqual(statusInventory(failed), statusInventory(old));
});

test('statusInventory prefers `objects` and splits each item at its last space', (t) => {
  t.deepEqual(statusInventory(undefined), []);
  t.deepEqual(statusInventory({ objects: [], inventory: [{ id: 'shop_old__ConfigMap', v: 'v1' }] }), []);
  t.deepEqual(statusInventory({ objects: ['_system:auth_rbac.authorization.k8s.io_ClusterRole v1', 'shop_gadget_example.com_Gadget v1beta1'] }), [
    { id: '_system:auth_rbac.authorization.k8s.io_ClusterRole', v: 'v1' }, { id: 'shop_gadget_example.com_Gadget', v: 'v1beta1' },
  ]);
  t.is(inventoryItem({ id: 'shop_cfg__ConfigMap', v: 'v1' }), 'shop_cfg__ConfigMap v1');
  t.deepEqual(parseInventoryItem(inventoryItem({ id: 'shop_a_b__ConfigMap', v: 'v1' })), { id: 'shop_a_b__ConfigMap', v: 'v1' });
});

test('the same outcome again changes nothing, so nothing is patched', (t) => {
  const again = summarizeStatus({
    previous: applied, generation: 1, now: later, outcome: { kind: 'ready', message: `Applied revision 1: ${rev1}` },
    attempted: { revision: rev1, valuesHash: `sha256:${'a'.repeat(64)}` }, appliedRevision: rev1, currentRevision: 1,
    inventory: [{ id: 'shop_cfg__ConfigMap', v: 'v1' }],
  });
  t.is(mergePatch(applied, again), undefined);
});

test('a failed upgrade keeps lastAppliedRevision and sets its condition; a stall marks Stalled', (t) => {
  const health = new PackageFailure('HealthCheckFailed', 'HealthCheckFailed', 'Deployment/shop/web (InProgress): 0/1 available', 'retry');
  const failed = summarizeStatus({ previous: applied, generation: 2, now: later, outcome: { kind: 'failed', failure: health }, attempted: { revision: rev2 } });
  t.is(failed.lastAppliedRevision, rev1, 'status never claims more than happened');
  t.is(failed.lastAttemptedRevision, rev2);
  t.is(getCondition(failed.conditions, 'HealthCheckFailed')?.status, 'True');
  t.is(getCondition(failed.conditions, 'Ready')?.status, 'False');
  t.is(getCondition(failed.conditions, 'Reconciling')?.reason, 'ProgressingWithRetry');
  t.is(getCondition(failed.conditions, 'Stalled'), undefined);

  const bad = new PackageFailure('ArtifactFailed', 'InvalidYAML', 'manifests/a.yaml: line 1, column 2: oops', 'stall');
  const stalled = summarizeStatus({ previous: failed, generation: 2, now: later, outcome: { kind: 'failed', failure: bad } });
  t.is(getCondition(stalled.conditions, 'Stalled')?.reason, 'InvalidYAML');
  t.is(getCondition(stalled.conditions, 'ArtifactFailed')?.message, 'manifests/a.yaml: line 1, column 2: oops');
  t.is(getCondition(stalled.conditions, 'HealthCheckFailed'), undefined, 'only the failure that ended this reconcile is reported');
  t.is(getCondition(stalled.conditions, 'Reconciling'), undefined);

  const healed = summarizeStatus({ previous: stalled, generation: 2, now: later, outcome: { kind: 'ready', message: 'ok' }, appliedRevision: rev2 });
  t.deepEqual(healed.conditions?.map((c) => c.type), ['Ready']);
});

test('waiting on a dependency: Ready=False with the reason, no failure condition', (t) => {
  const dep = new PackageFailure(undefined, 'DependencyNotReady', 'waiting for dependency shop/base: it is not Ready', 'dependency');
  const waiting = summarizeStatus({ previous: undefined, generation: 1, now, outcome: { kind: 'failed', failure: dep } });
  t.is(getCondition(waiting.conditions, 'Ready')?.reason, 'DependencyNotReady');
  t.is(getCondition(waiting.conditions, 'Reconciling')?.status, 'True');
  t.is(waiting.lastAttemptedRevision, undefined);
});

test('DriftDetected is set, kept by outcomes that did not look, and removed when clean', (t) => {
  const warned = summarizeStatus({ previous: applied, generation: 1, now, outcome: { kind: 'ready', message: 'ok' }, drift: '1 object drifted: ConfigMap/shop/cfg (/data/a)' });
  t.is(getCondition(warned.conditions, 'DriftDetected')?.status, 'True');
  const dep = new PackageFailure(undefined, 'DependencyNotReady', 'waiting', 'dependency');
  const kept = summarizeStatus({ previous: warned, generation: 1, now, outcome: { kind: 'failed', failure: dep } });
  t.truthy(getCondition(kept.conditions, 'DriftDetected'));
  const clean = summarizeStatus({ previous: warned, generation: 1, now, outcome: { kind: 'ready', message: 'ok' }, drift: null });
  t.is(getCondition(clean.conditions, 'DriftDetected'), undefined);
});

test('the reconcile-request annotation is echoed as lastHandledReconcileAt', (t) => {
  const s = summarizeStatus({ previous: applied, generation: 1, now, outcome: { kind: 'ready', message: 'ok' }, requestedAt: 'now-1' });
  t.is(s.lastHandledReconcileAt, 'now-1');
  t.deepEqual(mergePatch(applied, { ...applied, lastHandledReconcileAt: 'now-1' }), { lastHandledReconcileAt: 'now-1' });
});

test('mergePatch: changed fields, null for removed ones, arrays whole', (t) => {
  t.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 }, e: [1, 2] }, { a: 1, b: { c: 2 }, e: [1], f: 'x' }), { b: { d: null }, e: [1], f: 'x' });
  t.is(mergePatch({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }), undefined);
});

test('a rollout already under way is not announced again; another revision, source or generation is', (t) => {
  const source = `1.0.0@sha256:${'a'.repeat(64)}`;
  const started = rolloutStartStatus(undefined, 3, 2, source);
  t.true(rolloutUnderWay(started, 3, 2, source));
  const waiting = summarizeStatus({
    previous: started, generation: 3,
    outcome: { kind: 'progressing', message: `Applying revision 2: ${source}; waiting for 1 object(s) of phase default to become healthy: x`, recheckAfterMs: 1000 },
  });
  t.true(rolloutUnderWay(waiting, 3, 2, source), 'waiting for health is still the same rollout');
  t.false(rolloutUnderWay(waiting, 4, 2, source), 'a new generation');
  t.false(rolloutUnderWay(waiting, 3, 3, source), 'another revision');
  t.false(rolloutUnderWay(undefined, 3, 2, source));
});

test('a rollout\'s start survives a restart: read from the status when the process does not remember it', (t) => {
  const ready: PackageStatus = summarizeStatus({ previous: undefined, generation: 1, outcome: { kind: 'ready', message: 'Applied revision 1' }, now: new Date('2026-01-01T00:00:00Z') });
  const started = rolloutStartStatus(ready, 2, 2, `1.1.0@sha256:${'a'.repeat(64)}`, new Date('2026-01-01T00:10:00Z'));
  const at = Date.parse('2026-01-01T00:10:00Z');
  t.is(persistedRolloutStart(started, 2), at);
  // Still waiting later: Ready stays Unknown, so its time stays the start.
  const waiting = summarizeStatus({ previous: started, generation: 2,
    outcome: { kind: 'progressing', message: 'Applying revision 2: x; waiting for 1 object(s)', recheckAfterMs: 1000 }, now: new Date('2026-01-01T00:12:00Z') });
  t.is(persistedRolloutStart(waiting, 2), at);
  t.is(persistedRolloutStart(waiting, 3), undefined, 'another revision\'s rollout');
  t.is(persistedRolloutStart(ready, 1), undefined, 'nothing under way');
  t.is(persistedRolloutStart(rolloutStartStatus(ready, 2, 12, 'x'), 1), undefined, 'revision 12 is not revision 1');

  const memory = new EngineMemory({} as ManagedObjectCache);
  const now = at + 300_000;
  t.is(memory.rolloutStart('team/web', 2, persistedRolloutStart(waiting, 2), now), at, 'after a restart the deadline counts from the status');
  t.is(memory.rolloutStart('team/web', 2, undefined, now + 1), at, 'then from memory');
  t.is(memory.rolloutStart('team/web', 3, undefined, now + 2), now + 2, 'a new revision starts now');
  t.is(memory.rolloutStart('team/other', 1, now + 60_000, now), now, 'a start in the future is not believed');
});
