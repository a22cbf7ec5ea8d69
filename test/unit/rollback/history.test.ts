// The pure parts of history and rollback: which revisions historyLimit
// collects, when a rolled-back source revision is held back, what the status
// says after a rollback and at the start of a rollout, and a revision's own
// objects read back for re-applying.
import test from 'ava';
import type { Package, PackageRevision, PackageRevisionPhase, PackageStatus } from '../../../apply-controller/api.ts';
import { PackageFailure, RolledBackFailure } from '../../../apply-controller/reconcile/failure.ts';
import { rolloutStartStatus, summarizeStatus } from '../../../apply-controller/reconcile/status.ts';
import { CONTENT_HASH_ANNOTATION } from '../../../apply-controller/revisions/labels.ts';
import { newestAvailable, unfinishedInventory } from '../../../apply-controller/revisions/history.ts';
import { heldFailure, holdsAfterRollback, rolledBackMessage } from '../../../apply-controller/rollback/automatic.ts';
import { revisionsToCollect } from '../../../apply-controller/rollback/gc.ts';
import { describeRevision, recordedInventory, recordedPhases } from '../../../apply-controller/rollback/recorded.ts';
import { getCondition } from '../../../runtime/conditions.ts';
import { REQUESTED_AT_ANNOTATION } from '../../../runtime/predicates.ts';
import { signedRevision, testKeys } from '../revisions/support.ts';

const src = (n: number): string => `1.0.${n}@sha256:${String(n).repeat(64).slice(0, 64)}`;

function rev(n: number, phase?: PackageRevisionPhase, objects: object[] = []): PackageRevision {
  return signedRevision({
    revision: n, phases: [{ name: 'default', objects: objects as never }], ...(phase ? { phase } : {}),
    source: { kind: 'OCIRepository', name: 'src', namespace: 'shop', revision: src(n), digest: `sha256:${'d'.repeat(64)}` },
  });
}

const keys = testKeys();

const numbers = (revs: readonly PackageRevision[]): number[] => revs.map((r) => r.spec.revision);

test('historyLimit collects the oldest first, down to the limit', (t) => {
  const revs = [rev(1, 'Superseded'), rev(2, 'Superseded'), rev(3, 'Superseded'), rev(4, 'Available')];
  t.deepEqual(numbers(revisionsToCollect(revs, 2, 4)), [1, 2]);
  t.deepEqual(numbers(revisionsToCollect(revs, 4, 4)), []);
  t.deepEqual(numbers(revisionsToCollect(revs, 10, 4)), []);
});

test('historyLimit never collects the current revision nor the newest Available one', (t) => {
  // Pinned to 1 (current); 3 is the newest Available; 4 failed.
  const revs = [rev(1, 'Available'), rev(2, 'Superseded'), rev(3, 'Available'), rev(4, 'Failed')];
  t.deepEqual(numbers(revisionsToCollect(revs, 1, 1)), [2, 4]);
  // A limit of 1 with the current and the newest Available being different keeps both.
  t.deepEqual(numbers(revisionsToCollect([rev(1, 'Available'), rev(2, 'Failed')], 1, 2)), []);
});

test('historyLimit keeps a newer revision that never finished (a rollout in flight or cut short)', (t) => {
  const revs = [rev(1, 'Superseded'), rev(2, 'Available'), rev(3)];
  t.deepEqual(numbers(revisionsToCollect(revs, 1, 2)), [1]);
});

test('newestAvailable skips the failed one and Superseded ones', (t) => {
  const revs = [rev(1, 'Superseded'), rev(2, 'Available'), rev(3, 'Failed')];
  t.is(newestAvailable(revs, 3)?.spec.revision, 2);
  t.is(newestAvailable(revs, 2), undefined);
  t.is(newestAvailable([]), undefined);
});

const cm = (name: string): object => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'shop' }, data: { a: '1' } });

// Inline revisions never ask the apiserver: a client that fails on any call proves it.
const noClient = { get: () => Promise.reject(new Error('an inline revision was read through the client')) };

