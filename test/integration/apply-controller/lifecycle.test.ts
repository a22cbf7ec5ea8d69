// A Package's life against the real apiserver: install, upgrade with prune,
// uninstall through the finalizer, and the PackageRevisions it leaves behind.
import anyTest from 'ava';
import { statusInventory, type PackageRevision } from '../../../apply-controller/api.ts';
import { listRevisions, readRevisionPhases } from '../../../apply-controller/revisions/index.ts';
import { PACKAGE_NAME_LABEL, PACKAGE_NAMESPACE_LABEL } from '../../../apply-controller/ssa/options.ts';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, usePackageTestBed, configMap, createPackage, createSource, deployment, eventsAbout, getObject, getPackage, isReadyAt,
  patchSpec, releasePackagesOnTeardown, runLabel, setArtifact, waitForPackage,
} from './support.ts';

const test = withCluster(anyTest);
const label = runLabel();
const bed = usePackageTestBed(test, label);

test('install, upgrade with prune, and uninstall a plain bundle', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);

  const v1 = await bed().publisher.publish(ns, 'src', {
    'app/config.yaml': [configMap('settings', { mode: 'one' }), configMap('extra', { keep: 'no' })],
    'app/web.yaml': [deployment('web')],
  });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'web', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, path: 'app' });
  const installed = await waitForPackage(client, ns, 'web', (p) => isReadyAt(p, v1.revision));

  const settings = await getObject(client, 'v1', 'ConfigMap', ns, 'settings');
  t.is((settings as { data?: Record<string, string> } | undefined)?.data?.mode, 'one');
  t.is(settings?.metadata?.labels?.[PACKAGE_NAME_LABEL], 'web');
  t.is(settings?.metadata?.labels?.[PACKAGE_NAMESPACE_LABEL], ns);
  t.truthy(await getObject(client, 'apps/v1', 'Deployment', ns, 'web'));
  // The inventory is one `<id> <version>` string per object, in apply order (ConfigMaps before Deployments).
  t.deepEqual(installed.status?.objects, [`${ns}_settings__ConfigMap v1`, `${ns}_extra__ConfigMap v1`, `${ns}_web_apps_Deployment v1`]);
  t.is(installed.status?.inventory, undefined);
  t.is(installed.status?.currentRevision, 1);
  t.is(installed.status?.lastAttemptedRevision, v1.revision);
  t.truthy(installed.metadata.finalizers?.includes('apply.trellis.dev/finalizer'));
  const events = await eventually(async () => {
    const found = await eventsAbout(client, ns, 'web');
    return found.some((e) => e.reason === 'Applied') ? found : undefined;
  });
  t.true(events.some((e) => e.reason === 'Applied' && e.note.includes('3 created')), JSON.stringify(events));

  // The write-ahead record holds exactly what was applied.
  const [first] = await listRevisions(client, ns, 'web');
  t.is(first?.spec.revision, 1);
  t.is(first?.spec.source.digest, v1.digest);
  t.is(first?.status?.phase, 'Available');
  const recorded = (await readRevisionPhases(client, first as PackageRevision, bed().packages.revisionKeys)).flatMap((p) => p.objects.map((o) => `${o.kind}/${o.metadata.name}`));
  t.deepEqual(recorded.sort(), ['ConfigMap/extra', 'ConfigMap/settings', 'Deployment/web']);

  // Upgrade: one object changes, one goes, one comes.
  const v2 = await bed().publisher.publish(ns, 'src', {
    'app/config.yaml': [configMap('settings', { mode: 'two' }), configMap('added', { n: '1' })],
    'app/web.yaml': [deployment('web')],
  });
  await setArtifact(client, ns, 'src', v2);
  const upgraded = await waitForPackage(client, ns, 'web', (p) => isReadyAt(p, v2.revision));
  t.is(((await getObject(client, 'v1', 'ConfigMap', ns, 'settings')) as { data?: Record<string, string> } | undefined)?.data?.mode, 'two');
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'added'));
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'extra'), undefined, 'the object that left the bundle was pruned');
  t.is(upgraded.status?.currentRevision, 2);
  t.false(statusInventory(upgraded.status).some((e) => e.id === `${ns}_extra__ConfigMap`));
  const upgradeEvent = await eventually(async () => (await eventsAbout(client, ns, 'web')).find((e) => e.note.startsWith('revision 2')));
  t.is(upgradeEvent.note, `revision 2 (${v2.revision}): 1 created, 1 configured, 1 pruned`);
  const revisions: PackageRevision[] = await listRevisions(client, ns, 'web');
  t.deepEqual(revisions.map((r) => [r.spec.revision, r.status?.phase]), [[1, 'Superseded'], [2, 'Available']]);

  // Uninstall: the finalizer removes every object, then the Package goes.
  await client.delete({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'web' });
  await eventually(async () => (await getPackage(client, ns, 'web')) === undefined);
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'settings'), undefined);
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'added'), undefined);
  const web = await getObject(client, 'apps/v1', 'Deployment', ns, 'web');
  t.true(web === undefined || web.metadata?.deletionTimestamp !== undefined, 'the Deployment is gone or going');
});

