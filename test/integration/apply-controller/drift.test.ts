// Drift against the real apiserver: out-of-band edits and deletes of managed
// objects are corrected within seconds (mode correct), reported (warn) or left
// alone (ignore); drift.ignore paths belong to others.
import anyTest, { type ExecutionContext } from 'ava';
import type { PackageSpecInput } from '../../../apply-controller/api.ts';
import { REQUESTED_AT_ANNOTATION } from '../../../runtime/predicates.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, usePackageTestBed, conditionOf, configMap, createPackage, createSource, deployment, eventsAbout, getObject,
  isReadyAt, releasePackagesOnTeardown, runLabel, waitForPackage,
} from './support.ts';

const test = withCluster(anyTest);
const label = runLabel();
const bed = usePackageTestBed(test, label);

type ConfigMap = KubeObject & { data?: Record<string, string> };
type Deployment = KubeObject & { spec?: { replicas?: number } };

/** A namespace with an installed Package `app` (ConfigMap `cm`, Deployment `web`). */
async function installed(t: ExecutionContext, spec: Partial<PackageSpecInput> = {}): Promise<{ client: KubeClient; ns: string }> {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const artifact = await bed().publisher.publish(ns, 'src', { 'app.yaml': [configMap('cm', { k: 'v' }), deployment('web')] });
  await createSource(client, ns, 'src', artifact);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, ...spec });
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, artifact.revision));
  return { client, ns };
}

const cmRef = (ns: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cm' });

/** Asks for a reconcile and waits until the controller handled it. */
async function requestReconcile(client: KubeClient, ns: string): Promise<void> {
  const at = new Date().toISOString() + Math.random().toString(36).slice(2, 6);
  await client.patch({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'app' },
    { metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: at } } });
  await waitForPackage(client, ns, 'app', (p) => p.status?.lastHandledReconcileAt === at);
}

test('an out-of-band edit is reverted and an out-of-band delete is re-created', async (t) => {
  const { client, ns } = await installed(t);

  let started = Date.now();
  await client.patch(cmRef(ns), { data: { k: 'hacked', extra: 'added by hand' } });
  await eventually(async () => (await getObject<ConfigMap>(client, 'v1', 'ConfigMap', ns, 'cm'))?.data?.k === 'v', 60_000, 50);
  t.log(`edit reverted in ${Date.now() - started} ms`);

  const before = await getObject(client, 'v1', 'ConfigMap', ns, 'cm');
  started = Date.now();
  await client.delete(cmRef(ns));
  const recreated = await eventually(async () => {
    const cm = await getObject<ConfigMap>(client, 'v1', 'ConfigMap', ns, 'cm');
    return cm && cm.metadata?.uid !== before?.metadata?.uid ? cm : undefined;
  }, 60_000, 50);
  t.log(`delete re-created in ${Date.now() - started} ms`);
  t.is(recreated.data?.k, 'v');

  started = Date.now();
  await client.patch({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' }, { spec: { replicas: 3 } });
  await eventually(async () => (await getObject<Deployment>(client, 'apps/v1', 'Deployment', ns, 'web'))?.spec?.replicas === 1, 60_000, 50);
  t.log(`Deployment scale reverted in ${Date.now() - started} ms`);

  const events = await eventually(async () => {
    const found = await eventsAbout(client, ns, 'app');
    return found.some((e) => e.reason === 'DriftCorrected') ? found : undefined;
  });
  // One shared, label-selected informer per managed kind, whatever the number of Packages.
  t.deepEqual(bed().packages.cache.kinds.sort(), ['/ConfigMap', 'apps/Deployment']);
  t.true(events.some((e) => e.reason === 'DriftCorrected' && /1 (configured|created)/.test(e.note)), JSON.stringify(events));
});

test('drift.ignore paths are left to their other owner', async (t) => {
  const { client, ns } = await installed(t, {
    drift: { ignore: [{ paths: ['/spec/replicas'], target: { group: 'apps', kind: 'Deployment' } }] },
  });
  await client.patch({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' }, { spec: { replicas: 2 } });
  await client.patch(cmRef(ns), { data: { k: 'hacked' } });
  // The ConfigMap edit is drift and is corrected; the replica count is someone else's.
  await eventually(async () => (await getObject<ConfigMap>(client, 'v1', 'ConfigMap', ns, 'cm'))?.data?.k === 'v', 60_000, 50);
  await requestReconcile(client, ns);
  t.is((await getObject<Deployment>(client, 'apps/v1', 'Deployment', ns, 'web'))?.spec?.replicas, 2);
});

test('warn mode reports drift with DriftDetected and an event, and writes nothing', async (t) => {
  const { client, ns } = await installed(t, { drift: { mode: 'warn' } });

  await client.patch(cmRef(ns), { data: { k: 'hacked' } });
  const warned = await waitForPackage(client, ns, 'app', (p) => conditionOf(p, 'DriftDetected')?.status === 'True');
  const drift = conditionOf(warned, 'DriftDetected');
  t.true(drift?.message.includes(`ConfigMap/${ns}/cm`), drift?.message);
  t.is(conditionOf(warned, 'Ready')?.status, 'True', 'the revision is still applied; drift is reported beside it');
  t.is((await getObject<ConfigMap>(client, 'v1', 'ConfigMap', ns, 'cm'))?.data?.k, 'hacked', 'nothing was reverted');
  const events = await eventually(async () => (await eventsAbout(client, ns, 'app')).find((e) => e.reason === 'DriftDetected'));
  t.is(events.type, 'Warning');

  // Deleting is drift too, and is not undone either.
  await client.delete(cmRef(ns));
  const deleted = await waitForPackage(client, ns, 'app', (p) => conditionOf(p, 'DriftDetected')?.message.includes('(deleted)') === true);
  t.true(conditionOf(deleted, 'DriftDetected')?.message.includes(`ConfigMap/${ns}/cm (deleted)`));
  await requestReconcile(client, ns);
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'cm'), undefined);

  // Put back by hand: the condition goes.
  await client.create(configMap('cm', { k: 'v' }, { namespace: ns }));
  await client.patch(cmRef(ns), { metadata: { labels: { 'apply.trellis.dev/package': 'app', 'apply.trellis.dev/package-namespace': ns } } });
  await requestReconcile(client, ns);
  const clean = await waitForPackage(client, ns, 'app', (p) => conditionOf(p, 'DriftDetected') === undefined);
  t.is(conditionOf(clean, 'Ready')?.status, 'True');
});

test('ignore mode leaves out-of-band changes alone and reports nothing', async (t) => {
  const { client, ns } = await installed(t, { drift: { mode: 'ignore' } });
  await client.patch(cmRef(ns), { data: { k: 'hacked' } });
  await requestReconcile(client, ns);
  const pkg = await waitForPackage(client, ns, 'app', (p) => isReadyAt(p));
  t.is((await getObject<ConfigMap>(client, 'v1', 'ConfigMap', ns, 'cm'))?.data?.k, 'hacked');
  t.is(conditionOf(pkg, 'DriftDetected'), undefined);
});
