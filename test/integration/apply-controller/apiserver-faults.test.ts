// The apply controller when the apiserver misbehaves mid-apply, through a
// faulting proxy in front of the real apiserver: a 5xx and a lost answer (the
// write happened, the reply never came) are retried and lose nothing; a prune
// the apiserver refuses keeps the object in the inventory until it succeeds; a
// finalizer that holds a pruned object does not hold the Package; a conversion
// webhook that is down for one kind fails only the Package using that kind.
import anyTest from 'ava';
import { randomBytes } from 'node:crypto';
import { KubeClient } from '../../../runtime/kube.ts';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { serverError, startFaultingProxy, type FaultingProxy } from '../../support/faulting-proxy.ts';
import {
  adminClient, ArtifactPublisher, conditionOf, configMap, createPackage, createSource, getObject, isReadyAt, releasePackagesOnTeardown,
  runLabel, setArtifact, startPackageController, waitForPackage,
} from './support.ts';
import { statusInventory } from '../../../apply-controller/api.ts';

const test = withCluster(anyTest);
const label = runLabel();
let proxy: FaultingProxy;
let publisher: ArtifactPublisher;
let stop: (() => Promise<void>) | undefined;

test.before(async () => {
  const cluster = await useCluster();
  proxy = await startFaultingProxy(cluster.kubeConfig);
  publisher = await ArtifactPublisher.start();
  // The controller reaches the apiserver only through the proxy.
  const client = new KubeClient(proxy.kubeConfig, { qps: 0, userAgent: 'trellis/apply-controller-faults' });
  const { packages } = await startPackageController(cluster, label.selector, { client, allowCrossNamespaceRefs: true });
  stop = () => packages.stop();
});

test.after.always(async () => {
  await stop?.();
  await publisher?.stop();
  await proxy?.stop();
});

const cmPath = (ns: string, name: string) => new RegExp(`^/api/v1/namespaces/${ns}/configmaps/${name}(\\?|$)`);

test.serial('a 5xx and a lost answer in the middle of an apply are retried, and every object arrives once', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);

  const faults = [
    proxy.inject({ method: 'PATCH', path: cmPath(ns, 'b'), fault: serverError(500) }),
    proxy.inject({ method: 'PATCH', path: cmPath(ns, 'c'), fault: { kind: 'lose-response' } }),
  ];
  t.teardown(() => faults.forEach((f) => f.remove()));
  const v1 = await publisher.publish(ns, 'src', { 'all.yaml': [configMap('a', { n: '1' }), configMap('b', { n: '2' }), configMap('c', { n: '3' })] });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  const ready = await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v1.revision), 90_000);
  t.is(faults[0]?.hits, 1, 'the 5xx was injected');
  t.is(faults[1]?.hits, 1, 'the answer was lost once');
  for (const name of ['a', 'b', 'c']) t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, name), `${name} exists`);
  t.is(statusInventory(ready.status).length, 3);
  t.is(ready.status?.currentRevision, 1, 'one revision: the retries did not record the same state again');
});

test.serial('a prune the apiserver refuses keeps the object in the inventory (PruneFailed) until a retry deletes it', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);

  const v1 = await publisher.publish(ns, 'src', { 'all.yaml': [configMap('keep', {}), configMap('old', {})] });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v1.revision));

  const refuse = proxy.inject({ method: 'DELETE', path: cmPath(ns, 'old'), times: Infinity, fault: serverError(503) });
  t.teardown(() => refuse.remove());
  const v2 = await publisher.publish(ns, 'src', { 'all.yaml': [configMap('keep', {})] });
  await setArtifact(client, ns, 'src', v2);
  const failed = await waitForPackage(client, ns, 'app', (p) => conditionOf(p, 'Ready')?.reason === 'PruneFailed');
  t.regex(conditionOf(failed, 'Ready')?.message ?? '', /ConfigMap\/.*\/old/);
  t.true(statusInventory(failed.status).some((e) => e.id === `${ns}_old__ConfigMap`), 'the survivor stays in the inventory');
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'old'));

  refuse.remove();
  const done = await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v2.revision), 90_000);
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'old'), undefined, 'the retry pruned it');
  t.deepEqual(statusInventory(done.status).map((e) => e.id), [`${ns}_keep__ConfigMap`]);
});

