// waitForHealthy and deleteObjects against the real apiserver, the real
// Deployment controller and the simulated node.
import anyTest from 'ava';
import type { KubeObject, ObjectRef } from '../../../runtime/object.ts';
import {
  applyStage, deleteObjects, HealthCheckError, inventoryEntryOf, packageLabels, PACKAGE_NAME_LABEL, waitForHealthy,
} from '../../../apply-controller/ssa/index.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { client as makeClient, configMap, deployment, service } from './support.ts';

const test = withCluster(anyTest);

test('waitForHealthy resolves once a Deployment is available', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = makeClient(cluster);
  const labels = packageLabels('web', ns);
  const set = [configMap(ns, 'settings', { a: '1' }), deployment(ns, 'web', { replicas: 2 })];
  await applyStage(client, set, { labels });
  await waitForHealthy(client, set, { timeoutMs: 90_000, pollIntervalMs: 200, labels });
  const live = await client.get<KubeObject & { status?: { availableReplicas?: number } }>(
    { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' });
  t.is(live?.status?.availableReplicas, 2, 'it really was available when the wait ended');
});

test('waitForHealthy names the Deployment whose image never pulls, after the timeout', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = makeClient(cluster);
  const set = [configMap(ns, 'settings', { a: '1' }), deployment(ns, 'good'), deployment(ns, 'broken', { image: 'nginx:fail' })];
  await applyStage(client, set);
  const err = await t.throwsAsync(waitForHealthy(client, set, { timeoutMs: 5_000, pollIntervalMs: 200 }), { instanceOf: HealthCheckError });
  t.false(err.failedFast);
  const broken = err.unhealthy.find((u) => u.subject === `Deployment/${ns}/broken`);
  t.truthy(broken, 'the broken Deployment is listed');
  t.is(broken?.status, 'InProgress');
  t.regex(broken?.message ?? '', /replicas (available|updated)/);
  t.false(err.unhealthy.some((u) => u.subject.startsWith('ConfigMap/')), 'healthy objects are not listed');
  t.regex(err.message, /Deployment\/.+\/broken \(InProgress\): /);
});

test('waitForHealthy with failFast stops at a Deployment past its progress deadline', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = makeClient(cluster);
  const set = [deployment(ns, 'stuck', { image: 'nginx:fail', progressDeadlineSeconds: 1 })];
  await applyStage(client, set);
  const err = await t.throwsAsync(waitForHealthy(client, set, { timeoutMs: 60_000, pollIntervalMs: 200, failFast: true }),
    { instanceOf: HealthCheckError });
  t.true(err.failedFast);
  t.is(err.unhealthy[0]?.status, 'Failed');
  t.regex(err.message, /progress deadline exceeded/);
});

test('waitForHealthy reports a missing object as NotFound and rejects when its signal aborts', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = makeClient(cluster);
  const missing = [configMap(ns, 'never-applied', {})];
  const err = await t.throwsAsync(waitForHealthy(client, missing, { timeoutMs: 300, pollIntervalMs: 100 }), { instanceOf: HealthCheckError });
  t.is(err.unhealthy[0]?.status, 'NotFound');
  const controller = new AbortController();
  const waiting = waitForHealthy(client, missing, { timeoutMs: 60_000, pollIntervalMs: 100, signal: controller.signal });
  setTimeout(() => controller.abort(new Error('reconcile cancelled')), 200);
  await t.throwsAsync(waiting, { message: 'reconcile cancelled' });
});

