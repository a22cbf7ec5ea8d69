// Rollback against the real apiserver (and the simulated node, which keeps
// Pods of images tagged `fail` unready): automatic rollback of an upgrade that
// never becomes healthy, held until the source moves or a reconcile is
// requested; a pin to an older revision with the artifact server stopped, and
// back; one record per distinct state, and historyLimit.
import anyTest from 'ava';
import { statusInventory, type Package, type PackageRevision } from '../../../apply-controller/api.ts';
import { listRevisions } from '../../../apply-controller/revisions/index.ts';
import { REQUESTED_AT_ANNOTATION } from '../../../runtime/predicates.ts';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, ArtifactPublisher, usePackageTestBed, conditionOf, configMap, createPackage, createSource, deployment, eventsAbout, getObject,
  isReadyAt, patchSpec, releasePackagesOnTeardown, runLabel, setArtifact, waitForPackage,
} from '../apply-controller/support.ts';

const test = withCluster(anyTest);
const label = runLabel();
const bed = usePackageTestBed(test, label);

type Data = { data?: Record<string, string> };
type Deploy = { metadata: { generation?: number }; spec?: { template?: { spec?: { containers?: { image?: string }[] } } } };

function imageOf(d: Deploy | undefined): string | undefined {
  return d?.spec?.template?.spec?.containers?.[0]?.image;
}

function phases(revs: readonly PackageRevision[]): string[] {
  return revs.map((r) => `${r.spec.revision}:${r.status?.phase ?? '-'}`);
}

test('an upgrade that never becomes healthy is rolled back to the previous objects and held', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);

  const v1 = await bed().publisher.publish(ns, 'src', {
    'config.yaml': [configMap('settings', { mode: 'one' }), configMap('kept', { by: 'v1' })],
    'web.yaml': [deployment('web', 'nginx:1.25')],
  });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'web', label, {
    sourceRef: { kind: 'OCIRepository', name: 'src' }, timeout: '5s', rollback: { onFailure: true },
  });
  await waitForPackage(client, ns, 'web', (p) => isReadyAt(p, v1.revision));

  // v2 changes one object, deletes one, adds one, and its Deployment never becomes ready.
  const v2 = await bed().publisher.publish(ns, 'src', {
    'config.yaml': [configMap('settings', { mode: 'two' }), configMap('added', { by: 'v2' })],
    'web.yaml': [deployment('web', 'nginx:fail')],
  });
  await setArtifact(client, ns, 'src', v2);
  // Rolled back and finished: the restore is healthy and what v2 added is pruned (then it stalls).
  const rolled = await waitForPackage(client, ns, 'web', (p) => conditionOf(p, 'RolledBack')?.status === 'True' && conditionOf(p, 'Stalled')?.status === 'True');

  t.is(((await getObject(client, 'v1', 'ConfigMap', ns, 'settings')) as Data | undefined)?.data?.mode, 'one', 'the changed object is restored');
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'kept'), 'the object v2 dropped is there');
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'added'), undefined, 'the object v2 added is removed');
  const web = await getObject<Deploy & { apiVersion: string; kind: string }>(client, 'apps/v1', 'Deployment', ns, 'web');
  t.is(imageOf(web), 'nginx:1.25');

  t.is(rolled.status?.currentRevision, 1);
  t.is(rolled.status?.lastAppliedRevision, v1.revision);
  t.is(rolled.status?.lastAttemptedRevision, v2.revision);
  t.deepEqual(statusInventory(rolled.status).map((e) => e.id).sort(), [`${ns}_kept__ConfigMap`, `${ns}_settings__ConfigMap`, `${ns}_web_apps_Deployment`]);
  const rolledBack = conditionOf(rolled, 'RolledBack');
  t.regex(rolledBack?.message ?? '', /revision 2 .*rolled back to revision 1/);
  t.is(conditionOf(rolled, 'Ready')?.status, 'False');
  t.is(conditionOf(rolled, 'Ready')?.reason, 'RolledBack');
  t.is(conditionOf(rolled, 'Stalled')?.status, 'True');
  t.is(conditionOf(rolled, 'HealthCheckFailed')?.reason, 'HealthCheckFailed');
  t.deepEqual(phases(await listRevisions(client, ns, 'web')), ['1:Available', '2:Failed']);
  const event = await eventually(async () => (await eventsAbout(client, ns, 'web')).find((e) => e.reason === 'RolledBack'));
  t.is(event.type, 'Warning');
  t.regex(event.note, /revision 2 .*revision 1/);

  // Held: a drift event reconciles the Package, the restored revision is corrected, and v2 is not tried again.
  const generation = web?.metadata.generation;
  await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'settings' }, { data: { mode: 'edited' } });
  await eventually(async () => ((await getObject(client, 'v1', 'ConfigMap', ns, 'settings')) as Data | undefined)?.data?.mode === 'one' || undefined);
  const held = await getObject<Deploy & { apiVersion: string; kind: string }>(client, 'apps/v1', 'Deployment', ns, 'web');
  t.is(held?.metadata.generation, generation, 'the failed revision was not applied again');
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'added'), undefined);

  // A requested reconcile tries v2 again: it fails again and is rolled back again.
  const requestedAt = new Date().toISOString();
  await client.patch({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'web' },
    { metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: requestedAt } } });
  const retried = await waitForPackage(client, ns, 'web', (p) => p.status?.lastHandledReconcileAt === requestedAt
    && conditionOf(p, 'RolledBack')?.status === 'True' && conditionOf(p, 'Stalled')?.status === 'True');
  const after = await getObject<Deploy & { apiVersion: string; kind: string }>(client, 'apps/v1', 'Deployment', ns, 'web');
  t.true((after?.metadata.generation ?? 0) > (generation ?? 0), 'the retry applied v2 again');
  t.is(imageOf(after), 'nginx:1.25');
  t.is(retried.status?.currentRevision, 1);
  t.deepEqual(phases(await listRevisions(client, ns, 'web')), ['1:Available', '2:Failed'], 'the retry reused revision 2');

  // The source moves on: the next revision applies and the rollback is over.
  const v3 = await bed().publisher.publish(ns, 'src', {
    'config.yaml': [configMap('settings', { mode: 'three' })],
    'web.yaml': [deployment('web', 'nginx:1.26')],
  });
  await setArtifact(client, ns, 'src', v3);
  const healed = await waitForPackage(client, ns, 'web', (p) => isReadyAt(p, v3.revision));
  t.is(conditionOf(healed, 'RolledBack'), undefined);
  t.is(healed.status?.currentRevision, 3);
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'kept'), undefined, 'v3 pruned what it does not hold');
  t.deepEqual(phases(await listRevisions(client, ns, 'web')), ['1:Superseded', '2:Failed', '3:Available']);
});

