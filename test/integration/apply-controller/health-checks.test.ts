// User-defined health checks against the real apiserver: a custom resource
// whose controller reports readiness only in `status.phase` (the test plays
// that controller, writing the status subresource). kstatus alone would call
// it Current at once (no Ready condition); a CEL check holds the Package back
// until the phase says so, ends the wait at once when it says Failed, and a
// check that does not compile is refused before anything is written.
import { randomBytes } from 'node:crypto';
import anyTest, { type ExecutionContext } from 'ava';
import type { Package } from '../../../apply-controller/api.ts';
import { listRevisions } from '../../../apply-controller/revisions/store.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import { createMetrics } from '../../../runtime/metrics.ts';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, conditionOf, configMap, createPackage, createSource, getObject, isReadyAt, isStalled, reconcileCount, releasePackagesOnTeardown,
  runLabel, usePackageTestBed, waitForPackage,
} from './support.ts';

const test = withCluster(anyTest);
const label = runLabel();
// The CRD is cluster-scoped: this file's Packages apply as the controller, outside the lockdown.
const metrics = createMetrics();
const bed = usePackageTestBed(test, label, { allowCrossNamespaceRefs: true, metrics });

/** Reconciles this file's controller finished so far. */
const reconciles = (): Promise<number> => reconcileCount(metrics);

const CRD_VERSION = 'apiextensions.k8s.io/v1';

function databaseCRD(group: string): object {
  return {
    apiVersion: CRD_VERSION, kind: 'CustomResourceDefinition', metadata: { name: `databases.${group}` },
    spec: {
      group, scope: 'Namespaced', names: { plural: 'databases', singular: 'database', kind: 'Database', listKind: 'DatabaseList' },
      versions: [{
        name: 'v1', served: true, storage: true, subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', properties: { size: { type: 'integer' } } },
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      }],
    },
  };
}

function database(group: string, name: string, annotations?: Record<string, string>): object {
  return { apiVersion: `${group}/v1`, kind: 'Database', metadata: { name, ...(annotations ? { annotations } : {}) }, spec: { size: 1 } };
}

/** package.yaml of a bundle whose own health checks judge Databases by their phase. */
function manifest(group: string, current = 'object.status.phase == "Ready"'): string {
  return [
    'apiVersion: apply.trellis.dev/v1alpha1',
    'kind: PackageManifest',
    'name: db',
    'version: 1.0.0',
    'healthChecks:',
    `  - apiVersion: ${group}/v1`,
    '    kind: Database',
    `    current: '${current}'`,
    '    failed: \'object.status.phase == "Failed"\'',
    '    message: \'"bundle check: phase " + object.status.phase\'',
    '',
  ].join('\n');
}

function uniqueGroup(): string {
  return `g${randomBytes(4).toString('hex')}.health.test.trellis.dev`;
}

async function setup(t: ExecutionContext): Promise<{ client: KubeClient; ns: string; group: string }> {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const group = uniqueGroup();
  t.teardown(async () => { await client.delete({ apiVersion: CRD_VERSION, kind: 'CustomResourceDefinition', name: `databases.${group}` }).catch(() => undefined); });
  return { client, ns, group };
}

/** Plays the Database's controller: writes its status subresource. */
async function setPhase(client: KubeClient, group: string, ns: string, name: string, phase: string): Promise<void> {
  await client.patchStatus({ apiVersion: `${group}/v1`, kind: 'Database', namespace: ns, name }, { phase, reason: `test set ${phase}` });
}

function messages(pkg: Package): string {
  return (pkg.status?.conditions ?? []).map((c) => `${c.type}=${c.status}: ${c.message}`).join(' | ');
}