test('prune: false leaves removed objects in place, and an object someone relabelled is never pruned', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);

  const v1 = await bed().publisher.publish(ns, 'src', { 'all.yaml': [configMap('a', {}), configMap('b', {}), configMap('taken', {})] });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'keep', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, prune: false });
  await waitForPackage(client, ns, 'keep', (p) => isReadyAt(p, v1.revision));

  const v2 = await bed().publisher.publish(ns, 'src', { 'all.yaml': [configMap('a', {}), configMap('taken', {})] });
  await setArtifact(client, ns, 'src', v2);
  await waitForPackage(client, ns, 'keep', (p) => isReadyAt(p, v2.revision));
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'b'), 'prune: false keeps what left the bundle');

  // Pruning back on. While the Package is suspended (so the label is not put back), someone takes
  // `taken` over by removing the package label; then it leaves the bundle.
  await patchSpec(client, ns, 'keep', { prune: true, suspend: true });
  // The controller must know of the suspension before the label goes: a Package it still sees running would put the
  // label back (to its label-selected watch, the object was deleted) and prune the object later.
  await eventually(() => Promise.resolve(bed().packages.controller.informer.get(`${ns}/keep`)?.spec.suspend === true || undefined));
  await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'taken' },
    { metadata: { labels: { [PACKAGE_NAME_LABEL]: null } } });
  const v3 = await bed().publisher.publish(ns, 'src', { 'all.yaml': [configMap('a', {})] });
  await setArtifact(client, ns, 'src', v3);
  await patchSpec(client, ns, 'keep', { suspend: false });
  const done = await waitForPackage(client, ns, 'keep', (p) => isReadyAt(p, v3.revision));
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'taken'), 'an object without the package labels is not pruned');
  t.deepEqual(statusInventory(done.status).map((e) => e.id), [`${ns}_a__ConfigMap`]);
});

test('uninstall also removes what the latest PackageRevision records but the status lost (a crash before the status patch)', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const v1 = await bed().publisher.publish(ns, 'src', { 'all.yaml': [configMap('listed', {}), configMap('recorded-only', {})] });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'crashy', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  await waitForPackage(client, ns, 'crashy', (p) => isReadyAt(p, v1.revision));
  // As if the controller died between applying and writing the status: the inventory misses an object.
  await client.patchStatus({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'crashy' },
    { objects: [`${ns}_listed__ConfigMap v1`] });
  await client.delete({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'crashy' });
  await eventually(async () => (await getPackage(client, ns, 'crashy')) === undefined);
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'listed'), undefined);
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'recorded-only'), undefined);
});

test('a status in the shape earlier controllers wrote (`inventory` items) is read, pruned from, and replaced by `objects`', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const v1 = await bed().publisher.publish(ns, 'src', { 'all.yaml': [configMap('kept', {})] });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'older', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  await waitForPackage(client, ns, 'older', (p) => isReadyAt(p, v1.revision));

  // An object only the older shape lists (no revision records it): without reading that shape nothing would prune it.
  await patchSpec(client, ns, 'older', { suspend: true });
  await client.create({
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'legacy', namespace: ns, labels: { [PACKAGE_NAME_LABEL]: 'older', [PACKAGE_NAMESPACE_LABEL]: ns } },
  });
  await client.patchStatus({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'older' },
    { objects: null, inventory: [{ id: `${ns}_kept__ConfigMap`, v: 'v1' }, { id: `${ns}_legacy__ConfigMap`, v: 'v1' }] });
  const v2 = await bed().publisher.publish(ns, 'src', { 'all.yaml': [configMap('kept', { n: '2' })] });
  await setArtifact(client, ns, 'src', v2);
  await patchSpec(client, ns, 'older', { suspend: false });
  const upgraded = await waitForPackage(client, ns, 'older', (p) => isReadyAt(p, v2.revision));
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'legacy'), undefined, 'the object listed only in `inventory` was pruned');
  t.deepEqual(upgraded.status?.objects, [`${ns}_kept__ConfigMap v1`]);
  t.is(upgraded.status?.inventory, undefined, 'the older field is gone');
});