test('a revision\'s recorded objects read back as bundle objects with their inventory', async (t) => {
  const r = rev(2, 'Available', [cm('one'), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' } }]);
  const phases = await recordedPhases(noClient, r, keys);
  t.deepEqual(phases.map((p) => p.name), ['default']);
  t.deepEqual(phases[0]?.objects.map((o) => o.id), ['shop_one__ConfigMap', 'shop_web_apps_Deployment']);
  t.deepEqual(recordedInventory(phases), [{ id: 'shop_one__ConfigMap', v: 'v1' }, { id: 'shop_web_apps_Deployment', v: 'v1' }]);
  t.is(describeRevision(r), `2 (1.0.2@sha256:${'2'.repeat(12)})`);
});

test('unfinishedInventory counts only newer revisions without a phase', async (t) => {
  const revs = [rev(1, 'Available', [cm('old')]), rev(2, undefined, [cm('half')]), rev(3, 'Failed', [cm('failed')])];
  t.deepEqual((await unfinishedInventory(noClient, revs, 1, keys)).map((e) => e.id), ['shop_half__ConfigMap']);
  t.deepEqual(await unfinishedInventory(noClient, revs, 2, keys), []);
  t.deepEqual((await unfinishedInventory(noClient, revs, undefined, keys)).map((e) => e.id), ['shop_half__ConfigMap']);
});

test('unfinishedInventory skips a record that does not verify', async (t) => {
  const forged = rev(2, undefined, [cm('half')]);
  forged.metadata.annotations = { ...forged.metadata.annotations, [CONTENT_HASH_ANNOTATION]: `sha256:${'0'.repeat(64)}` };
  t.deepEqual(await unfinishedInventory(noClient, [forged], 1, keys), []);
  // Recorded for another Package (another uid): not counted either.
  t.deepEqual(await unfinishedInventory(noClient, [rev(2, undefined, [cm('half')])], 1, keys, { packageUid: 'uid-2' }), []);
});

const health = new PackageFailure('HealthCheckFailed', 'HealthCheckFailed', 'Deployment/shop/web (InProgress): 0/1 available', 'retry');
const rolledBackFailure = new RolledBackFailure(health, 2, 1, rolledBackMessage(rev(2, 'Failed'), health, rev(1, 'Available')));

function rolledBackPackage(extra: { generation?: number; requestedAt?: string; handled?: string } = {}): Package {
  const status: PackageStatus = {
    ...summarizeStatus({
      previous: undefined, generation: 1, outcome: { kind: 'failed', failure: rolledBackFailure },
      attempted: { revision: src(2), valuesHash: `sha256:${'a'.repeat(64)}` }, currentRevision: 1, appliedRevision: src(1),
    }),
    ...(extra.handled ? { lastHandledReconcileAt: extra.handled } : {}),
  };
  return {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package',
    metadata: {
      name: 'web', namespace: 'shop', generation: extra.generation ?? 1,
      ...(extra.requestedAt ? { annotations: { [REQUESTED_AT_ANNOTATION]: extra.requestedAt } } : {}),
    },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'src' } } as Package['spec'],
    status,
  };
}

test('after a rollback the status says RolledBack, Stalled and keeps the failure\'s own reason', (t) => {
  const status = rolledBackPackage().status;
  t.is(getCondition(status?.conditions, 'RolledBack')?.status, 'True');
  t.is(getCondition(status?.conditions, 'Ready')?.reason, 'RolledBack');
  t.is(getCondition(status?.conditions, 'Stalled')?.status, 'True');
  t.is(getCondition(status?.conditions, 'HealthCheckFailed')?.reason, 'HealthCheckFailed');
  t.is(getCondition(status?.conditions, 'HealthCheckFailed')?.message, health.message);
  t.is(status?.currentRevision, 1);
  // Any ready outcome ends it.
  const ready = summarizeStatus({ previous: status, generation: 1, outcome: { kind: 'ready', message: 'Applied revision 3' } });
  t.is(getCondition(ready.conditions, 'RolledBack'), undefined);
  // Another kind of failure (the source could not be fetched) leaves it: the cluster still runs the restored revision.
  const fetch = new PackageFailure('ArtifactFailed', 'DownloadFailed', 'connection refused', 'backoff');
  const stillRolledBack = summarizeStatus({ previous: status, generation: 1, outcome: { kind: 'failed', failure: fetch } });
  t.is(getCondition(stillRolledBack.conditions, 'RolledBack')?.status, 'True');
});

