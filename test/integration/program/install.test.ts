// Program bundles in the apply controller against the real apiserver: the web
// example (built by trellis build into a program bundle) is rendered at install
// time with each Package's values — the Ingress comes and goes with
// ingress.enabled, the ConfigMaps follow the extraConfigs map — an unchanged
// Package never renders again, and a hostile program stalls its own Package with
// RenderFailed while another Package's drift is still corrected.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest, { type ExecutionContext } from 'ava';
import { programDigest, RenderCache, setDefaultRenderLimits, sharedRenderCache } from '../../../apply-controller/program/index.ts';
import { projectRoot } from '../../../hack/lib/system-tools.ts';
import { buildBundle } from '../../../packages-cdk8s/build/bundle.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, conditionOf, createPackage, createSource, getObject, isReadyAt, isStalled, patchSpec, releasePackagesOnTeardown,
  runLabel, usePackageTestBed, waitForPackage,
} from '../apply-controller/support.ts';

// One at a time: renders share the controller's two render slots, and a cold render of
// the web example on a busy 2-core machine takes a few seconds.
const test = withCluster(anyTest);
const label = runLabel();
const bed = usePackageTestBed(test, label);

let webBundle: Buffer | undefined;
test.before(async () => {
  // Short enough that the hostile program's reconciles come and go during the test.
  setDefaultRenderLimits({ timeoutMs: 15_000 });
  const built = await buildBundle(join(projectRoot, 'packages-cdk8s', 'examples', 'web'), { out: join(scratchDir('program-web'), 'web.tgz') });
  webBundle = readFileSync(built.file);
});
test.after.always(() => setDefaultRenderLimits({}));

async function installWeb(t: ExecutionContext, values: Record<string, unknown>):
Promise<{ client: KubeClient; ns: string; revision: string }> {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const artifact = await bed().publisher.publishBytes(ns, 'web', webBundle!, '1.0.0');
  await createSource(client, ns, 'web', artifact);
  await createPackage(client, ns, 'web', label, { sourceRef: { kind: 'OCIRepository', name: 'web' }, prune: true, values });
  await waitForPackage(client, ns, 'web', (p) => isReadyAt(p, artifact.revision));
  return { client, ns, revision: artifact.revision };
}

const exists = async (client: KubeClient, apiVersion: string, kind: string, ns: string, name: string): Promise<boolean> =>
  (await getObject(client, apiVersion, kind, ns, name)) !== undefined;

async function configMapNames(client: KubeClient, ns: string): Promise<string[]> {
  const { items } = await client.list<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns });
  return items.map((o) => o.metadata?.name ?? '').filter((n) => n.startsWith('web-')).sort();
}

async function settled(client: KubeClient, ns: string): Promise<void> {
  await waitForPackage(client, ns, 'web', (p) => isReadyAt(p));
}

test.serial('the Ingress follows ingress.enabled, and the ConfigMaps follow the extraConfigs map as it grows and shrinks', async (t) => {
  const { client, ns } = await installWeb(t, { ingress: { enabled: true, host: 'shop.example.com' }, replicas: 1 });
  const ingress = await getObject<KubeObject & { spec: { rules: { host: string }[] } }>(client, 'networking.k8s.io/v1', 'Ingress', ns, 'web');
  t.is(ingress?.spec.rules[0]?.host, 'shop.example.com');

  await patchSpec(client, ns, 'web', { values: { ingress: { enabled: false }, replicas: 1 } });
  await settled(client, ns);
  await eventually(async () => !(await exists(client, 'networking.k8s.io/v1', 'Ingress', ns, 'web')), 30_000);

  t.pass('the Ingress is pruned when the program no longer makes it');

  await patchSpec(client, ns, 'web', { values: { replicas: 1, extraConfigs: { db: { 'url.txt': 'postgres://db' }, cache: { 'size.txt': '64' } } } });
  await settled(client, ns);
  t.deepEqual(await eventually(async () => {
    const names = await configMapNames(client, ns);
    return names.length === 3 ? names : undefined;
  }, 30_000), ['web-cache', 'web-content', 'web-db']);
  const db = await getObject<KubeObject & { data: Record<string, string> }>(client, 'v1', 'ConfigMap', ns, 'web-db');
  t.deepEqual(db?.data, { 'url.txt': 'postgres://db' });

  // A merge patch: `db: null` removes the entry from spec.values.
  await patchSpec(client, ns, 'web', { values: { replicas: 1, extraConfigs: { db: null, cache: { 'size.txt': '128' } } } });
  await settled(client, ns);
  t.deepEqual(await eventually(async () => {
    const names = await configMapNames(client, ns);
    return names.length === 2 ? names : undefined;
  }, 30_000), ['web-cache', 'web-content']);
});

