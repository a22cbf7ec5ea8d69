// Engine v2 against the real apiserver: a Package waiting for health holds no
// worker (with one worker, unhealthy Packages do not delay another Package's
// install or drift correction), and a controller restarted on a warm cluster
// writes nothing and dry-runs nothing that its cache can decide.
import anyTest from 'ava';
import { conditionOf } from './support.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, ArtifactPublisher, configMap, createPackage, createSource, deployment, eventsAbout, getObject, getPackage, isReadyAt,
  patchSpec, releasePackagesOnTeardown, runLabel, setArtifact, startPackageController, waitForPackage,
} from './support.ts';

const test = withCluster(anyTest);
let publisher: ArtifactPublisher;

test.before(async () => {
  publisher = await ArtifactPublisher.start();
});

test.after.always(async () => {
  await publisher?.stop();
});

type ConfigMap = KubeObject & { data?: Record<string, string> };

test('Packages waiting for health hold no worker: with one worker another Package still installs and has its drift corrected', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const label = runLabel();
  const { packages } = await startPackageController(cluster, label.selector, { concurrency: 1 });
  t.teardown(() => packages.stop());

  // Three Packages that never become healthy (the simulated node fails to pull `:fail` images).
  for (const i of [1, 2, 3]) {
    const artifact = await publisher.publish(ns, `bad${i}`, { 'app.yaml': [deployment(`bad${i}`, 'nginx:fail')] });
    await createSource(client, ns, `bad${i}`, artifact);
    await createPackage(client, ns, `bad${i}`, label, { sourceRef: { kind: 'OCIRepository', name: `bad${i}` }, timeout: '10m' });
  }
  for (const i of [1, 2, 3]) {
    const waiting = await waitForPackage(client, ns, `bad${i}`, (p) => conditionOf(p, 'Reconciling')?.message?.includes('waiting for 1 object') === true);
    t.is(conditionOf(waiting, 'Ready')?.status, 'Unknown', 'waiting for health is neither Ready nor failed');
  }
  // Wake-ups (the Deployments' status moves) run briefly; between them the one worker is free.
  t.true(await eventually(() => Promise.resolve(packages.controller.queue.inFlight === 0), 10_000, 10), 'no worker is held by a Package waiting for health');

  const artifact = await publisher.publish(ns, 'good', { 'app.yaml': [configMap('cm', { k: 'v' })] });
  await createSource(client, ns, 'good', artifact);
  await createPackage(client, ns, 'good', label, { sourceRef: { kind: 'OCIRepository', name: 'good' } });
  await waitForPackage(client, ns, 'good', (p) => isReadyAt(p, artifact.revision), 30_000);

  await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cm' }, { data: { k: 'hacked' } });
  await eventually(async () => (await getObject<ConfigMap>(client, 'v1', 'ConfigMap', ns, 'cm'))?.data?.k === 'v', 30_000, 50);
  const events = await eventually(async () => {
    const found = await eventsAbout(client, ns, 'good');
    return found.find((e) => e.reason === 'DriftCorrected');
  });
  t.regex(events.note, /1 configured \(ConfigMap\/.+\/cm\)/, 'the Event names the corrected object');
  for (const i of [1, 2, 3]) {
    const still = await getPackage(client, ns, `bad${i}`);
    t.is(conditionOf(still!, 'Ready')?.status, 'Unknown', `bad${i} is still waiting`);
  }
});

test('a pin waiting for its objects to become healthy holds no worker either', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const label = runLabel();
  const { packages } = await startPackageController(cluster, label.selector, { concurrency: 1 });
  t.teardown(() => packages.stop());

  // Revision 1 never becomes healthy; revision 2 (a ConfigMap) does.
  const v1 = await publisher.publish(ns, 'src', { 'app.yaml': [deployment('stuck', 'nginx:fail')] });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, timeout: '10m' });
  await waitForPackage(client, ns, 'app', (p) => conditionOf(p, 'Reconciling')?.message?.includes('waiting for 1 object') === true);
  const v2 = await publisher.publish(ns, 'src', { 'app.yaml': [configMap('cm', { k: 'v' })] });
  await setArtifact(client, ns, 'src', v2);
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v2.revision));

  await patchSpec(client, ns, 'app', { rollback: { revision: 1 } });
  const pinning = await waitForPackage(client, ns, 'app',
    (p) => conditionOf(p, 'Reconciling')?.message?.startsWith('Pinning to revision 1') === true);
  t.regex(conditionOf(pinning, 'Reconciling')?.message ?? '', /waiting for 1 object\(s\).*stuck/);
  t.is(conditionOf(pinning, 'Ready')?.status, 'Unknown');
  t.truthy(await getObject(client, 'apps/v1', 'Deployment', ns, 'stuck'), 'the pinned revision was applied');
  t.true(await eventually(() => Promise.resolve(packages.controller.queue.inFlight === 0), 10_000, 10),
    'no worker is held while the pinned revision becomes healthy');
});

