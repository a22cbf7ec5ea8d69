// A reconcile with no new source revision, no values change and no drift makes
// no request at all for the package's objects (planning reads the managed-object
// cache), zero writes, and neither downloads nor reads the bundle again: counted
// by the controller's own request counter and, independently, by the apiserver's
// apiserver_request_total on a resource only this test touches (the kind of a
// CRD with a unique group). A drift is then corrected with one write.
import { randomBytes } from 'node:crypto';
import anyTest from 'ava';
import type { PackageController } from '../../../apply-controller/reconcile/controller.ts';
import { listRevisions } from '../../../apply-controller/revisions/index.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import { createMetrics, type ControllerMetrics } from '../../../runtime/metrics.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { apiserverRequestTotals, countFor } from './apiserver-metrics.ts';
import {
  adminClient, ArtifactPublisher, configMap, createPackage, createSource, deployment, getObject, getPackage, isReadyAt,
  reconcileCount, releasePackagesOnTeardown, runLabel, settleReconciles, startPackageController, waitForPackage,
} from './support.ts';

const test = withCluster(anyTest);
const label = runLabel();
let publisher: ArtifactPublisher;
let packages: PackageController;
let controllerClient: KubeClient;
const metrics: ControllerMetrics = createMetrics();

test.before(async () => {
  const cluster = await useCluster();
  publisher = await ArtifactPublisher.start();
  const started = await startPackageController(cluster, label.selector, { metrics, allowCrossNamespaceRefs: true });
  packages = started.packages;
  controllerClient = started.client;
});

test.after.always(async () => {
  await packages?.stop();
  await publisher?.stop();
});

/** Reconciles finished so far. */
const reconciles = (): Promise<number> => reconcileCount(metrics);

/** Waits until no reconcile ran for `quietMs` and nothing is queued or running. */
async function settle(quietMs = 1_500): Promise<void> {
  await settleReconciles(packages, metrics, quietMs);
}

/** Queues the key and waits until that reconcile finished. */
async function reconcileOnce(key: string): Promise<void> {
  const before = await reconciles();
  packages.controller.enqueue(key);
  await eventually(async () => (await reconciles()) > before && packages.controller.queue.inFlight === 0, 30_000, 20);
}

