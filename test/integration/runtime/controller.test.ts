// A test controller over ConfigMaps (and a throwaway custom kind) against the
// real apiserver: bursts are de-duplicated, errors back off exponentially,
// requeueAfter / WaitingError delays are honored, StallingError waits for a
// change, concurrency is bounded, status-only updates are ignored, secondary
// watches map to owners, caches drop managedFields, and stop() waits for
// in-flight work.
import anyTest, { type ExecutionContext } from 'ava';
import { Controller, type ControllerOptions, type Reconciler } from '../../../runtime/controller.ts';
import { StallingError, WaitingError } from '../../../runtime/errors.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import { createLogger } from '../../../runtime/logging.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { REQUESTED_AT_ANNOTATION } from '../../../runtime/predicates.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { adminClient, createWidgetCrd, until, type Widget } from './support.ts';

const test = withCluster(anyTest);
const quiet = createLogger({ level: 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const cmRef = (namespace: string, name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name });

async function createConfigMap(client: KubeClient, namespace: string, name: string, data: Record<string, string> = {},
  labels: Record<string, string> = {}): Promise<void> {
  await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels }, data });
}

/** Starts a controller over the test namespace's ConfigMaps and stops it when the test ends. */
async function startController<T extends KubeObject>(t: ExecutionContext, client: KubeClient, namespace: string,
  reconcile: Reconciler<T>, extra: Partial<ControllerOptions<T>> = {}): Promise<Controller<T>> {
  const controller = new Controller<T>({
    client, resource: { apiVersion: 'v1', kind: 'ConfigMap', namespace }, reconcile, logger: quiet, ...extra,
  });
  t.teardown(() => controller.stop());
  await controller.start();
  return controller;
}

test('100 rapid updates to one object cost far fewer reconciles, and the last state is reconciled', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  await createConfigMap(client, ns, 'burst', { n: '-1' });
  let reconciles = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let lastSeen = '';
  await startController<ConfigMap>(t, client, ns, async (key, ctx) => {
    if (ctx.name !== 'burst') return;
    reconciles += 1;
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    // Level-based: read the object fresh, then spend some time "working".
    lastSeen = (await client.get<ConfigMap>(cmRef(ns, 'burst')))?.data?.n ?? '';
    // Longer than an update takes even on a loaded machine, so updates pile up while it runs.
    await sleep(250);
    inFlight -= 1;
  }, { concurrency: 4 });
  const updates = 100;
  for (let i = 0; i < updates; i++) await client.patch(cmRef(ns, 'burst'), { data: { n: String(i) } });
  await until(() => lastSeen === String(updates - 1) && inFlight === 0);
  t.log(`${updates} updates -> ${reconciles} reconciles`);
  t.true(reconciles < updates / 2, `${reconciles} reconciles for ${updates} updates`);
  t.is(maxInFlight, 1, 'never two workers on one key, despite 4 allowed');
});

test('errors back off exponentially per key', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  await createConfigMap(client, ns, 'failing');
  const attempts: number[] = [];
  const controller = await startController(t, client, ns, (_key, ctx) => {
    if (ctx.name !== 'failing') return Promise.resolve();
    attempts.push(performance.now());
    return Promise.reject(new Error('transient failure'));
  }, { queue: { backoffBaseMs: 20, backoffCapMs: 10_000 } });
  await until(() => attempts.length >= 6, 30_000, 20);
  await controller.stop();
  const gaps = attempts.slice(1, 6).map((at, i) => at - (attempts[i] as number));
  t.log(`gaps (ms): ${gaps.map((g) => g.toFixed(0)).join(', ')}`);
  // Timers never fire early (1 ms of rounding allowed): each gap is at least 20·2^i.
  gaps.forEach((gap, i) => t.true(gap >= 20 * 2 ** i - 1, `gap ${i} = ${gap.toFixed(1)} ms >= ${20 * 2 ** i} ms`));
});

