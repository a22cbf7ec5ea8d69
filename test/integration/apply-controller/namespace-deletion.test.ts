// A namespace that holds a Package's objects is deleted while the Package stays
// (its objects live in another namespace, spec.targetNamespace). The objects the
// namespace controller removes must not be re-created there at every removal: the
// Package fails once with NamespaceTerminating, retries on its backoff while the
// removals go on without waking it, does not mark its revision Failed, and
// applies everything again once the namespace exists again.
import anyTest from 'ava';
import * as k8s from '@kubernetes/client-node';
import { failedOnTerminatingNamespace } from '../../../apply-controller/reconcile/namespace-state.ts';
import { isNamespaceTerminating, type KubeApiError } from '../../../runtime/kube-transport.ts';
import { createMetrics, type ControllerMetrics } from '../../../runtime/metrics.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, conditionOf, configMap, createPackage, createSource, getObject, isReadyAt, releasePackagesOnTeardown, runLabel,
  usePackageTestBed, waitForPackage,
} from './support.ts';

const test = withCluster(anyTest);
const label = runLabel();
const metrics: ControllerMetrics = createMetrics();
// Writing outside its own namespace is what a Package applying as the controller may do once cross-namespace references are allowed.
const bed = usePackageTestBed(test, label, { metrics, allowCrossNamespaceRefs: true });
/** Held by the test, not by the Package: keeps each object (and so the namespace) until the test lets it go. */
const HOLD = 'test.trellis.dev/hold';
const COUNT = 10;

/** Every reconcile of a Package as it finishes: when, and how long it held a worker. */
const finished: { at: number; key: string; seconds: number }[] = [];
metrics.onReconciled((o) => { if (o.kind === 'Package') finished.push({ at: Date.now(), key: o.key, seconds: o.seconds }); });

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('objects of a namespace being deleted are not re-created at every removal, and come back with the namespace', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const core = cluster.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const ns = await testNamespace(t, cluster);
  const target = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const names = Array.from({ length: COUNT }, (_, i) => `cm-${i}`);
  const cmRef = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: target, name });
  const artifact = await bed().publisher.publish(ns, 'src', { 'cms.yaml': names.map((n) => configMap(n, { k: n })) });
  await createSource(client, ns, 'src', artifact);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, targetNamespace: target });
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, artifact.revision));
  t.teardown(async () => {
    for (const n of names) await client.patch(cmRef(n), { metadata: { finalizers: null } }).catch(() => undefined);
  });
  for (const n of names) await client.patch(cmRef(n), { metadata: { finalizers: [HOLD] } });

  await core.deleteNamespace({ name: target });
  // The real apiserver's refusal, as the controller meets it, names its cause. (A new name per try: the admission
  // plugin's view of the namespace may lag the deletion by a moment, and a probe it let through stays.)
  let probes = 0;
  const refusal = await eventually(async () => {
    try {
      await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `probe-${probes++}`, namespace: target } });
      return undefined;
    } catch (err) {
      return isNamespaceTerminating(err) ? err as KubeApiError : undefined;
    }
  });
  const causes = (refusal.details as { causes?: { reason?: string }[] } | undefined)?.causes ?? [];
  t.true(causes.some((c) => c.reason === 'NamespaceTerminating'), JSON.stringify(refusal.details));
  const failed = await waitForPackage(client, ns, 'app', (p) => conditionOf(p, 'Ready')?.reason === 'NamespaceTerminating');
  t.is(conditionOf(failed, 'Ready')?.status, 'False');
  t.is(conditionOf(failed, 'ApplyFailed')?.reason, 'NamespaceTerminating');
  t.regex(conditionOf(failed, 'Ready')?.message ?? '', new RegExp(`namespace ${target} is being deleted`));

  // The controller's own copy shows the failure too: from here its object's removals are judged against it.
  await eventually(() => Promise.resolve(failedOnTerminatingNamespace(bed().packages.controller.informer.get(`${ns}/app`)?.status)));

  // The namespace controller's removals, one at a time. Without the guards each one would wake a reconcile that tries to
  // re-create, and each retry would hold its worker waiting for the objects still being deleted.
  const from = Date.now();
  for (const n of names) {
    await client.patch(cmRef(n), { metadata: { finalizers: null } });
    await sleep(300);
  }
  await sleep(1_500);
  const during = finished.filter((r) => r.key === `${ns}/app` && r.at >= from);
  const held = during.reduce((sum, r) => sum + r.seconds, 0);
  t.log(`${during.length} reconcile(s), ${held.toFixed(3)} s of worker time, while ${COUNT} objects went over ${COUNT * 0.3} s (retryInterval 2s)`);
  t.true(during.length <= 4, `${during.length} reconciles`);
  t.true(held < 1, `${held} s`);
  const revision = await getObject<KubeObject & { status?: { phase?: string } }>(client, 'apply.trellis.dev/v1alpha1', 'PackageRevision', ns, 'app-1');
  t.is(revision?.status?.phase, 'Available', 'the revision is not at fault');

  await eventually(async () => (await client.get({ apiVersion: 'v1', kind: 'Namespace', name: target })) === undefined, 60_000);
  await core.createNamespace({ body: { metadata: { name: target, labels: { 'trellis.dev/test': 'true' } } } });
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, artifact.revision));
  for (const n of names) t.truthy(await getObject(client, 'v1', 'ConfigMap', target, n), n);
});