test('without rollback.onFailure a failed upgrade stays failed and keeps retrying', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const v1 = await bed().publisher.publish(ns, 'src', { 'web.yaml': [deployment('web', 'nginx:1.25')] });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'web', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, timeout: '3s' });
  await waitForPackage(client, ns, 'web', (p) => isReadyAt(p, v1.revision));
  const v2 = await bed().publisher.publish(ns, 'src', { 'web.yaml': [deployment('web', 'nginx:fail')] });
  await setArtifact(client, ns, 'src', v2);
  const failed = await waitForPackage(client, ns, 'web', (p) => conditionOf(p, 'HealthCheckFailed')?.status === 'True');
  t.is(conditionOf(failed, 'RolledBack'), undefined);
  t.is(imageOf(await getObject(client, 'apps/v1', 'Deployment', ns, 'web')), 'nginx:fail');
  t.is(failed.status?.currentRevision, 2);
});

test('a pin applies an older revision with the artifact server down, holds it while the source moves, and unpinning follows the source', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  // The first two revisions come from a server that is stopped before the pin.
  const doomed = await ArtifactPublisher.start();
  t.teardown(() => doomed.stop().catch(() => undefined));
  const v1 = await doomed.publish(ns, 'src', { 'config.yaml': [configMap('a', { v: '1' }), configMap('only-v1', { v: '1' })] });
  const v2 = await doomed.publish(ns, 'src', { 'config.yaml': [configMap('a', { v: '2' }), configMap('only-v2', { v: '2' })] });
  const v3 = await bed().publisher.publish(ns, 'src', { 'config.yaml': [configMap('a', { v: '3' })] });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'cfg', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, timeout: '5s' });
  await waitForPackage(client, ns, 'cfg', (p) => isReadyAt(p, v1.revision));
  await setArtifact(client, ns, 'src', v2);
  await waitForPackage(client, ns, 'cfg', (p) => isReadyAt(p, v2.revision));
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'only-v1'), undefined);
  await doomed.stop();

  await patchSpec(client, ns, 'cfg', { rollback: { revision: 1 } });
  const pinned = await waitForPackage(client, ns, 'cfg', (p) => isReadyAt(p) && p.status?.currentRevision === 1);
  t.is(conditionOf(pinned, 'Ready')?.reason, 'Pinned');
  t.regex(conditionOf(pinned, 'Ready')?.message ?? '', /^Pinned to revision 1 /);
  t.is(pinned.status?.lastAppliedRevision, v1.revision);
  t.is(((await getObject(client, 'v1', 'ConfigMap', ns, 'a')) as Data | undefined)?.data?.v, '1');
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'only-v1'), 'what revision 2 pruned is back');
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'only-v2'), undefined, 'what revision 2 added is gone');
  t.deepEqual(phases(await listRevisions(client, ns, 'cfg')), ['1:Available', '2:Superseded']);

  // The source moves on; a requested reconcile proves the controller looked, and the pin holds.
  await setArtifact(client, ns, 'src', v3);
  const requestedAt = new Date().toISOString();
  await client.patch({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'cfg' },
    { metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: requestedAt } } });
  const held = await waitForPackage(client, ns, 'cfg', (p) => p.status?.lastHandledReconcileAt === requestedAt);
  t.is(held.status?.currentRevision, 1);
  t.is(conditionOf(held, 'Ready')?.reason, 'Pinned');
  t.is(((await getObject(client, 'v1', 'ConfigMap', ns, 'a')) as Data | undefined)?.data?.v, '1');

  // A pin to a revision that does not exist stalls and changes nothing.
  await patchSpec(client, ns, 'cfg', { rollback: { revision: 9 } });
  const missing = await waitForPackage(client, ns, 'cfg', (p) => conditionOf(p, 'Stalled')?.reason === 'RevisionNotFound'
    && p.status?.observedGeneration === p.metadata.generation);
  t.regex(conditionOf(missing, 'Stalled')?.message ?? '', /no PackageRevision 9 \(revisions: 1, 2\)/);
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'only-v1'));

  await client.patch({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'cfg' }, { spec: { rollback: { revision: null } } });
  const following = await waitForPackage(client, ns, 'cfg', (p) => isReadyAt(p, v3.revision));
  t.is(following.status?.currentRevision, 3);
  t.is(((await getObject(client, 'v1', 'ConfigMap', ns, 'a')) as Data | undefined)?.data?.v, '3');
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'only-v1'), undefined);
  t.deepEqual(phases(await listRevisions(client, ns, 'cfg')), ['1:Superseded', '2:Superseded', '3:Available']);
});