test('the rolled-back source revision is held until the source, the values, the spec or a request changes', (t) => {
  const failed = rev(2, 'Failed');
  const values = `sha256:${'a'.repeat(64)}`;
  t.true(holdsAfterRollback(rolledBackPackage(), failed, src(2), values));
  t.false(holdsAfterRollback(rolledBackPackage(), failed, src(3), values), 'the source moved');
  t.false(holdsAfterRollback(rolledBackPackage(), failed, src(2), `sha256:${'b'.repeat(64)}`), 'the values changed');
  t.false(holdsAfterRollback(rolledBackPackage({ generation: 2 }), failed, src(2), values), 'the spec changed');
  t.false(holdsAfterRollback(rolledBackPackage({ requestedAt: 'now' }), failed, src(2), values), 'a reconcile was requested');
  t.true(holdsAfterRollback(rolledBackPackage({ requestedAt: 'then', handled: 'then' }), failed, src(2), values), 'an old request was handled');
  t.false(holdsAfterRollback(rolledBackPackage(), rev(2, 'Available'), src(2), values), 'the candidate did not fail');
});

test('a held reconcile ends with exactly the same status', (t) => {
  const pkg = rolledBackPackage();
  const failed = rev(2, 'Failed');
  failed.status = { phase: 'Failed', message: health.message, conditions: [{
    type: 'HealthCheckFailed', status: 'True', reason: 'HealthCheckFailed', message: health.message, lastTransitionTime: '2026-01-01T00:00:00Z',
  }] };
  const again = summarizeStatus({ previous: pkg.status, generation: 1, outcome: { kind: 'failed', failure: heldFailure(failed, rev(1, 'Available')) } });
  t.deepEqual(again, pkg.status);
});

test('a rollback whose restore is not healthy yet says what it waits for, is not stalled, and ends as the plain rollback', (t) => {
  const failed = rev(2, 'Failed');
  failed.status = { phase: 'Failed', message: health.message, conditions: [{
    type: 'HealthCheckFailed', status: 'True', reason: 'HealthCheckFailed', message: health.message, lastTransitionTime: '2026-01-01T00:00:00Z',
  }] };
  const pending = { phase: 'default', unhealthy: [{ id: 'apps/Deployment/shop/web', subject: 'Deployment/shop/web', status: 'InProgress' as const, message: '0 of 1 available' }] };
  const restoring = heldFailure(failed, rev(1, 'Available'), { pending, startedAt: Date.now(), timeoutMs: 60_000 });
  t.truthy(restoring.restoring);
  t.true(restoring.restoring!.recheckAfterMs <= 10_000, 'looked at again soon, without a worker');
  const status = summarizeStatus({ previous: undefined, generation: 1, outcome: { kind: 'failed', failure: restoring } });
  t.is(getCondition(status.conditions, 'Ready')?.reason, 'RolledBack');
  t.regex(getCondition(status.conditions, 'RolledBack')?.message ?? '', /rolled back to revision 1 .*; restoring revision 1; waiting for 1 object\(s\) of phase default to become healthy: Deployment\/shop\/web: 0 of 1 available/);
  t.not(getCondition(status.conditions, 'Stalled')?.status, 'True', 'not stalled while the restore becomes healthy');
  t.true(getCondition(status.conditions, 'RolledBack')?.message.startsWith(restoring.rollbackMessage));
  const done = heldFailure(failed, rev(1, 'Available'));
  t.is(done.message, restoring.rollbackMessage);
  t.is(done.retry, 'stall');
});

test('the rollout-start status says what is being applied and claims nothing more', (t) => {
  const before: PackageStatus = summarizeStatus({
    previous: undefined, generation: 1, outcome: { kind: 'ready', message: 'Applied revision 1' },
    attempted: { revision: src(1) }, appliedRevision: src(1), currentRevision: 1, inventory: [{ id: 'shop_a__ConfigMap', v: 'v1' }],
  });
  const started = rolloutStartStatus(before, 2, 2, src(2));
  t.is(getCondition(started.conditions, 'Reconciling')?.status, 'True');
  t.is(getCondition(started.conditions, 'Ready')?.status, 'Unknown');
  t.is(getCondition(started.conditions, 'Ready')?.message, `Applying revision 2: ${src(2)}`);
  t.is(started.lastAttemptedRevision, src(2));
  t.is(started.lastAppliedRevision, src(1));
  t.is(started.currentRevision, 1);
  t.deepEqual(started.objects, before.objects);
  // A pin names no source revision: lastAttemptedRevision stays.
  t.is(rolloutStartStatus(before, 2, 1, `${src(1)} (pinned)`).lastAttemptedRevision, src(1));
});
