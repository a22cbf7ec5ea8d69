// The transport against the real apiserver behind a faulting proxy: throttled
// requests (429, 503 with Retry-After) are resent after the wait the server asked
// for, a bounded number of times, abortably; the whole process pauses after a
// throttle; watches are never resent; APF response headers retire the
// client-side safety net. Attempts and order are read from the proxy's log.
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { isConflict, type KubeApiError } from '../../../runtime/kube-transport.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { serverError, startFaultingProxy, throttle, type FaultingProxy, type ProxyLogEntry } from '../../support/faulting-proxy.ts';
import { adminClient, until } from './support.ts';

const test: TestFn = withCluster(anyTest);

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

interface Bed {
  readonly ns: string;
  readonly proxy: FaultingProxy;
  /** A client through the proxy, with the default flow control. */
  readonly client: KubeClient;
  /** The proxy path of ConfigMap `name` of the test namespace. */
  readonly cmPath: (name: string) => string;
  /** Creates ConfigMap `name` directly (not through the proxy). */
  readonly seed: (name: string) => Promise<void>;
}

async function bed(t: ExecutionContext, options: { readonly throttleAttempts?: number } = {}): Promise<Bed> {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const proxy = await startFaultingProxy(cluster.kubeConfig);
  t.teardown(() => proxy.stop());
  const client = new KubeClient(proxy.kubeConfig, { userAgent: 'trellis-throttling-test', ...options });
  t.teardown(() => client.transport.close());
  const direct = adminClient(cluster);
  return {
    ns, proxy, client,
    cmPath: (name) => `/api/v1/namespaces/${ns}/configmaps/${name}`,
    seed: async (name) => { await direct.create<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { k: name } }); },
  };
}

const cmRef = (namespace: string, name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name });
const statuses = (entries: readonly ProxyLogEntry[]): Array<number | undefined> => entries.map((e) => e.status);
const gaps = (entries: readonly ProxyLogEntry[]): number[] => entries.slice(1).map((e, i) => e.at - entries[i]!.at);

test('a request throttled twice with Retry-After: 1 succeeds on the third attempt, each after the advertised wait', async (t) => {
  const { ns, proxy, client, cmPath, seed } = await bed(t);
  await seed('a');
  const rule = proxy.inject({ method: 'GET', path: cmPath('a'), times: 2, fault: throttle('1') });

  const got = await client.get<ConfigMap>(cmRef(ns, 'a'));

  t.is(got?.data?.k, 'a');
  const attempts = proxy.requestsTo(cmPath('a'));
  t.deepEqual(statuses(attempts), [429, 429, 200], 'two injected 429s, then the apiserver answered');
  t.is(rule.hits, 2);
  for (const gap of gaps(attempts)) t.true(gap >= 1000, `resent ${gap} ms after a 429 that asked for 1 s`);
  t.is(client.requests.count('get'), 1, 'still one logical request');
  t.is(client.requests.throttled('get'), 2);
});

test('a write answered 503 with Retry-After is sent again; without Retry-After it fails at once', async (t) => {
  const { ns, proxy, client } = await bed(t);
  const collection = `/api/v1/namespaces/${ns}/configmaps`;
  proxy.inject({ method: 'POST', path: collection, fault: serverError(503, { 'retry-after': '1' }) });
  const created = await client.create<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: ns }, data: {} });
  t.truthy(created.metadata?.uid);
  t.deepEqual(statuses(proxy.requestsTo(collection, 'POST')), [503, 201]);
  t.is(client.requests.count('create'), 1);

  proxy.inject({ method: 'POST', path: collection, fault: serverError(503) });
  const err = await t.throwsAsync<KubeApiError>(client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: ns } }));
  t.is(err?.statusCode, 503);
  t.deepEqual(statuses(proxy.requestsTo(collection, 'POST')), [503, 201, 503], 'not resent: the server promised nothing');
  t.is(client.requests.throttled(), 1, 'a plain 503 is a failure, not a throttle');
  t.false(isConflict(err));
});