test('an automatic rollback whose restore becomes healthy slowly holds no worker, and finishes when it is healthy', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const label = runLabel();
  const { packages } = await startPackageController(cluster, label.selector, { concurrency: 1 });
  t.teardown(() => packages.stop());

  // Revision 1's Pods count as available only 15 s after they are ready: every rollout of it takes that long.
  const slow = (image: string, extra: object = {}): object => {
    const base = deployment('slow', image) as { spec: object };
    return { ...base, spec: { ...base.spec, minReadySeconds: 15, ...extra } };
  };
  const v1 = await publisher.publish(ns, 'src', { 'app.yaml': [slow('nginx:1.25'), configMap('kept', { by: 'v1' })] });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, timeout: '2m', rollback: { onFailure: true } });
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v1.revision), 90_000);
  await patchSpec(client, ns, 'app', { timeout: '3s' });

  // Revision 2 replaces the Pod (the old one goes first) with one that never starts: it fails, and restoring revision 1 takes 15 s.
  const v2 = await publisher.publish(ns, 'src', {
    'app.yaml': [slow('nginx:fail', { strategy: { rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } } }), configMap('added', { by: 'v2' })],
  });
  await setArtifact(client, ns, 'src', v2);
  const restoring = await waitForPackage(client, ns, 'app',
    (p) => conditionOf(p, 'RolledBack')?.message?.includes('restoring revision 1; waiting for 1 object(s)') === true, 60_000);
  t.regex(conditionOf(restoring, 'RolledBack')?.message ?? '', /revision 2 .*failed \(HealthCheckFailed\); rolled back to revision 1 .*Deployment\/.+\/slow/);
  t.is(conditionOf(restoring, 'Ready')?.reason, 'RolledBack');
  t.not(conditionOf(restoring, 'Stalled')?.status, 'True', 'not stalled while the restore becomes healthy');
  t.is(restoring.status?.currentRevision, 1, 'the cluster runs revision 1 again');
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'added'), 'nothing is pruned before the restore is healthy');
  t.true(await eventually(() => Promise.resolve(packages.controller.queue.inFlight === 0), 10_000, 10),
    'no worker is held while the restored revision becomes healthy');

  const done = await waitForPackage(client, ns, 'app', (p) => conditionOf(p, 'Stalled')?.status === 'True', 60_000);
  t.notRegex(conditionOf(done, 'RolledBack')?.message ?? '', /restoring/);
  t.is(conditionOf(done, 'Ready')?.reason, 'RolledBack');
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'added'), undefined, 'what revision 2 added is pruned once the restore is healthy');
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'kept'));
  const events = await eventually(async () => {
    const found = await eventsAbout(client, ns, 'app');
    return found.some((e) => e.reason === 'Restored') ? found : undefined;
  });
  t.is(events.filter((e) => e.reason === 'RolledBack').length, 1, 'the rollback is announced once, not at every wake-up');
  t.regex(events.find((e) => e.reason === 'Restored')?.note ?? '', /rolled back to revision 1, which is healthy again/);
});

test('a controller restarted on a warm cluster writes nothing and needs no dry run for what its cache can decide', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const label = runLabel();
  const first = await startPackageController(cluster, label.selector);
  const objects = [configMap('a', { k: '1' }), configMap('b', { k: '2' }), deployment('web')];
  const artifact = await publisher.publish(ns, 'src', { 'app.yaml': objects });
  await createSource(client, ns, 'src', artifact);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, artifact.revision));
  await first.packages.stop();
  const rvs = async (): Promise<(string | undefined)[]> => Promise.all([
    getObject(client, 'v1', 'ConfigMap', ns, 'a'), getObject(client, 'v1', 'ConfigMap', ns, 'b'), getObject(client, 'apps/v1', 'Deployment', ns, 'web'),
    getPackage(client, ns, 'app'),
  ].map(async (p) => (await p)?.metadata?.resourceVersion));
  const before = await rvs();

  // A new process: an empty cache and no memory of what was sent.
  const second = await startPackageController(cluster, label.selector);
  t.teardown(() => second.packages.stop());
  const handled = await eventually(() => Promise.resolve(second.client.requests.count('get') > 0 && second.packages.controller.queue.inFlight === 0
    && second.packages.controller.queue.depth === 0), 30_000, 50);
  t.true(handled);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  t.log(`requests after restart: ${JSON.stringify(second.client.requests.snapshot())}`);
  t.is(second.client.requests.writes(), 0, 'the restarted controller wrote nothing');
  t.is(second.client.requests.count('apply', true), 0, 'and dry-ran nothing: the cached objects contain every declared field');
  t.deepEqual(await rvs(), before, 'no object and not the Package changed');
});