test('the bundle\'s check: the Package is Ready only once the CEL current expression holds', async (t) => {
  const { client, ns, group } = await setup(t);
  const v1 = await bed().publisher.publish(ns, 'src', {
    'package.yaml': manifest(group),
    'manifests/crd.yaml': [databaseCRD(group)],
    'manifests/db.yaml': [database(group, 'orders')],
  });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, timeout: '10m' });

  // Applied, and waiting on the check (no status yet: the evaluation error is the message, not a crash).
  const waiting = await waitForPackage(client, ns, 'app', (p) => messages(p).includes(
    'Database orders: cannot evaluate package.yaml healthChecks[0].failed (object.status.phase == "Failed"): field not found: status'), 90_000);
  t.not(conditionOf(waiting, 'Ready')?.status, 'True', messages(waiting));
  t.truthy(await getObject(client, `${group}/v1`, 'Database', ns, 'orders'));

  await setPhase(client, group, ns, 'orders', 'Provisioning');
  const provisioning = await waitForPackage(client, ns, 'app', (p) => messages(p).includes('Database orders: bundle check: phase Provisioning'));
  t.not(conditionOf(provisioning, 'Ready')?.status, 'True', messages(provisioning));

  await setPhase(client, group, ns, 'orders', 'Ready');
  const ready = await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v1.revision));
  t.is(conditionOf(ready, 'HealthCheckFailed'), undefined);
});

// Serial: it counts the reconciles of the file's controller, which the other tests' Packages would add to.
test.serial('a Package waiting for health is woken when a verdict moves, not by every status change', async (t) => {
  const { client, ns, group } = await setup(t);
  const v1 = await bed().publisher.publish(ns, 'src', {
    'package.yaml': manifest(group),
    'manifests/crd.yaml': [databaseCRD(group)],
    'manifests/db.yaml': [database(group, 'orders')],
  });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, timeout: '10m' });
  await waitForPackage(client, ns, 'app', (p) => messages(p).includes('Database orders: cannot evaluate'), 90_000);
  // Nothing queued or running: the Package has settled waiting.
  await eventually(() => Promise.resolve(bed().packages.controller.queue.inFlight === 0 && bed().packages.controller.queue.depth === 0), 30_000, 50);

  // Five status changes that leave the Database InProgress (as a Deployment's status moves on its way to Available).
  const before = await reconciles();
  for (let step = 1; step <= 5; step += 1) {
    await client.patchStatus({ apiVersion: `${group}/v1`, kind: 'Database', namespace: ns, name: 'orders' }, { phase: 'Provisioning', step });
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  // At most one: the periodic recheck of a waiting Package may fall in this window.
  t.true((await reconciles()) - before <= 1, `${(await reconciles()) - before} reconciles for five status changes that moved no verdict`);

  await setPhase(client, group, ns, 'orders', 'Ready');
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v1.revision));
  t.true((await reconciles()) > before, 'the verdict that moved woke it');
});

test('the Package\'s check overrides the bundle\'s, and its failed expression ends the wait at once', async (t) => {
  const { client, ns, group } = await setup(t);
  // The bundle would call any Database Current at once; the Package's own check is stricter.
  const v1 = await bed().publisher.publish(ns, 'src', {
    'package.yaml': manifest(group, 'true'),
    'manifests/crd.yaml': [databaseCRD(group)],
    'manifests/db.yaml': [database(group, 'orders')],
  });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, {
    sourceRef: { kind: 'OCIRepository', name: 'src' },
    // Far longer than the test waits: only Failed can end the wait in time.
    timeout: '1h', retryInterval: '1h',
    healthChecks: [{
      group, kind: 'Database',
      current: 'has(object.status) && object.status.phase == "Ready"',
      failed: 'has(object.status) && object.status.phase == "Failed"',
      message: 'has(object.status) ? "spec check: " + object.status.phase + " (" + object.status.reason + ")" : "spec check: no status"',
    }],
  });
  const waiting = await waitForPackage(client, ns, 'app', (p) => messages(p).includes('Database orders: spec check: no status'), 90_000);
  t.not(conditionOf(waiting, 'Ready')?.status, 'True');

  await setPhase(client, group, ns, 'orders', 'Failed');
  const failed = await waitForPackage(client, ns, 'app', (p) => conditionOf(p, 'HealthCheckFailed')?.status === 'True');
  const condition = conditionOf(failed, 'HealthCheckFailed');
  t.true(condition?.message.includes(`Database/${ns}/orders (Failed): spec check: Failed (test set Failed)`), condition?.message);
  t.is(conditionOf(failed, 'Ready')?.status, 'False');
  t.is(failed.status?.lastAppliedRevision, undefined, 'the revision was never applied successfully');
});