test.serial('a finalizer that holds a pruned object does not hold the Package; the object goes when its finalizer does', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);

  const v1 = await publisher.publish(ns, 'src', { 'all.yaml': [configMap('keep', {}), configMap('held', {})] });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v1.revision));
  // Another controller holds the object until it has cleaned up after it.
  await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'held' }, { metadata: { finalizers: ['example.com/cleanup'] } });
  t.teardown(async () => {
    await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'held' }, { metadata: { finalizers: null } }).catch(() => undefined);
  });

  const v2 = await publisher.publish(ns, 'src', { 'all.yaml': [configMap('keep', {})] });
  await setArtifact(client, ns, 'src', v2);
  const done = await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v2.revision));
  const held = await getObject(client, 'v1', 'ConfigMap', ns, 'held');
  t.truthy(held?.metadata?.deletionTimestamp, 'the prune was made: the object is being deleted, held by its finalizer');
  t.deepEqual(statusInventory(done.status).map((e) => e.id), [`${ns}_keep__ConfigMap`]);
  await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'held' }, { metadata: { finalizers: null } });
  await eventually(async () => (await getObject(client, 'v1', 'ConfigMap', ns, 'held')) === undefined, 30_000);
  t.pass();
});

test.serial('a conversion webhook that is down fails only the Package of that kind; another Package still corrects drift', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const group = `c${randomBytes(4).toString('hex')}.faults.test.trellis.dev`;
  const schema = { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } };
  // Two versions, stored as v1, converted by a webhook nobody serves: any read or write in v2 fails.
  await client.create({
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `dials.${group}` },
    spec: {
      group, scope: 'Namespaced', names: { plural: 'dials', singular: 'dial', kind: 'Dial', listKind: 'DialList' },
      versions: [{ name: 'v1', served: true, storage: true, schema }, { name: 'v2', served: true, storage: false, schema }],
      conversion: { strategy: 'Webhook', webhook: { conversionReviewVersions: ['v1'], clientConfig: { url: 'https://127.0.0.1:1/convert' } } },
    },
  });
  t.teardown(async () => { await client.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: `dials.${group}` }).catch(() => undefined); });
  await eventually(async () => client.serves(`${group}/v2`, 'Dial'), 30_000);

  const broken = await publisher.publish(ns, 'broken', { 'dial.yaml': [{ apiVersion: `${group}/v2`, kind: 'Dial', metadata: { name: 'd' }, spec: { size: 1 } }] });
  const fine = await publisher.publish(ns, 'fine', { 'cm.yaml': [configMap('cm', { k: 'v' })] });
  await createSource(client, ns, 'broken', broken);
  await createSource(client, ns, 'fine', fine);
  await createPackage(client, ns, 'broken', label, { sourceRef: { kind: 'OCIRepository', name: 'broken' } });
  await createPackage(client, ns, 'fine', label, { sourceRef: { kind: 'OCIRepository', name: 'fine' } });

  const failed = await waitForPackage(client, ns, 'broken', (p) => conditionOf(p, 'Ready')?.status === 'False', 90_000);
  t.regex(conditionOf(failed, 'Ready')?.message ?? '', /conversion webhook|Dial/i);
  await waitForPackage(client, ns, 'fine', (p) => isReadyAt(p, fine.revision));
  await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cm' }, { data: { k: 'drifted' } });
  await eventually(async () => ((await getObject(client, 'v1', 'ConfigMap', ns, 'cm')) as { data?: Record<string, string> } | undefined)?.data?.k === 'v', 30_000);
  t.pass();
});