test('requeueAfterMs and WaitingError delays are honored', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  await createConfigMap(client, ns, 'requeue');
  await createConfigMap(client, ns, 'waiting');
  const calls: Record<string, number[]> = { requeue: [], waiting: [] };
  await startController(t, client, ns, (_key, ctx) => {
    const starts = calls[ctx.name];
    if (!starts) return Promise.resolve();
    starts.push(performance.now());
    const first = starts.length === 1;
    if (ctx.name === 'requeue') return Promise.resolve(first ? { requeueAfterMs: 400 } : {});
    if (first) return Promise.reject(new WaitingError('DependencyNotReady', 'waiting for a dependency', { retryAfterMs: 400 }));
    return Promise.resolve();
  }, { queue: { backoffBaseMs: 5 } });
  await until(() => calls.requeue?.length === 2 && calls.waiting?.length === 2);
  for (const name of ['requeue', 'waiting']) {
    const [first, second] = calls[name] as [number, number];
    t.true(second - first >= 399, `${name}: called again ${(second - first).toFixed(0)} ms later (>= 400 ms asked)`);
  }
});

test('a StallingError is not retried until the object changes', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  await createConfigMap(client, ns, 'stalled', { url: 'ftp://bad' });
  let calls = 0;
  const controller = await startController<ConfigMap>(t, client, ns, async (_key, ctx) => {
    if (ctx.name !== 'stalled') return;
    calls += 1;
    const cm = await client.get<ConfigMap>(cmRef(ns, 'stalled'));
    if (cm?.data?.url?.startsWith('ftp:')) throw new StallingError('UnsupportedScheme', 'ftp is not supported');
  }, { queue: { backoffBaseMs: 5 } });
  await until(() => calls === 1);
  // With a 5 ms backoff a retried error would have run dozens of times by now.
  await sleep(750);
  t.is(calls, 1);
  t.is(controller.queue.failures(`${ns}/stalled`), 0, 'a stall is not counted as a failure');
  await client.patch(cmRef(ns, 'stalled'), { data: { url: 'https://good' } });
  await until(() => calls === 2);
  t.pass();
});

test('concurrency never exceeds the limit across many keys, and reaches it', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  const names = Array.from({ length: 12 }, (_, i) => `many-${i}`);
  await Promise.all(names.map((n) => createConfigMap(client, ns, n)));
  let inFlight = 0;
  let maxInFlight = 0;
  const done = new Set<string>();
  await startController(t, client, ns, async (_key, ctx) => {
    if (!ctx.name.startsWith('many-')) return;
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await sleep(150);
    inFlight -= 1;
    done.add(ctx.name);
  }, { concurrency: 3 });
  await until(() => done.size === names.length);
  t.is(maxInFlight, 3);
});

test('status-only changes do not wake the reconciler; spec changes and reconcile requests do', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  const type = await createWidgetCrd(t, client);
  await client.create<Widget>({ ...type, metadata: { name: 'w', namespace: ns }, spec: { size: 1 } });
  const ref = { ...type, namespace: ns, name: 'w' };
  let reconciles = 0;
  const controller = await startController<Widget>(t, client, ns, () => { reconciles += 1; return Promise.resolve(); },
    { resource: { ...type, namespace: ns } });
  await until(() => reconciles === 1);
  for (let i = 1; i <= 5; i++) await client.patchStatus(ref, { observed: i });
  // Watch events arrive in order: once the annotation's reconcile ran, the five
  // status events before it were seen (and filtered) too.
  await client.patch(ref, { metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: new Date().toISOString() } } });
  await until(() => reconciles >= 2);
  t.is(controller.informer.get(`${ns}/w`)?.status?.observed, 5, 'the status updates reached the informer');
  t.is(reconciles, 2, 'five status updates caused no reconcile; the reconcile request caused one');
  await client.patch(ref, { spec: { size: 2 } });
  await until(() => reconciles >= 3);
  t.is(reconciles, 3);
});

test('a secondary watch reconciles the owner its mapping names', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  await createConfigMap(client, ns, 'owner', {}, { role: 'primary' });
  const reconciled: string[] = [];
  await startController(t, client, ns, (key) => { reconciled.push(key); return Promise.resolve(); }, {
    resource: { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, labelSelector: 'role=primary' },
    watches: [{
      apiVersion: 'v1', kind: 'Secret', namespace: ns,
      mapToKeys: (s: KubeObject) => {
        const owner = s.metadata?.annotations?.['test.trellis.dev/owner'];
        return owner ? [`${s.metadata?.namespace}/${owner}`] : [];
      },
    }],
  });
  await until(() => reconciled.length === 1);
  await client.create({
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: ns, annotations: { 'test.trellis.dev/owner': 'owner' } },
    stringData: { token: 'x' },
  });
  await until(() => reconciled.length === 2);
  await client.patch({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'creds' }, { stringData: { token: 'y' } });
  await until(() => reconciled.length === 3);
  t.deepEqual(new Set(reconciled), new Set([`${ns}/owner`]), 'only the owner was reconciled; the Secret is not a primary');
});

