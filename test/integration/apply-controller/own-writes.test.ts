// The watch brings back every object a rollout writes, often before the answer
// of the write itself has been read. Such an event cannot be told from someone
// else's change yet; it is held until the answer comes and dropped if it was
// the answer. So a cold install is one reconcile, not one plus a reconcile for
// the events that beat their answers; and a change someone else makes is still
// corrected (drift.test.ts, noop.test.ts).
import anyTest from 'ava';
import type { PackageController } from '../../../apply-controller/reconcile/controller.ts';
import { createMetrics, type ControllerMetrics } from '../../../runtime/metrics.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, ArtifactPublisher, configMap, createPackage, createSource, isReadyAt, reconcileCount, releasePackagesOnTeardown, runLabel,
  settleReconciles, startPackageController, waitForPackage,
} from './support.ts';

const test = withCluster(anyTest);
const label = runLabel();
let publisher: ArtifactPublisher;
let packages: PackageController;
const metrics: ControllerMetrics = createMetrics();

test.before(async () => {
  const cluster = await useCluster();
  publisher = await ArtifactPublisher.start();
  // The default write concurrency, as in a real install: many creates in flight at once.
  ({ packages } = await startPackageController(cluster, label.selector, { metrics }));
});

test.after.always(async () => {
  await packages?.stop();
  await publisher?.stop();
});

test('a cold install of 600 ConfigMaps is one reconcile: its own writes coming back through the watch wake nothing', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const objects = Array.from({ length: 600 }, (_, i) => configMap(`cm-${String(i).padStart(4, '0')}`, { n: String(i) }));
  const artifact = await publisher.publish(ns, 'src', { 'all.yaml': objects });
  await createSource(client, ns, 'src', artifact);
  const before = await reconcileCount(metrics);
  await createPackage(client, ns, 'many', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  await waitForPackage(client, ns, 'many', (p) => isReadyAt(p, artifact.revision), 120_000);

  // Quiet for 2 s, with nothing queued or running.
  const after = await settleReconciles(packages, metrics, 2_000);
  t.is(after - before, 1, 'the install took exactly one reconcile');
});
