// Collision protection against the real apiserver: an object that exists and is
// not the Package's is refused by default, adopted when the Package allows it,
// and two Packages declaring one object never write it in turn.
import anyTest from 'ava';
import { PACKAGE_NAME_LABEL, PACKAGE_NAMESPACE_LABEL } from '../../../apply-controller/ssa/options.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeObject } from '../../../runtime/object.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, conditionOf, configMap, createPackage, createSource, getObject, getPackage, isReadyAt, patchSpec,
  releasePackagesOnTeardown, runLabel, usePackageTestBed, waitForPackage,
} from './support.ts';

const test = withCluster(anyTest);
const label = runLabel();
const bed = usePackageTestBed(test, label);

function collided(reason: string) {
  return (p: Parameters<typeof conditionOf>[0]) => conditionOf(p, 'Ready')?.status === 'False' && conditionOf(p, 'Ready')?.reason === reason;
}

test('an object someone made is refused by default, and adopted with collisionProtection IfNoOwner', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);

  // Made by a person with kubectl before the Package came.
  await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: ns }, data: { owner: 'person' } },
    { fieldManager: 'kubectl-create' });
  const v1 = await bed().publisher.publish(ns, 'src', { 'all.yaml': [configMap('settings', { owner: 'package' }), configMap('other', {})] });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });

  const refused = await waitForPackage(client, ns, 'app', collided('ObjectCollision'));
  const message = conditionOf(refused, 'Ready')?.message ?? '';
  t.regex(message, /ConfigMap\/.*settings/);
  t.regex(message, /not managed by this Package/);
  t.regex(message, /kubectl-create/);
  const untouched = await getObject(client, 'v1', 'ConfigMap', ns, 'settings') as { data?: Record<string, string>; metadata?: { labels?: Record<string, string> } };
  t.is(untouched.data?.owner, 'person', 'nothing was written to the object');
  t.is(untouched.metadata?.labels?.[PACKAGE_NAME_LABEL], undefined);

  await patchSpec(client, ns, 'app', { collisionProtection: 'IfNoOwner' });
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v1.revision));
  const adopted = await getObject(client, 'v1', 'ConfigMap', ns, 'settings') as { data?: Record<string, string>; metadata?: { labels?: Record<string, string> } };
  t.is(adopted.data?.owner, 'package');
  t.is(adopted.metadata?.labels?.[PACKAGE_NAME_LABEL], 'app');
});

test('IfNoOwner still refuses an object a controller owns', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);

  const owner = await client.create<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner', namespace: ns } });
  await client.create({
    apiVersion: 'v1', kind: 'ConfigMap', data: { from: 'controller' },
    metadata: {
      name: 'child', namespace: ns,
      ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata?.uid ?? '', controller: true }],
    },
  });
  const v1 = await bed().publisher.publish(ns, 'src', { 'all.yaml': [configMap('child', { from: 'package' })] });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, collisionProtection: 'IfNoOwner' });
  const refused = await waitForPackage(client, ns, 'app', collided('ObjectCollision'));
  t.regex(conditionOf(refused, 'Ready')?.message ?? '', /controlled by ConfigMap\/owner/);
  t.is((await getObject(client, 'v1', 'ConfigMap', ns, 'child') as { data?: Record<string, string> }).data?.from, 'controller');
});

test('two Packages declaring one object: the second is refused, even with None, and nothing is written for 30 s', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);

  const one = await bed().publisher.publish(ns, 'one', { 'all.yaml': [configMap('shared', { by: 'one' })] });
  const two = await bed().publisher.publish(ns, 'two', { 'all.yaml': [configMap('shared', { by: 'two' })] });
  await createSource(client, ns, 'one', one);
  await createSource(client, ns, 'two', two);
  await createPackage(client, ns, 'first', label, { sourceRef: { kind: 'OCIRepository', name: 'one' } });
  await waitForPackage(client, ns, 'first', (p) => isReadyAt(p, one.revision));
  await createPackage(client, ns, 'second', label, { sourceRef: { kind: 'OCIRepository', name: 'two' }, collisionProtection: 'None' });
  const refused = await waitForPackage(client, ns, 'second', collided('ObjectCollision'));
  t.regex(conditionOf(refused, 'Ready')?.message ?? '', new RegExp(`belongs to Package ${ns}/first`));

  const shared = await getObject(client, 'v1', 'ConfigMap', ns, 'shared');
  const firstPkg = await getPackage(client, ns, 'first');
  const secondPkg = await getPackage(client, ns, 'second');
  // The second Package retries every 2 s (retryInterval): many chances to start a loop.
  await sleep(30_000);
  const after = await getObject(client, 'v1', 'ConfigMap', ns, 'shared') as { data?: Record<string, string>; metadata?: { resourceVersion?: string; labels?: Record<string, string> } };
  t.is(after.metadata?.resourceVersion, shared?.metadata?.resourceVersion, 'the shared object was not written');
  t.is(after.data?.by, 'one');
  t.is(after.metadata?.labels?.[PACKAGE_NAMESPACE_LABEL], ns);
  t.is((await getPackage(client, ns, 'first'))?.metadata.resourceVersion, firstPkg?.metadata.resourceVersion, 'the first Package is stable');
  t.is((await getPackage(client, ns, 'second'))?.metadata.resourceVersion, secondPkg?.metadata.resourceVersion, 'the second Package is stable');

  // Policy None takes an object over only from a Package that is gone.
  await client.patch({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'first' }, { spec: { suspend: true } });
  await client.patch({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'first' },
    { metadata: { finalizers: null } });
  await client.delete({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'first' });
  await patchSpec(client, ns, 'second', { interval: '11m' }); // a new generation: reconcile now
  await waitForPackage(client, ns, 'second', (p) => isReadyAt(p, two.revision));
  const taken = await getObject(client, 'v1', 'ConfigMap', ns, 'shared') as { data?: Record<string, string>; metadata?: { labels?: Record<string, string> } };
  t.is(taken.data?.by, 'two');
  t.is(taken.metadata?.labels?.[PACKAGE_NAME_LABEL], 'second');
});
