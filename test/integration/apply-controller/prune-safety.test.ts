// Prune safety against the real apiserver: an empty revision does not prune
// unless the Package allows it, an annotated object outlives prune and
// uninstall, and a Namespace that holds someone else's objects is never pruned.
import anyTest from 'ava';
import { PRUNE_ANNOTATION, PRUNE_DISABLED } from '../../../apply-controller/ssa/delete.ts';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, conditionOf, configMap, createPackage, createSource, getObject, getPackage, isReadyAt, isStalled, patchSpec,
  releasePackagesOnTeardown, runLabel, setArtifact, usePackageTestBed, waitForPackage,
} from './support.ts';
import { statusInventory } from '../../../apply-controller/api.ts';

const test = withCluster(anyTest);
const label = runLabel();
// Namespaces are cluster-scoped: this file's Packages apply as the controller, outside the lockdown.
const bed = usePackageTestBed(test, label, { allowCrossNamespaceRefs: true });

test('an empty revision is refused and prunes nothing, until spec.allowEmpty says it is meant', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);

  const v1 = await bed().publisher.publish(ns, 'src', { 'all.yaml': [configMap('a', {}), configMap('b', {})] });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v1.revision));

  // The repository was emptied (a wrong path, a bad merge): only a README is left.
  const empty = await bed().publisher.publish(ns, 'src', { 'README.md': 'nothing here\n' });
  await setArtifact(client, ns, 'src', empty);
  const refused = await waitForPackage(client, ns, 'app', (p) => isStalled(p, 'EmptyRevision'));
  t.regex(conditionOf(refused, 'Ready')?.message ?? '', /no objects and would prune all 2/);
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'a'), 'nothing was pruned');
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'b'));
  t.is(statusInventory(refused.status).length, 2);

  await patchSpec(client, ns, 'app', { allowEmpty: true });
  const done = await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, empty.revision));
  t.deepEqual(statusInventory(done.status), []);
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'a'), undefined);
});

test(`an object annotated ${PRUNE_ANNOTATION}: ${PRUNE_DISABLED} outlives prune and uninstall`, async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);

  const keep = { annotations: { [PRUNE_ANNOTATION]: PRUNE_DISABLED } };
  const v1 = await bed().publisher.publish(ns, 'src', {
    'all.yaml': [configMap('data', {}, keep), configMap('left', {}, keep), configMap('plain', {}), configMap('stays', {})],
  });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v1.revision));

  const v2 = await bed().publisher.publish(ns, 'src', { 'all.yaml': [configMap('data', {}, keep), configMap('stays', {})] });
  await setArtifact(client, ns, 'src', v2);
  const upgraded = await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v2.revision));
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'left'), 'the annotated object was kept on prune');
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'plain'), undefined, 'the plain one was pruned');
  t.false(statusInventory(upgraded.status).some((e) => e.id.includes('_left_')), 'the kept object left the inventory');

  await client.delete({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'app' });
  await eventually(async () => (await getPackage(client, ns, 'app')) === undefined);
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'data'), 'the annotated object was kept on uninstall');
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'stays'), undefined);
});

test('a Namespace that holds objects of others is not pruned; one that holds only the Package\'s is', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const shared = `${ns}-shared`;
  const own = `${ns}-own`;
  t.teardown(async () => {
    for (const name of [shared, own]) await client.delete({ apiVersion: 'v1', kind: 'Namespace', name }).catch(() => undefined);
  });

  const namespace = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const v1 = await bed().publisher.publish(ns, 'src', {
    'all.yaml': [namespace(shared), namespace(own), configMap('in-shared', {}, { namespace: shared }), configMap('in-own', {}, { namespace: own })],
  });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v1.revision));
  // Another team puts its own Secret into the shared Namespace.
  await client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'theirs', namespace: shared }, stringData: { k: 'v' } });

  const v2 = await bed().publisher.publish(ns, 'src', { 'all.yaml': [configMap('rest', {})] });
  await setArtifact(client, ns, 'src', v2);
  const done = await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v2.revision));
  const sharedNs = await getObject(client, 'v1', 'Namespace', undefined, shared);
  t.truthy(sharedNs, 'the shared Namespace is still there');
  t.is(sharedNs?.metadata?.deletionTimestamp, undefined, 'and not being deleted');
  t.truthy(await getObject(client, 'v1', 'Secret', shared, 'theirs'), 'with the other team\'s Secret');
  t.is(await getObject(client, 'v1', 'ConfigMap', shared, 'in-shared'), undefined, 'the Package\'s own object in it was pruned');
  const ownNs = await getObject(client, 'v1', 'Namespace', undefined, own);
  t.true(ownNs === undefined || ownNs.metadata?.deletionTimestamp !== undefined, 'the Namespace holding only the Package\'s objects goes');
  t.deepEqual(statusInventory(done.status).map((e) => e.id), [`${ns}_rest__ConfigMap`]);
});
