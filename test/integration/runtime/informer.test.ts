// The informer against the real apiserver: initial list, watch events into the
// cache, resuming a watch the server ended without listing again, and listing
// again when the resourceVersion it would resume from has expired (410).
import anyTest from 'ava';
import { Informer } from '../../../runtime/informer.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { adminClient, createWidgetCrd, until, type Widget } from './support.ts';

const test = withCluster(anyTest);

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

test('the cache follows creates, updates and deletes, and handlers see each', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'before', namespace: ns }, data: { v: '0' } });
  const informer = new Informer<ConfigMap>(client, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns });
  const seen: string[] = [];
  informer.on({
    add: (o) => seen.push(`add ${o.metadata?.name}`),
    update: (old, o) => seen.push(`update ${o.metadata?.name} ${old.data?.v}->${o.data?.v}`),
    delete: (o) => seen.push(`delete ${o.metadata?.name}`),
  });
  t.teardown(() => informer.stop());
  await informer.start();
  t.true(informer.hasSynced);
  t.is(informer.get(`${ns}/before`)?.data?.v, '0', 'objects that existed before are in the cache after sync');
  t.is(informer.get(`${ns}/before`)?.kind, 'ConfigMap');

  await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after', namespace: ns }, data: { v: '1' } });
  await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'after' }, { data: { v: '2' } });
  await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'before' });
  await until(() => seen.includes('delete before'));
  t.deepEqual(seen.filter((s) => !s.includes('kube-root-ca')), ['add before', 'add after', 'update after 1->2', 'delete before']);
  t.is(informer.get(`${ns}/before`), undefined);
  t.is(informer.get(`${ns}/after`)?.data?.v, '2');
  t.is(informer.stats.lists, 1);
});

test('a watch the server ends is resumed from the last resourceVersion, without listing again', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  // The server ends each watch after one second.
  const informer = new Informer<ConfigMap>(client, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, watchTimeoutSeconds: 1 });
  const added: string[] = [];
  informer.on({ add: (o) => added.push(o.metadata?.name ?? '') });
  t.teardown(() => informer.stop());
  await informer.start();
  for (let i = 0; i < 3; i++) {
    const watchesBefore = informer.stats.watches;
    await until(() => informer.stats.watches > watchesBefore, 15_000, 50);
    await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}`, namespace: ns } });
  }
  await until(() => added.includes('c2'));
  t.true(informer.stats.watches >= 4, `watches: ${informer.stats.watches}`);
  t.is(informer.stats.lists, 1, 'resumed, never re-listed');
  t.is(informer.stats.expired, 0);
  t.deepEqual(added.filter((n) => n.startsWith('c')), ['c0', 'c1', 'c2'], 'no event was lost or repeated across resumes');
});

test('an expired resourceVersion (410 Gone) makes the informer list again and catch up', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  // A new kind's watch cache starts at the current etcd revision, so a watch from
  // resourceVersion 1 is answered with 410 Expired, as after a long disconnect.
  const type = await createWidgetCrd(t, client);
  await client.create<Widget>({ ...type, metadata: { name: 'existing', namespace: ns }, spec: { size: 1 } });
  const informer = new Informer<Widget>(client, { ...type, namespace: ns, resumeFrom: '1' });
  const added: string[] = [];
  informer.on({ add: (o) => added.push(o.metadata?.name ?? '') });
  t.teardown(() => informer.stop());
  await informer.start();
  await until(() => informer.stats.lists === 1 && added.includes('existing'));
  t.is(informer.stats.expired, 1, 'the server said the version expired');
  t.is(informer.get(`${ns}/existing`)?.spec?.size, 1, 'the re-list filled the cache');
  await client.create<Widget>({ ...type, metadata: { name: 'later', namespace: ns } });
  await until(() => added.includes('later'));
  t.is(informer.stats.lists, 1, 'and the watch continues after the re-list');
});

test('an informer on a kind the server does not have fails to start with a clear error', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const informer = new Informer(client, { apiVersion: 'nothing.test.trellis.dev/v1', kind: 'Nothing' });
  await t.throwsAsync(informer.start(), { message: /no resource for kind Nothing/ });
  await informer.stop();
});