test('one revision per distinct state, listed in order, and historyLimit collects the oldest', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const versions = [];
  for (const n of [1, 2, 3, 4]) versions.push(await bed().publisher.publish(ns, 'src', { 'c.yaml': [configMap('c', { n: String(n) })] }));
  const [v1, v2, v3, v4] = versions as [typeof versions[0], typeof versions[0], typeof versions[0], typeof versions[0]];
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'h', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, historyLimit: 3 });
  await waitForPackage(client, ns, 'h', (p) => isReadyAt(p, v1.revision));
  for (const v of [v2, v3]) {
    await setArtifact(client, ns, 'src', v);
    await waitForPackage(client, ns, 'h', (p) => isReadyAt(p, v.revision));
  }
  // The source goes back to v1: the state recorded as revision 1 is applied as revision 1 again.
  await setArtifact(client, ns, 'src', v1);
  const back = await waitForPackage(client, ns, 'h', (p: Package) => isReadyAt(p, v1.revision));
  t.is(back.status?.currentRevision, 1);
  t.deepEqual(phases(await listRevisions(client, ns, 'h')), ['1:Available', '2:Superseded', '3:Superseded']);

  await setArtifact(client, ns, 'src', v4);
  await waitForPackage(client, ns, 'h', (p) => isReadyAt(p, v4.revision));
  const history = await listRevisions(client, ns, 'h');
  t.deepEqual(phases(history), ['2:Superseded', '3:Superseded', '4:Available'], 'the oldest went; three are kept');
  t.deepEqual(history.map((r) => r.spec.source.revision), [v2.revision, v3.revision, v4.revision]);
  t.true(history.every((r) => r.metadata.ownerReferences?.[0]?.name === 'h' && r.metadata.labels?.['apply.trellis.dev/package'] === 'h'));
});