test('deleteObjects deletes labelled objects in reverse order, skips taken-over ones, counts missing ones as deleted', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = makeClient(cluster);
  const labels = packageLabels('web', ns);
  const set = [configMap(ns, 'a', { n: '1' }), configMap(ns, 'b', { n: '2' }), service(ns, 'web'), deployment(ns, 'web')];
  await applyStage(client, set, { labels });
  // Someone else's Package takes over ConfigMap b.
  await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'b' },
    { metadata: { labels: { [PACKAGE_NAME_LABEL]: 'other' } } });
  const inventory = [...set.map(inventoryEntryOf), { id: `${ns}_gone__ConfigMap`, v: 'v1' }];

  const result = await deleteObjects(client, inventory, { labels });
  t.deepEqual(result.failures, []);
  t.deepEqual(result.changeSet.entries.map((e) => [e.subject, e.action]), [
    [`ConfigMap/${ns}/gone`, 'deleted'],
    [`Deployment/${ns}/web`, 'deleted'],
    [`Service/${ns}/web`, 'deleted'],
    [`ConfigMap/${ns}/b`, 'skipped'],
    [`ConfigMap/${ns}/a`, 'deleted'],
  ]);
  t.is(result.changeSet.summary({ deleted: 'pruned' }), '4 pruned, 1 skipped');
  const get = (kind: string, apiVersion: string, name: string): Promise<KubeObject | undefined> =>
    client.get({ apiVersion, kind, namespace: ns, name });
  t.is(await get('ConfigMap', 'v1', 'a'), undefined);
  t.is(await get('Service', 'v1', 'web'), undefined);
  const dep = await get('Deployment', 'apps/v1', 'web');
  t.true(dep === undefined || dep.metadata?.deletionTimestamp !== undefined, 'the Deployment is gone or going');
  t.truthy(await get('ConfigMap', 'v1', 'b'), 'the taken-over object survives');
});

test('deleteObjects with a cache of live objects: each object costs its delete; a stale copy costs one read, and a taken-over one is still skipped', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = makeClient(cluster);
  const labels = packageLabels('web', ns);
  const set = [configMap(ns, 'a', { n: '1' }), configMap(ns, 'b', { n: '2' }), configMap(ns, 'c', { n: '3' }), configMap(ns, 'd', { n: '4' })];
  await applyStage(client, set, { labels });
  // The cache: copies read now, as the managed-object cache holds them.
  const { items } = await client.list<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns });
  const copies = new Map(items.map((o) => [o.metadata?.name ?? '', o]));
  const cache = { lookup: (ref: ObjectRef) => ({ known: true, object: copies.get(ref.name) }) };
  // After the cache saw them: c changes (its copy is stale), d is taken over by someone else.
  await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'c' }, { data: { n: '33' } });
  await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'd' }, { metadata: { labels: { [PACKAGE_NAME_LABEL]: 'other' } } });

  const gets = client.requests.count('get');
  const deletes = client.requests.count('delete');
  const result = await deleteObjects(client, set.map(inventoryEntryOf), { labels, cache });
  t.deepEqual(result.changeSet.entries.map((e) => [e.subject, e.action]), [
    [`ConfigMap/${ns}/d`, 'skipped'], [`ConfigMap/${ns}/c`, 'deleted'], [`ConfigMap/${ns}/b`, 'deleted'], [`ConfigMap/${ns}/a`, 'deleted'],
  ]);
  // a, b: the delete only; c, d: a refused delete (stale copy), then a read and the decision.
  t.is(client.requests.count('get') - gets, 2, 'only the two stale copies were read');
  t.is(client.requests.count('delete') - deletes, 5, 'four deletes sent (one refused by its precondition) and one retried');
  t.truthy(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'd' }), 'the taken-over object survives');
  t.is(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'c' }), undefined);
});

test('deleteObjects reports what it cannot delete instead of throwing, and refuses to run without labels', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = makeClient(cluster);
  const labels = packageLabels('web', ns);
  await applyStage(client, [configMap(ns, 'a', { n: '1' })], { labels });
  const result = await deleteObjects(client, [
    { id: 'not-an-id', v: 'v1' },
    { id: `${ns}_x_nothing.ssa.test.trellis.dev_Nothing`, v: 'v1' },
    { id: `${ns}_a__ConfigMap`, v: 'v1' },
  ], { labels });
  t.deepEqual(result.changeSet.entries.map((e) => [e.subject, e.action]), [
    [`ConfigMap/${ns}/a`, 'deleted'],
    [`Nothing/${ns}/x`, 'deleted'],
  ], 'an object of a kind no longer served is gone with its kind');
  t.is(result.failures.length, 1);
  t.is(result.failures[0]?.id, 'not-an-id');
  t.regex(result.failures[0]?.message ?? '', /not an inventory id/);
  await t.throwsAsync(deleteObjects(client, [], { labels: {} }), { instanceOf: RangeError });
});