test('the primary and secondary caches keep no managedFields; the apiserver does', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  await createConfigMap(client, ns, 'owner', { a: 'b' });
  await client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: ns }, stringData: { token: 'x' } });
  const secondaries: KubeObject[] = [];
  const controller = await startController<ConfigMap>(t, client, ns, () => Promise.resolve(), {
    watches: [{ apiVersion: 'v1', kind: 'Secret', namespace: ns, mapToKeys: (s: KubeObject) => { secondaries.push(s); return []; } }],
  });
  const live = await client.get(cmRef(ns, 'owner'));
  t.true((live?.metadata?.managedFields?.length ?? 0) > 0, 'the apiserver tracks field managers of the ConfigMap');
  const cached = controller.informer.get(`${ns}/owner`);
  t.is(cached?.metadata?.uid, live?.metadata?.uid);
  t.is(cached?.metadata?.managedFields, undefined);
  t.deepEqual(cached?.data, { a: 'b' }, 'everything else is kept');
  // Other Secrets may show up too (a service account's token Secret, made by kube-controller-manager).
  await until(() => secondaries.some((s) => s.metadata?.name === 'creds'));
  t.true(secondaries.every((s) => s.metadata?.managedFields === undefined), 'no Secret reached the mapping with managedFields');
});

test('stop() waits for in-flight reconciles and takes no new work', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  await createConfigMap(client, ns, 'slow');
  let release = (): void => undefined;
  const gate = new Promise<void>((r) => { release = r; });
  let started = 0;
  let finished = 0;
  const controller = await startController(t, client, ns, async (_key, ctx) => {
    if (ctx.name !== 'slow') return;
    started += 1;
    await gate;
    finished += 1;
  });
  await until(() => started === 1);
  let stopped = false;
  const stopping = controller.stop().then(() => { stopped = true; });
  await sleep(200);
  t.false(stopped, 'stop() is still waiting for the reconcile');
  release();
  await stopping;
  t.is(finished, 1, 'the in-flight reconcile completed before stop() resolved');
  await client.patch(cmRef(ns, 'slow'), { data: { after: 'stop' } });
  await sleep(300);
  t.is(started, 1, 'nothing ran after stop');
});

test('a change the controller calls stale aborts the reconcile in flight; abortInFlight aborts every one', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  await createConfigMap(client, ns, 'slow', { v: '1' });
  const seen: { v: string; aborted: boolean; reason: string }[] = [];
  let started = 0;
  const controller = await startController<ConfigMap>(t, client, ns, async (_key, ctx) => {
    if (ctx.name !== 'slow') return;
    const v = (await client.get<ConfigMap>(cmRef(ns, 'slow')))?.data?.v ?? '';
    started += 1; // counted once v is read, so the test's change cannot land before the read
    // A long piece of work that stops as soon as its signal says the attempt no longer counts.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 20_000);
      ctx.signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
    seen.push({ v, aborted: ctx.signal?.aborted ?? false, reason: ctx.signal?.aborted ? String((ctx.signal.reason as Error).message) : '' });
    if (ctx.signal?.aborted) throw ctx.signal.reason;
  }, {
    // Here a change of data.v makes the attempt stale (for Packages: a new generation).
    cancelOnUpdate: (o, n) => o.data?.v !== n.data?.v,
    predicate: (o, n) => o.data?.v !== n.data?.v,
  });
  await until(() => started === 1);
  await client.patch(cmRef(ns, 'slow'), { data: { v: '2' } });
  await until(() => seen.length === 1 && started === 2);
  t.deepEqual(seen[0], { v: '1', aborted: true, reason: `ConfigMap ${ns}/slow changed; this attempt is stale` });
  t.is(controller.queue.failures(`${ns}/slow`), 0, 'a cancelled attempt is not counted as a failure');

  controller.abortInFlight('lost the leader lease');
  await until(() => seen.length === 2);
  t.deepEqual(seen[1], { v: '2', aborted: true, reason: 'lost the leader lease' });
});
