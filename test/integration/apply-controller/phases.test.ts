// Phases and health against the real apiserver and the simulated node: a CRD and
// its custom resources in one bundle, phases applied in order, a later phase held
// back while an earlier one is unhealthy, and the health timeout.
import { randomBytes } from 'node:crypto';
import anyTest from 'ava';
import { stringify } from 'yaml';
import { listRevisions } from '../../../apply-controller/revisions/index.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, usePackageTestBed, conditionOf, configMap, createPackage, createSource, deployment, getObject, isReadyAt,
  releasePackagesOnTeardown, runLabel, setArtifact, waitForPackage,
} from './support.ts';
import { statusInventory } from '../../../apply-controller/api.ts';

const test = withCluster(anyTest);
const label = runLabel();
// The bundles install CRDs: a single-tenant controller (Packages without an account may write cluster-scoped objects).
const bed = usePackageTestBed(test, label, { allowCrossNamespaceRefs: true });

function manifest(phases: readonly string[]): string {
  return stringify({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageManifest', name: 'phased', version: '1.0.0', phases });
}

const phase = (name: string) => ({ 'apply.trellis.dev/phase': name });

function gadgetCrd(group: string): object {
  return {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `gadgets.${group}`, annotations: phase('infra') },
    spec: {
      group, scope: 'Namespaced', names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', listKind: 'GadgetList' },
      versions: [{
        name: 'v1', served: true, storage: true,
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } },
      }],
    },
  };
}

test('a CRD and its custom resources apply in one bundle, and three phases apply in order', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const group = `g${randomBytes(4).toString('hex')}.phases.test.trellis.dev`;

  // One watch on ConfigMaps sees their creations in the order the apiserver made them.
  const created: string[] = [];
  const abort = new AbortController();
  t.teardown(() => abort.abort());
  void client.watch<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns }, { signal: abort.signal }, (event) => {
    const name = event.object.metadata?.name ?? '';
    if (event.type === 'ADDED' && name.startsWith('marker-')) created.push(name);
  }).catch(() => undefined);

  const artifact = await bed().publisher.publish(ns, 'src', {
    'package.yaml': manifest(['infra', 'config', 'apps']),
    'manifests/infra.yaml': [gadgetCrd(group), configMap('marker-1', {}, { annotations: phase('infra') }), deployment('db', 'nginx:1.25', { annotations: phase('infra') })],
    'manifests/config.yaml': [
      { apiVersion: `${group}/v1`, kind: 'Gadget', metadata: { name: 'sample', annotations: phase('config') }, spec: { size: 3 } },
      configMap('marker-2', {}, { annotations: phase('config') }),
    ],
    'manifests/apps.yaml': [configMap('marker-3', {}, { annotations: phase('apps') }), deployment('web', 'nginx:1.25', { annotations: phase('apps') })],
  });
  await createSource(client, ns, 'src', artifact);
  await createPackage(client, ns, 'phased', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  const ready = await waitForPackage(client, ns, 'phased', (p) => isReadyAt(p, artifact.revision), 90_000);

  const gadget = await getObject<KubeObject & { spec?: { size?: number } }>(client, `${group}/v1`, 'Gadget', ns, 'sample');
  t.is(gadget?.spec?.size, 3, 'the custom resource was created once its CRD was established');
  t.deepEqual(created, ['marker-1', 'marker-2', 'marker-3']);
  const order = statusInventory(ready.status).map((e) => e.id);
  t.true(order.indexOf(`_gadgets.${group}_apiextensions.k8s.io_CustomResourceDefinition`) < order.indexOf(`${ns}_sample_${group}_Gadget`));
  t.true(order.indexOf(`${ns}_sample_${group}_Gadget`) < order.indexOf(`${ns}_web_apps_Deployment`));

  // Uninstall removes the cluster-scoped CRD too (custom resources first).
  await client.delete({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'phased' });
  await waitForPackage(client, ns, 'phased', () => false, 30_000).catch(() => undefined);
  const crd = await getObject(client, 'apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, `gadgets.${group}`);
  t.true(crd === undefined || crd.metadata?.deletionTimestamp !== undefined);
});

test('a later phase is not applied while an earlier one is unhealthy; the timeout names the object', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);

  const files = (image: string) => ({
    'package.yaml': manifest(['first', 'second']),
    'manifests/first.yaml': [deployment('slow', image, { annotations: phase('first') })],
    'manifests/second.yaml': [configMap('later', {}, { annotations: phase('second') })],
  });
  const bad = await bed().publisher.publish(ns, 'src', files('nginx:fail'));
  await createSource(client, ns, 'src', bad);
  await createPackage(client, ns, 'gated', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, timeout: '3s' });

  // Each retry starts with Ready=Unknown while the last attempt's HealthCheckFailed
  // stays; wait for the end of an attempt, where both speak.
  const failed = await waitForPackage(client, ns, 'gated',
    (p) => conditionOf(p, 'HealthCheckFailed')?.status === 'True' && conditionOf(p, 'Ready')?.status === 'False');
  const health = conditionOf(failed, 'HealthCheckFailed');
  t.true(health?.message.includes(`Deployment/${ns}/slow`), health?.message);
  t.is(conditionOf(failed, 'Ready')?.status, 'False');
  t.is(failed.status?.lastAttemptedRevision, bad.revision);
  t.is(failed.status?.lastAppliedRevision, undefined, 'never claims an unhealthy revision as applied');
  t.truthy(await getObject(client, 'apps/v1', 'Deployment', ns, 'slow'), 'phase one was applied');
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'later'), undefined, 'phase two was held back');
  const [revision] = await listRevisions(client, ns, 'gated');
  t.is(revision?.status?.phase, 'Failed');

  const good = await bed().publisher.publish(ns, 'src', files('nginx:1.25'));
  await setArtifact(client, ns, 'src', good);
  const healed = await waitForPackage(client, ns, 'gated', (p) => isReadyAt(p, good.revision));
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'later'));
  t.is(conditionOf(healed, 'HealthCheckFailed'), undefined);
  t.deepEqual((await listRevisions(client, ns, 'gated')).map((r) => r.status?.phase), ['Failed', 'Available']);
});