test('a request throttled on every attempt fails with a clear error after the bound', async (t) => {
  const { ns, proxy, client, cmPath } = await bed(t, { throttleAttempts: 3 });
  proxy.inject({ method: 'GET', path: cmPath('forever'), times: Infinity, fault: throttle('1') });

  const err = await t.throwsAsync<KubeApiError>(client.get(cmRef(ns, 'forever')));

  t.is(err?.statusCode, 429);
  t.is(err?.reason, 'TooManyRequests');
  t.regex(err?.message ?? '', /throttled this request on all 3 attempts; giving up/);
  t.regex(err?.message ?? '', new RegExp(`GET ${cmPath('forever')}`));
  t.deepEqual(statuses(proxy.requestsTo(cmPath('forever'))), [429, 429, 429], 'exactly the bound, no more');
  t.is(client.requests.throttled(), 3);
});

test('an aborted signal ends the wait between attempts; nothing is sent after it', async (t) => {
  const { proxy, client, cmPath } = await bed(t);
  proxy.inject({ method: 'GET', path: cmPath('x'), times: Infinity, fault: throttle('10') });
  const abort = new AbortController();
  const pending = client.transport.json({ verb: 'get', method: 'GET', path: cmPath('x'), signal: abort.signal });
  const settled = pending.then(() => 'resolved', () => 'rejected');
  await until(() => client.requests.throttled() === 1);

  abort.abort(new Error('reconcile cancelled'));

  t.is(await settled, 'rejected');
  t.is(proxy.requestsTo(cmPath('x')).length, 1, 'the retry loop stopped while it waited');
});

test('after a throttle, other requests of the process wait too instead of hammering on', async (t) => {
  const { ns, proxy, client, cmPath, seed } = await bed(t);
  await seed('a');
  await seed('b');
  proxy.inject({ method: 'GET', path: cmPath('a'), fault: throttle('1') });
  const first = client.get<ConfigMap>(cmRef(ns, 'a'));
  await until(() => client.requests.throttled() === 1);

  const second = await client.get<ConfigMap>(cmRef(ns, 'b'));

  t.is(second?.data?.k, 'b');
  t.is((await first)?.data?.k, 'a');
  const [throttled] = proxy.requestsTo(cmPath('a'));
  const [other] = proxy.requestsTo(cmPath('b'));
  t.true(other!.seq > throttled!.seq);
  t.true(other!.at - throttled!.at >= 1000, 'an unthrottled request waited for the pause the 429 asked for');
});

test('a throttled watch is not resent', async (t) => {
  const { ns, proxy, client } = await bed(t);
  const watchPath = new RegExp(`^/api/v1/namespaces/${ns}/configmaps\\?(.*&)?watch=(1|true)`);
  proxy.inject({ method: 'GET', path: watchPath, times: Infinity, fault: throttle('1') });
  const err = await t.throwsAsync<KubeApiError>(client.watch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns }, {}, () => undefined));
  t.is(err?.statusCode, 429);
  t.regex(err?.message ?? '', /watches are not resent/);
  t.is(proxy.requestsTo(watchPath).length, 1);
  t.is(client.requests.throttled('watch'), 1);
});

test('the client keeps its safety-net limit against an apiserver without APF and drops it once responses carry APF headers', async (t) => {
  const { ns, proxy, client, seed } = await bed(t);
  await seed('a');
  // An apiserver without APF: the proxy removes the headers the local control plane (APF on) sends.
  proxy.inject({ times: Infinity, fault: { kind: 'drop-headers', names: ['X-Kubernetes-PF-FlowSchema-UID', 'X-Kubernetes-PF-PriorityLevel-UID'] } });
  await client.get(cmRef(ns, 'a'));
  t.false(client.transport.limiter.apfSeen);
  t.truthy(client.transport.limiter.bucket, 'the safety net stays');

  proxy.clearFaults();
  proxy.inject({
    times: Infinity,
    fault: { kind: 'add-headers', headers: { 'X-Kubernetes-PF-FlowSchema-UID': 'fs-uid', 'X-Kubernetes-PF-PriorityLevel-UID': 'pl-uid' } },
  });
  await client.get(cmRef(ns, 'a'));
  t.true(client.transport.limiter.apfSeen);
  t.is(client.transport.limiter.bucket, undefined, 'no client-side bucket once the apiserver does the limiting');

  const fixed = new KubeClient(proxy.kubeConfig, { qps: 20, burst: 40 });
  t.teardown(() => fixed.transport.close());
  await fixed.get(cmRef(ns, 'a'));
  t.true(fixed.transport.limiter.apfSeen);
  t.is(fixed.transport.limiter.bucket?.qps, 20, 'explicit flags keep their fixed limit');
});
