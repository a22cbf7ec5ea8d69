// CRDs handled with care, against the real apiserver: a CRD deleted behind the
// Package's back (its custom resources with it) is re-created as soon as the
// deletion finishes, without a failed apply; uninstall keeps a CRD whose custom
// resources include someone else's and deletes one that holds only its own.
import { randomBytes } from 'node:crypto';
import anyTest from 'ava';
import type { Package } from '../../../apply-controller/api.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, conditionOf, createPackage, createSource, eventsAbout, getObject, getPackage, isReadyAt, releasePackagesOnTeardown,
  runLabel, usePackageTestBed, waitForPackage,
} from './support.ts';

const test = withCluster(anyTest);
const label = runLabel();
// CRDs are cluster-scoped: this file's Packages apply as the controller, outside the lockdown.
const bed = usePackageTestBed(test, label, { allowCrossNamespaceRefs: true });

const CRD_VERSION = 'apiextensions.k8s.io/v1';

function crd(group: string, plural: string, kind: string): object {
  return {
    apiVersion: CRD_VERSION, kind: 'CustomResourceDefinition', metadata: { name: `${plural}.${group}` },
    spec: {
      group, scope: 'Namespaced', names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
      versions: [{
        name: 'v1', served: true, storage: true,
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } },
      }],
    },
  };
}

function resource(group: string, kind: string, name: string, size: number): object {
  return { apiVersion: `${group}/v1`, kind, metadata: { name }, spec: { size } };
}

function uniqueGroup(): string {
  return `g${randomBytes(4).toString('hex')}.crds.test.trellis.dev`;
}

test('a CRD deleted behind the Package\'s back is re-created once the deletion ends, and its custom resources with it', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const group = uniqueGroup();
  t.teardown(async () => { await client.delete({ apiVersion: CRD_VERSION, kind: 'CustomResourceDefinition', name: `widgets.${group}` }).catch(() => undefined); });

  const v1 = await bed().publisher.publish(ns, 'src', {
    'crd.yaml': [crd(group, 'widgets', 'Widget')],
    'widgets.yaml': [resource(group, 'Widget', 'one', 1), resource(group, 'Widget', 'two', 2)],
  });
  await createSource(client, ns, 'src', v1);
  // A retry would only come after ten minutes: the recovery must not depend on one.
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, retryInterval: '10m' });
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v1.revision), 90_000);
  const before = await getObject(client, CRD_VERSION, 'CustomResourceDefinition', undefined, `widgets.${group}`);
  const oneBefore = await getObject(client, `${group}/v1`, 'Widget', ns, 'one');

  // Every Ready condition the Package shows from now on.
  const readySeen: string[] = [];
  const abort = new AbortController();
  t.teardown(() => abort.abort());
  void client.watch<Package>({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns }, { signal: abort.signal }, (event) => {
    const ready = conditionOf(event.object, 'Ready');
    if (ready) readySeen.push(`${ready.status}:${ready.reason}`);
  }).catch(() => undefined);

  // Deleted without waiting, as garbage collection does: the CRD terminates while its custom resources are cleaned up.
  await client.delete({ apiVersion: CRD_VERSION, kind: 'CustomResourceDefinition', name: `widgets.${group}` });
  const back = await eventually(async () => {
    const now = await getObject(client, CRD_VERSION, 'CustomResourceDefinition', undefined, `widgets.${group}`);
    return now && now.metadata?.uid !== before?.metadata?.uid && !now.metadata?.deletionTimestamp ? now : undefined;
  }, 60_000, 200);
  t.truthy(back, 'the CRD is back, a new object');
  const widgets = await eventually(async () => {
    const one = await getObject(client, `${group}/v1`, 'Widget', ns, 'one').catch(() => undefined);
    const two = await getObject(client, `${group}/v1`, 'Widget', ns, 'two').catch(() => undefined);
    return one && two ? { one, two } : undefined;
  }, 60_000, 200);
  t.not(widgets.one.metadata?.uid, oneBefore?.metadata?.uid, 'the custom resources were re-created');
  t.is((widgets.two as KubeObject & { spec?: { size?: number } }).spec?.size, 2);
  const pkg = await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v1.revision));
  t.is(conditionOf(pkg, 'ApplyFailed'), undefined, 'no apply failed on the way');
  t.true(readySeen.includes('False:ObjectsMissing'), `Ready was False while objects were missing: ${readySeen.join(' ')}`);
  t.is(readySeen.at(-1), 'True:Succeeded', 'and True again once they were back');
  const events = await eventsAbout(client, ns, 'app');
  t.false(events.some((e) => e.type === 'Warning'), JSON.stringify(events.filter((e) => e.type === 'Warning')));
});

test('uninstall keeps a CRD with custom resources the Package did not create, and deletes one with only its own', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const group = uniqueGroup();
  t.teardown(async () => {
    for (const plural of ['gears', 'bolts']) {
      await client.delete({ apiVersion: CRD_VERSION, kind: 'CustomResourceDefinition', name: `${plural}.${group}` }).catch(() => undefined);
    }
  });

  const v1 = await bed().publisher.publish(ns, 'src', {
    'crds.yaml': [crd(group, 'gears', 'Gear'), crd(group, 'bolts', 'Bolt')],
    'objects.yaml': [resource(group, 'Gear', 'ours', 1), resource(group, 'Bolt', 'ours', 1)],
  });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v1.revision), 90_000);
  // A user makes a Gear of their own: deleting the Gear CRD would delete it.
  await client.create({ apiVersion: `${group}/v1`, kind: 'Gear', metadata: { name: 'users', namespace: ns }, spec: { size: 7 } });

  await client.delete({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'app' });
  await eventually(async () => (await getPackage(client, ns, 'app')) === undefined, 60_000);
  const gears = await getObject(client, CRD_VERSION, 'CustomResourceDefinition', undefined, `gears.${group}`);
  t.truthy(gears, 'the CRD with a user\'s custom resource is kept');
  t.is(gears?.metadata?.deletionTimestamp, undefined);
  t.truthy(await getObject(client, `${group}/v1`, 'Gear', ns, 'users'), 'and so is the user\'s Gear');
  t.is(await getObject(client, `${group}/v1`, 'Gear', ns, 'ours'), undefined, 'the Package\'s own Gear was deleted');
  const bolts = await getObject(client, CRD_VERSION, 'CustomResourceDefinition', undefined, `bolts.${group}`);
  t.true(bolts === undefined || bolts.metadata?.deletionTimestamp !== undefined, 'the CRD with only the Package\'s resources goes');
  const uninstalled = await eventually(async () => (await eventsAbout(client, ns, 'app')).find((e) => e.reason === 'Uninstalled'));
  t.regex(uninstalled.note, new RegExp(`kept CustomResourceDefinition/gears.${group.replaceAll('.', '\\.')} \\(custom resources this Package did not create still exist \\(Gear ${ns}/users\\)`));
});
