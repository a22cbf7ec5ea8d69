// Watches of ConfigMaps and Secrets in protobuf (runtime/kube-protobuf.ts),
// against the real apiserver: the watch is answered in protobuf, and every
// event it hands over is exactly the one a JSON watch of the same objects gives
// (fields, omissions, key order, managedFields); errors stay readable.
import anyTest, { type ExecutionContext } from 'ava';
import { KubeClient, type WatchEvent } from '../../../runtime/kube.ts';
import { isForbidden, type KubeApiError } from '../../../runtime/kube-transport.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { startFaultingProxy } from '../../support/faulting-proxy.ts';
import { adminClient, until } from './support.ts';

const test = withCluster(anyTest);

type Kind = 'ConfigMap' | 'Secret';
const SELECTOR = 'test=protobuf';
const LABEL = { test: 'protobuf' };
const plural = (kind: Kind): string => (kind === 'ConfigMap' ? 'configmaps' : 'secrets');

/** Three watches of one kind from one resourceVersion: protobuf, protobuf without managedFields, and JSON. */
async function watchAllWays(t: ExecutionContext, kind: Kind) {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const direct = adminClient(cluster);
  const proxy = await startFaultingProxy(cluster.kubeConfig);
  t.teardown(() => proxy.stop());
  const client = new KubeClient(proxy.kubeConfig, { qps: 0 });
  t.teardown(() => client.transport.close());
  const type = { apiVersion: 'v1', kind, namespace: ns };
  const { resourceVersion } = await direct.list(type);
  const abort = new AbortController();
  t.teardown(() => abort.abort());
  const seen = { protobuf: [] as WatchEvent<KubeObject>[], slim: [] as WatchEvent<KubeObject>[], json: [] as WatchEvent<KubeObject>[] };
  const keep = (into: WatchEvent<KubeObject>[]) => (e: WatchEvent<KubeObject>) => { if (e.type !== 'BOOKMARK') into.push(e); };
  // Only the test's objects: the namespace gets a Secret and a ConfigMap of its own from kube-controller-manager.
  const labelSelector = SELECTOR;
  const watches = [
    client.watch(type, { resourceVersion, labelSelector, signal: abort.signal }, keep(seen.protobuf)),
    client.watch(type, { resourceVersion, labelSelector, signal: abort.signal, withoutManagedFields: true }, keep(seen.slim)),
    // The transport's JSON stream, as the client used it for every kind before.
    direct.transport.stream({
      verb: 'watch', method: 'GET', path: `/api/v1/namespaces/${ns}/${plural(kind)}`, signal: abort.signal,
      query: { watch: 1, resourceVersion, labelSelector, allowWatchBookmarks: true },
    }, (e) => keep(seen.json)(e as WatchEvent<KubeObject>), 60_000),
  ].map((watching) => watching.catch((err: unknown) => err));
  const settled = async (count: number) => {
    await until(() => seen.protobuf.length >= count && seen.slim.length >= count && seen.json.length >= count);
    abort.abort();
    await Promise.all(watches);
    const watchesOf = proxy.requestsTo(`/api/v1/namespaces/${ns}/${plural(kind)}`, 'GET');
    return { ...seen, contentTypes: watchesOf.map((e) => e.contentType) };
  };
  return { ns, direct, settled };
}

function assertSame(t: ExecutionContext, got: Awaited<ReturnType<Awaited<ReturnType<typeof watchAllWays>>['settled']>>, count: number): void {
  t.deepEqual(got.contentTypes, ['application/vnd.kubernetes.protobuf;stream=watch', 'application/vnd.kubernetes.protobuf;stream=watch'],
    'both client watches were answered in protobuf');
  t.is(got.json.length, count);
  t.true(got.json.every((e) => (e.object.metadata?.managedFields?.length ?? 0) > 0), 'the JSON events carry managedFields');
  t.deepEqual(got.protobuf, got.json);
  // deepEqual ignores key order; the serialised form does not.
  t.is(JSON.stringify(got.protobuf), JSON.stringify(got.json));
  const slimJson = got.json.map((e) => {
    const { managedFields: _dropped, ...metadata } = e.object.metadata ?? {};
    return { type: e.type, object: { ...e.object, metadata } };
  });
  t.is(JSON.stringify(got.slim), JSON.stringify(slimJson));
}

test('a ConfigMap watch comes in protobuf and hands over exactly what a JSON watch gives', async (t) => {
  const { ns, direct, settled } = await watchAllWays(t, 'ConfigMap');
  const a = await direct.create<KubeObject & { data?: Record<string, string> }>({
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: 'every-field', namespace: ns, labels: { ...LABEL, app: 'web', 'example.com/tier': '' }, annotations: { note: 'ünïcödé ✓\nline two', empty: '' } },
    data: { 'app.conf': 'listen 80;\n\tserver_name "x";\n', empty: '', '123': 'a numeric key', 'emoji.txt': '🌱 trellis' },
    binaryData: { 'blob.bin': Buffer.from([0, 1, 2, 254, 255, 0x80]).toString('base64'), 'empty.bin': '' },
    immutable: true,
  } as KubeObject);
  const owned = await direct.create({
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: {
      name: 'owned', generateName: 'owned-', namespace: ns, labels: LABEL, finalizers: ['example.com/hold'],
      ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'every-field', uid: a.metadata?.uid ?? '', controller: true, blockOwnerDeletion: false }],
    },
  });
  const name = owned.metadata?.name ?? '';
  await direct.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels: LABEL }, data: { k: 'v' } } as KubeObject,
    { fieldManager: 'another-manager', force: true });
  await direct.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name });
  await direct.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name }, { metadata: { finalizers: null } }, { type: 'merge' });
  await direct.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'empty', namespace: ns, labels: LABEL } });
  // ADDED, ADDED, MODIFIED (apply), MODIFIED (deletionTimestamp), DELETED (finalizer gone), ADDED.
  const got = await settled(6);
  assertSame(t, got, 6);
  t.deepEqual(got.protobuf.map((e) => e.type), ['ADDED', 'ADDED', 'MODIFIED', 'MODIFIED', 'DELETED', 'ADDED']);
  const deleting = got.protobuf[3]?.object.metadata;
  t.truthy(deleting?.deletionTimestamp, 'the event in between carries the deletion time');
});

test('a Secret watch comes in protobuf and hands over exactly what a JSON watch gives', async (t) => {
  const { ns, direct, settled } = await watchAllWays(t, 'Secret');
  await direct.create({
    apiVersion: 'v1', kind: 'Secret', type: 'example.com/custom', immutable: false,
    metadata: { name: 'custom', namespace: ns, labels: { ...LABEL, a: 'b' } },
    data: { key: Buffer.from([0, 10, 255]).toString('base64') }, stringData: { password: 'hunter2 ✓' },
  } as KubeObject);
  await direct.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'opaque', namespace: ns, labels: LABEL } });
  await direct.delete({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'custom' });
  const got = await settled(3);
  assertSame(t, got, 3);
  t.deepEqual(got.protobuf.map((e) => e.type), ['ADDED', 'ADDED', 'DELETED']);
});

test('a protobuf watch refused by the apiserver is a readable KubeApiError', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  const refused = await t.throwsAsync(client.impersonate(ns, 'nobody').watch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns },
    { timeoutSeconds: 5 }, () => {}));
  t.true(isForbidden(refused));
  t.is((refused as KubeApiError).reason, 'Forbidden');
  t.regex(refused.message, /^configmaps is forbidden: .*cannot watch resource "configmaps"/);
});