test('the declarative form in the Package spec: Ready once the condition and the field hold', async (t) => {
  const { client, ns, group } = await setup(t);
  const v1 = await bed().publisher.publish(ns, 'src', {
    'crd.yaml': [databaseCRD(group)],
    'db.yaml': [database(group, 'orders')],
  });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, {
    sourceRef: { kind: 'OCIRepository', name: 'src' }, timeout: '10m',
    healthChecks: [{
      apiVersion: `${group}/v1`, kind: 'Database',
      currentWhen: { conditions: [{ type: 'Available', status: 'True' }], fields: [{ path: 'status.phase', equals: 'Ready' }] },
    }],
  });
  const waiting = await waitForPackage(client, ns, 'app', (p) => messages(p).includes('Database orders: waiting for Available=True, status.phase=Ready'), 90_000);
  t.not(conditionOf(waiting, 'Ready')?.status, 'True');
  t.truthy(await getObject(client, `${group}/v1`, 'Database', ns, 'orders'));
  // (That every part must hold, the phase alone not being enough, is a unit test: checks-assess.test.ts.)
  await client.patchStatus({ apiVersion: `${group}/v1`, kind: 'Database', namespace: ns, name: 'orders' },
    { phase: 'Ready', conditions: [{ type: 'Available', status: 'True' }] });
  const ready = await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v1.revision));
  t.is(conditionOf(ready, 'HealthCheckFailed'), undefined);
});

test('a bad expression in the Package spec is refused before any object is written', async (t) => {
  const { client, ns } = await setup(t);
  const v1 = await bed().publisher.publish(ns, 'src', { 'app.yaml': [configMap('app', { a: '1' })] });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, {
    sourceRef: { kind: 'OCIRepository', name: 'src' },
    healthChecks: [
      { apiVersion: 'v1', kind: 'ConfigMap', current: 'object.data.a == "1"' },
      { apiVersion: 'v1', kind: 'Secret', current: 'isReady(object)' },
    ],
  });
  const stalled = await waitForPackage(client, ns, 'app', (p) => isStalled(p));
  const condition = conditionOf(stalled, 'Stalled');
  t.is(condition?.reason, 'InvalidSpec', condition?.message);
  t.is(condition?.message, 'spec.healthChecks[1].current: unknown function "isReady"');
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'app'), undefined, 'nothing was applied');
  t.is((await listRevisions(client, ns, 'app')).length, 0, 'no PackageRevision was recorded');
});

test('a bad expression in the bundle (package.yaml or an object\'s annotation) refuses it as an invalid bundle', async (t) => {
  const { client, ns, group } = await setup(t);
  const v1 = await bed().publisher.publish(ns, 'src', {
    'package.yaml': manifest(group, 'object.status.phase =! "Ready"'),
    'manifests/crd.yaml': [databaseCRD(group)],
    'manifests/db.yaml': [database(group, 'orders', { 'health.trellis.dev/current': 'object.status.ready()' })],
  });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  const stalled = await waitForPackage(client, ns, 'app', (p) => isStalled(p), 90_000);
  const condition = conditionOf(stalled, 'Stalled');
  t.is(condition?.reason, 'InvalidPackageManifest', condition?.message);
  t.is(conditionOf(stalled, 'ArtifactFailed')?.reason, 'InvalidPackageManifest');
  t.true(condition?.message.includes('package.yaml: healthChecks[0].current: not a CEL expression'), condition?.message);
  t.true(condition?.message.includes(`manifests/db.yaml: Database ${ns}/orders: annotation health.trellis.dev/current: unknown function "ready"`), condition?.message);
  t.is(await getObject(client, CRD_VERSION, 'CustomResourceDefinition', undefined, `databases.${group}`), undefined, 'nothing was applied');
  t.is((await listRevisions(client, ns, 'app')).length, 0, 'no PackageRevision was recorded');
});