test.serial('values the schema refuses stall the Package before anything is written, naming the path and the rule', async (t) => {
  const { client, ns } = await installWeb(t, { replicas: 1 });
  await patchSpec(client, ns, 'web', { values: { replicas: 1, ingress: { enabled: 'yes' }, extraConfigs: { Bad_Name: {} } } });
  const stalled = await waitForPackage(client, ns, 'web', (p) => isStalled(p));
  const message = conditionOf(stalled, 'Stalled')?.message ?? '';
  t.regex(message, /values\/ingress\/enabled must be boolean/);
  t.regex(message, /values\/extraConfigs/);
  t.false(await exists(client, 'networking.k8s.io/v1', 'Ingress', ns, 'web'));
});

test.serial('a reconcile of an unchanged program Package renders nothing', async (t) => {
  const { client, ns } = await installWeb(t, { replicas: 1, message: 'steady' });
  const before = { misses: sharedRenderCache.misses, hits: sharedRenderCache.hits };
  await client.patch({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'web' },
    { metadata: { annotations: { 'reconcile.trellis.dev/requestedAt': `now-${Date.now()}` } } });
  await waitForPackage(client, ns, 'web', (p) => typeof p.status?.lastHandledReconcileAt === 'string' && p.status.lastHandledReconcileAt.startsWith('now-'));
  t.is(sharedRenderCache.misses, before.misses, 'no render ran');
  t.true(sharedRenderCache instanceof RenderCache);
});

test.serial('a hostile program stalls its own Package with RenderFailed; another Package\'s drift is corrected meanwhile', async (t) => {
  const { client, ns } = await installWeb(t, { replicas: 1 });
  const hostile = `globalThis.trellisProgram = { render() { for (;;) { try { for (;;) {} } catch (e) {} } } };`;
  const artifact = await bed().publisher.publish(ns, 'hostile', {
    'package.yaml': `apiVersion: apply.trellis.dev/v1alpha1\nkind: PackageManifest\nname: hostile\nversion: 1.0.0\n`
      + `program: {file: program.js, digest: "${programDigest(hostile)}"}\n`,
    'manifests/.keep': '',
    'program.js': hostile,
  });
  await createSource(client, ns, 'hostile', artifact);
  await createPackage(client, ns, 'hostile', label, { sourceRef: { kind: 'OCIRepository', name: 'hostile' } });

  // While the hostile program spins, an out-of-band edit of web's ConfigMap is reverted.
  await eventually(async () => (await client.list({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns })).items.length > 0, 10_000);
  await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'web-content' }, { data: { 'index.html': 'defaced' } });
  await eventually(async () => {
    const cm = await getObject<KubeObject & { data: Record<string, string> }>(client, 'v1', 'ConfigMap', ns, 'web-content');
    return cm?.data['index.html']?.includes('Hello from Trellis');
  }, 60_000, 100);

  const stalled = await waitForPackage(client, ns, 'hostile', (p) => isStalled(p), 60_000);
  t.regex(conditionOf(stalled, 'Stalled')?.message ?? '', /RenderFailed.*\(Timeout\)|Timeout/);
  t.true(isReadyAt((await waitForPackage(client, ns, 'web', () => true))));
});

test.serial('rollback re-applies the recorded objects of a program Package and never runs the program', async (t) => {
  const { client, ns } = await installWeb(t, { replicas: 1, ingress: { enabled: true } });
  await patchSpec(client, ns, 'web', { values: { replicas: 1, ingress: { enabled: false } } });
  await waitForPackage(client, ns, 'web', (p) => isReadyAt(p) && p.status?.currentRevision === 2);
  await eventually(async () => !(await exists(client, 'networking.k8s.io/v1', 'Ingress', ns, 'web')), 30_000);
  const rendersBefore = sharedRenderCache.misses + sharedRenderCache.hits;

  await patchSpec(client, ns, 'web', { rollback: { revision: 1 } });
  await waitForPackage(client, ns, 'web', (p) => isReadyAt(p) && p.status?.currentRevision === 1);
  t.truthy(await getObject(client, 'networking.k8s.io/v1', 'Ingress', ns, 'web'), 'revision 1\'s Ingress is back');
  t.is(sharedRenderCache.misses + sharedRenderCache.hits, rendersBefore, 'no render ran, not even a cached one');
});