test('a reconcile without source, values or drift changes writes nothing and downloads nothing', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const group = `n${randomBytes(4).toString('hex')}.noop.test.trellis.dev`;
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `gizmos.${group}` },
    spec: {
      group, scope: 'Namespaced', names: { plural: 'gizmos', singular: 'gizmo', kind: 'Gizmo', listKind: 'GizmoList' },
      versions: [{
        name: 'v1', served: true, storage: true,
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } },
      }],
    },
  };
  const gizmo = (name: string) => ({ apiVersion: `${group}/v1`, kind: 'Gizmo', metadata: { name }, spec: { size: 1 } });
  const artifact = await publisher.publish(ns, 'src', {
    'crd.yaml': [crd], 'gizmos.yaml': [gizmo('one'), gizmo('two')], 'app.yaml': [configMap('cfg', { a: '1' }), deployment('web')],
  });
  await createSource(client, ns, 'src', artifact);
  await createPackage(client, ns, 'quiet', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  await waitForPackage(client, ns, 'quiet', (p) => isReadyAt(p, artifact.revision), 90_000);
  t.teardown(async () => {
    await client.delete({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'quiet' }).catch(() => undefined);
    await eventually(async () => (await getPackage(client, ns, 'quiet')) === undefined, 30_000).catch(() => undefined);
  });
  await settle();

  const key = `${ns}/quiet`;
  const statusBefore = (await getPackage(client, ns, 'quiet'))?.metadata.resourceVersion;
  // The controller's last status write has come back through its watch (on a loaded machine it may lag the write).
  await eventually(() => Promise.resolve(packages.controller.informer.get(key)?.metadata?.resourceVersion === statusBefore), 30_000, 50);
  const counted = controllerClient.requests.snapshot();
  const writesBefore = controllerClient.requests.writes();
  const apiBefore = countFor(await apiserverRequestTotals(cluster.kubeConfig), group, 'gizmos');
  const cacheBefore = { ...packages.artifacts.stats };

  for (let i = 0; i < 3; i++) await reconcileOnce(key);

  const apiAfter = countFor(await apiserverRequestTotals(cluster.kubeConfig), group, 'gizmos');
  const requests = controllerClient.requests;
  t.log(`controller requests during 3 reconciles: ${JSON.stringify(Object.fromEntries(Object.entries(requests.snapshot())
    .map(([verb, n]) => [verb, n - (counted[verb] ?? 0)]).filter(([, n]) => n !== 0)))}`);
  t.is(requests.writes() - writesBefore, 0, 'the controller sent no write request');
  t.is(requests.count('apply', true) - (counted['apply:dryRun'] ?? 0), 0, 'no dry run: the cache answered');
  const total = Object.entries(requests.snapshot()).reduce((sum, [verb, n]) => sum + n - (counted[verb] ?? 0), 0);
  // (The apiserver's read count of the custom resources is no witness here: the namespace controller lists
  // every kind while other tests' namespaces are deleted. The controller's own count covers its reads.)
  // The Package, its source and its history come from the informers: a no-op reconcile sends no request at all.
  t.is(total, 0, `no request in 3 no-op reconciles, got ${total}`);
  t.is(requests.count('list') - (counted.list ?? 0), 0, 'the history comes from the watched revisions, not a list');
  t.is(apiAfter.writes - apiBefore.writes, 0, 'the apiserver counted no write to the package\'s custom resources');
  t.is(apiAfter.dryRuns - apiBefore.dryRuns, 0, 'the apiserver saw no dry run of them either');
  t.is(packages.artifacts.stats.downloads - cacheBefore.downloads, 0, 'the artifact was not downloaded again');
  t.is(packages.artifacts.stats.hits - cacheBefore.hits, 0, 'the bundle was not even read again (same digest, values and path)');
  t.is((await getPackage(client, ns, 'quiet'))?.metadata.resourceVersion, statusBefore, 'the Package was not written (no status patch)');
  t.is((await listRevisions(client, ns, 'quiet')).length, 1);

  // The same witnesses do see a write: an out-of-band edit is corrected.
  const appliesBeforeDrift = requests.count('apply');
  await client.patch({ apiVersion: `${group}/v1`, kind: 'Gizmo', namespace: ns, name: 'one' }, { spec: { size: 5 } });
  await eventually(async () => (await getObject<KubeObject & { spec?: { size?: number } }>(client, `${group}/v1`, 'Gizmo', ns, 'one'))?.spec?.size === 1);
  await settle(500);
  const apiDrift = countFor(await apiserverRequestTotals(cluster.kubeConfig), group, 'gizmos');
  t.is(requests.count('apply') - appliesBeforeDrift, 1, 'the correction is one apply of the controller, for the one object (besides it: the Event)');
  t.is(apiDrift.writes - apiAfter.writes, 2, 'the apiserver counted the edit and the correction, nothing else');
  t.is(apiDrift.dryRuns - apiAfter.dryRuns, 0, 'and no dry run');

  // Uninstall checks the labels on the cached copies: each object costs its delete, not a read first.
  await settle(500);
  const uninstallBefore = requests.snapshot();
  const deletesBefore = requests.count('delete');
  await client.delete({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'quiet' });
  await eventually(async () => (await getPackage(client, ns, 'quiet')) === undefined, 30_000);
  t.is(requests.count('delete') - deletesBefore, 5, 'one delete per object (the CRD, two Gizmos, the ConfigMap, the Deployment)');
  // (How many reads it took depends on how fresh the cache is under load: ssa/wait-delete.test.ts counts them exactly.)
  t.log(`uninstall requests: ${JSON.stringify(Object.fromEntries(Object.entries(requests.snapshot())
    .map(([verb, n]) => [verb, n - (uninstallBefore[verb] ?? 0)]).filter(([, n]) => n !== 0)))}`);
});
