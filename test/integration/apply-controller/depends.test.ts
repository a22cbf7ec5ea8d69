// dependsOn against the real apiserver: a Package waits, saying for what, until
// each dependency is Ready at its latest revision, and is woken when it is.
import anyTest from 'ava';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, ArtifactPublisher, conditionOf, configMap, createPackage, createSource, deployment, getObject, isReadyAt,
  releasePackagesOnTeardown, runLabel, setArtifact, startPackageController, waitForPackage,
} from './support.ts';

const test = withCluster(anyTest);
const label = runLabel();
let publisher: ArtifactPublisher;
let stopController: (() => Promise<void>) | undefined;

test.before(async () => {
  const cluster = await useCluster();
  publisher = await ArtifactPublisher.start();
  // A long dependency requeue: only the dependency's own change can wake the dependent in time.
  const { packages } = await startPackageController(cluster, label.selector, { dependencyRequeueMs: 600_000 });
  stopController = () => packages.stop();
});

test.after.always(async () => {
  await stopController?.();
  await publisher?.stop();
});

test('a Package waits for its dependency to be Ready at its latest revision, then applies', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);

  const baseBad = await publisher.publish(ns, 'base-src', { 'db.yaml': [deployment('db', 'nginx:fail')] });
  const app = await publisher.publish(ns, 'app-src', { 'app.yaml': [configMap('app-config', {})] });
  await createSource(client, ns, 'base-src', baseBad);
  await createSource(client, ns, 'app-src', app);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'app-src' }, dependsOn: [{ name: 'base' }] });

  // The dependency does not exist yet.
  const missing = await waitForPackage(client, ns, 'app', (p) => conditionOf(p, 'Ready')?.reason === 'DependencyNotReady');
  t.true(conditionOf(missing, 'Ready')?.message.includes(`waiting for dependency ${ns}/base: it does not exist`), conditionOf(missing, 'Ready')?.message);

  // It exists but does not become healthy: still waiting, nothing applied.
  await createPackage(client, ns, 'base', label, { sourceRef: { kind: 'OCIRepository', name: 'base-src' }, timeout: '2s' });
  await waitForPackage(client, ns, 'base', (p) => conditionOf(p, 'HealthCheckFailed')?.status === 'True');
  const waiting = await waitForPackage(client, ns, 'app', (p) => conditionOf(p, 'Ready')?.message.includes('it is not Ready') === true);
  t.is(conditionOf(waiting, 'Ready')?.status, 'False');
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'app-config'), undefined, 'nothing applied while the dependency is not Ready');

  // The dependency becomes Ready at a new revision: the dependent is woken and applies.
  const baseGood = await publisher.publish(ns, 'base-src', { 'db.yaml': [deployment('db', 'nginx:1.25')] });
  await setArtifact(client, ns, 'base-src', baseGood);
  const base = await waitForPackage(client, ns, 'base', (p) => isReadyAt(p, baseGood.revision));
  const ready = await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, app.revision));
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'app-config'));
  const baseReadyAt = Date.parse(conditionOf(base, 'Ready')?.lastTransitionTime ?? '');
  const appReadyAt = Date.parse(conditionOf(ready, 'Ready')?.lastTransitionTime ?? '');
  t.true(appReadyAt >= baseReadyAt, 'the dependent became Ready after its dependency');
});
