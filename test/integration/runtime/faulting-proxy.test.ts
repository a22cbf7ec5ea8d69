// The faulting proxy itself (test/support/faulting-proxy.ts), against the real
// apiserver: what each fault looks like to the runtime client, so tests that
// reuse it (throttling, faults injected mid-apply) can rely on it. Also pins
// down that the transport does not resend a plain 5xx, a timeout or a dropped
// fresh connection (callers decide about those).
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import type { KubeApiError } from '../../../runtime/kube-transport.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { serverError, startFaultingProxy } from '../../support/faulting-proxy.ts';
import { adminClient, until } from './support.ts';

const test: TestFn = withCluster(anyTest);

const configMap = (namespace: string, name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace } });

async function setup(t: ExecutionContext, requestTimeoutMs?: number) {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const proxy = await startFaultingProxy(cluster.kubeConfig);
  t.teardown(() => proxy.stop());
  const client = new KubeClient(proxy.kubeConfig, { qps: 0, ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }) });
  t.teardown(() => client.transport.close());
  return { ns, proxy, client, direct: adminClient(cluster), collection: `/api/v1/namespaces/${ns}/configmaps` };
}

test('untouched requests, watches included, pass through with the cluster credentials', async (t) => {
  const { ns, proxy, client, direct, collection } = await setup(t);
  await client.create(configMap(ns, 'via-proxy'));
  t.truthy(await direct.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'via-proxy' }));
  const abort = new AbortController();
  const seen: string[] = [];
  const watching = client.watch<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns }, { signal: abort.signal },
    (e) => { if (e.type === 'ADDED') seen.push(e.object.metadata?.name ?? ''); });
  await direct.create(configMap(ns, 'seen-by-watch'));
  await until(() => seen.includes('seen-by-watch'));
  abort.abort();
  await watching;
  t.true(proxy.requestsTo(collection, 'POST').every((e) => e.fault === undefined && e.status === 201));
});

test('a 5xx is answered by the proxy; the apiserver never sees the request and the client does not resend it', async (t) => {
  const { ns, proxy, client, direct, collection } = await setup(t);
  const rule = proxy.inject({ method: 'POST', path: collection, fault: serverError(500) });
  const err = await t.throwsAsync<KubeApiError>(client.create(configMap(ns, 'never')));
  t.is(err?.statusCode, 500);
  t.is(rule.hits, 1);
  t.deepEqual(proxy.requestsTo(collection, 'POST').map((e) => [e.fault, e.status]), [['status', 500]]);
  t.is(await direct.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'never' }), undefined);
});

test('delay forwards late; hang never answers, so the client times out', async (t) => {
  const { ns, proxy, client, collection } = await setup(t, 1_500);
  proxy.inject({ method: 'POST', path: collection, fault: { kind: 'delay', ms: 200 } });
  await client.create(configMap(ns, 'late'));
  t.deepEqual(proxy.requestsTo(collection, 'POST').map((e) => [e.fault, e.status]), [['delay', 201]]);

  proxy.inject({ method: 'POST', path: collection, fault: { kind: 'hang' } });
  await t.throwsAsync(client.create(configMap(ns, 'hung')), { message: /timed out/ });
  t.is(proxy.log.at(-1)?.fault, 'hang');
  t.is(proxy.log.at(-1)?.status, undefined);
});

test('drop cuts a fresh connection before the apiserver sees the request', async (t) => {
  const { ns, proxy, client, direct, collection } = await setup(t);
  proxy.inject({ method: 'POST', path: collection, fault: { kind: 'drop' } });
  // A raw request on a new client: the very first socket, so the transport's resend-on-a-stale-socket does not apply.
  const err = await t.throwsAsync<NodeJS.ErrnoException>(client.transport.json({
    verb: 'create', method: 'POST', path: collection, body: configMap(ns, 'dropped'),
  }));
  t.is(err?.code, 'ECONNRESET');
  t.is(await direct.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'dropped' }), undefined);
});

test('lose-response lets the apiserver act, then drops the answer', async (t) => {
  const { ns, proxy, client, direct, collection } = await setup(t);
  proxy.inject({ method: 'POST', path: collection, fault: { kind: 'lose-response' } });
  await t.throwsAsync(client.create(configMap(ns, 'acted')));
  t.truthy(await direct.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'acted' }), 'the write happened');
  t.is(proxy.requestsTo(collection, 'POST')[0]?.fault, 'lose-response');
});
