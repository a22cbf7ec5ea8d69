// Rollback with both controllers as processes, a real registry and the
// simulated node (Pods of images tagged `fail` never become ready):
// - an upgrade that never becomes healthy is rolled back while the registry is
//   stopped (the revision carries its own objects);
// - the apply controller is killed (SIGKILL) between phases of a rollout; the
//   status said what was under way, and on restart it rolls back, leaving
//   nothing of the bad revision behind.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import anyTest, { type ExecutionContext } from 'ava';
import { stringify } from 'yaml';
import { statusInventory, type Package, type PackageRevision } from '../../../apply-controller/api.ts';
import { listRevisions } from '../../../apply-controller/revisions/index.ts';
import { createDeterministicTarGz } from '../../../runtime/archive.ts';
import { getCondition } from '../../../runtime/conditions.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import {
  OciClient, parseReference, TRELLIS_ARTIFACT_TYPE, TRELLIS_CONFIG_MEDIA_TYPE, TRELLIS_CONTENT_MEDIA_TYPE,
} from '../../../source-controller/oci/index.ts';
import { eventually, scratchDir, testNamespace, useCluster, withCluster, type TestCluster } from '../../support/cluster.ts';
import { startController, withControllers, type RunningController } from '../../support/controllers.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { yamlOf } from '../../integration/apply-controller/support.ts';

const test = withControllers(withServers(withCluster(anyTest)));

interface Version {
  readonly version: string;
  /** `data.greeting` of the phase-1 ConfigMap. */
  readonly greeting: string;
  /** Extra phase-1 ConfigMaps. */
  readonly extra: readonly string[];
  /** Image of the phase-2 Deployment. */
  readonly image: string;
}

/** Writes a two-phase Trellis bundle (config, then apps) and pushes it to `repo:<version>`. */
async function pushBundle(oci: OciClient, repo: string, v: Version): Promise<void> {
  const dir = scratchDir('bundle');
  const tree = join(dir, 'tree');
  const phase = (name: string) => ({ 'apply.trellis.dev/phase': name });
  const files: Record<string, string> = {
    'package.yaml': stringify({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageManifest', name: 'web', version: v.version, phases: ['config', 'apps'] }),
    'manifests/config.yaml': yamlOf([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config', annotations: phase('config') }, data: { greeting: v.greeting } },
      ...v.extra.map((name) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, annotations: phase('config') }, data: { from: v.version } })),
    ]),
    'manifests/web.yaml': yamlOf([{
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', annotations: phase('apps') },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: v.image }] } } },
    }]),
  };
  for (const [path, content] of Object.entries(files)) {
    const file = join(tree, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  const tarball = join(dir, 'content.tar.gz');
  await createDeterministicTarGz(tree, tarball);
  await oci.pushArtifact(parseReference(repo), {
    artifactType: TRELLIS_ARTIFACT_TYPE,
    config: { mediaType: TRELLIS_CONFIG_MEDIA_TYPE, bytes: new TextEncoder().encode(JSON.stringify({ name: 'web', version: v.version })) },
    layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, file: tarball }],
    annotations: { 'org.opencontainers.image.version': v.version },
    tag: v.version,
  });
}

function startSource(cluster: TestCluster, ns: string): Promise<RunningController> {
  return startController({
    entry: 'source-controller/main.ts', name: 'e2e-rollback-source',
    args: ['--kubeconfig', cluster.kubeconfigPath, '--storage-path', join(scratchDir('source-storage'), 'data'),
      '--artifact-addr', '127.0.0.1:0', '--metrics-addr', '', '--health-addr', '', '--watch-namespace', ns],
  });
}

function startApply(cluster: TestCluster, ns: string, cacheDir: string): Promise<RunningController> {
  return startController({
    entry: 'apply-controller/main.ts', name: 'e2e-rollback-apply',
    args: ['--kubeconfig', cluster.kubeconfigPath, '--artifact-cache-dir', cacheDir, '--metrics-addr', '', '--health-addr', '',
      '--watch-namespace', ns, '--log-level', 'debug'],
  });
}

/** Creates the OCIRepository (semver ^1.0, 1 s) and the Package (rollback on failure, 6 s timeout). */
async function install(client: KubeClient, ns: string, repo: string): Promise<void> {
  await client.create({
    apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', metadata: { name: 'web', namespace: ns },
    spec: { url: repo, ref: { semver: '^1.0' }, interval: '1s', insecure: true },
  });
  await client.create({
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name: 'web', namespace: ns },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'web' }, interval: '1m', retryInterval: '2s', timeout: '6s', rollback: { onFailure: true } },
  });
}

function releaseOnTeardown(t: ExecutionContext, client: KubeClient, ns: string): void {
  t.teardown(async () => {
    await client.patch({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'web' },
      { metadata: { finalizers: null } }).catch(() => undefined);
  });
}

type Data = KubeObject & { data?: Record<string, string> };
type Deploy = KubeObject & { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } };

function helpers(client: KubeClient, ns: string) {
  const getPackage = () => client.get<Package>({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'web' });
  return {
    getPackage,
    waitPackage: (check: (p: Package) => boolean, timeoutMs = 90_000) => eventually(async () => {
      const p = await getPackage();
      return p && check(p) ? p : undefined;
    }, timeoutMs, 100),
    configMap: (name: string) => client.get<Data>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name }),
    image: async () => (await client.get<Deploy>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' }))
      ?.spec?.template?.spec?.containers?.[0]?.image,
    phases: async () => (await listRevisions(client, ns, 'web')).map((r: PackageRevision) => `${r.spec.revision}:${r.status?.phase ?? '-'}`),
  };
}

const readyAt = (version: string) => (p: Package): boolean => getCondition(p.status?.conditions, 'Ready')?.status === 'True'
  && (p.status?.lastAppliedRevision?.startsWith(`${version}@sha256:`) ?? false);

const good: Version = { version: '1.0.0', greeting: 'one', extra: ['only-v1'], image: 'nginx:1.25' };
const bad: Version = { version: '1.1.0', greeting: 'two', extra: ['only-v2'], image: 'nginx:fail' };

test('an upgrade that never becomes healthy is rolled back with the registry stopped', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = new KubeClient(cluster.kubeConfig, { qps: 0 });
  releaseOnTeardown(t, client, ns);
  const registry = await useRegistry();
  const oci = new OciClient({ insecure: true });
  t.teardown(() => oci.close());
  const repo = `oci://${registry.host}/e2e/rollback`;
  await pushBundle(oci, repo, good);
  await startSource(cluster, ns);
  await startApply(cluster, ns, scratchDir('apply-cache'));
  const h = helpers(client, ns);
  await install(client, ns, repo);
  await h.waitPackage(readyAt('1.0.0'));

  await pushBundle(oci, repo, bad);
  // Once the source has the new artifact, the registry goes away for good.
  await eventually(async () => {
    const src = await client.get<KubeObject & { status?: { artifact?: { revision?: string } } }>(
      { apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', namespace: ns, name: 'web' });
    return src?.status?.artifact?.revision?.startsWith('1.1.0@') || undefined;
  }, 60_000);
  await registry.stop();

  // Rolled back and finished: the restore is healthy and what the bad revision added is pruned (then it stalls).
  const rolled = await h.waitPackage((p) => getCondition(p.status?.conditions, 'RolledBack')?.status === 'True'
    && getCondition(p.status?.conditions, 'Stalled')?.status === 'True');
  t.regex(getCondition(rolled.status?.conditions, 'RolledBack')?.message ?? '', /revision 2 \(1\.1\.0@sha256:[0-9a-f]{12}\) failed .*rolled back to revision 1 \(1\.0\.0@/);
  t.is(rolled.status?.currentRevision, 1);
  t.is((await h.configMap('web-config'))?.data?.greeting, 'one');
  t.truthy(await h.configMap('only-v1'), 'the object the bad revision dropped is there');
  t.is(await h.configMap('only-v2'), undefined, 'the object the bad revision added is gone');
  t.is(await h.image(), 'nginx:1.25');
  t.deepEqual(await h.phases(), ['1:Available', '2:Failed']);
});

test('the apply controller killed between phases: the status said so, and on restart the rollout is rolled back', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = new KubeClient(cluster.kubeConfig, { qps: 0 });
  releaseOnTeardown(t, client, ns);
  const registry = await useRegistry();
  const oci = new OciClient({ insecure: true });
  t.teardown(() => oci.close());
  const repo = `oci://${registry.host}/e2e/crash`;
  await pushBundle(oci, repo, good);
  await startSource(cluster, ns);
  const cacheDir = scratchDir('apply-cache');
  const first = await startApply(cluster, ns, cacheDir);
  const h = helpers(client, ns);
  await install(client, ns, repo);
  await h.waitPackage(readyAt('1.0.0'));

  await pushBundle(oci, repo, bad);
  // Phase 1 (config) is healthy at once; phase 2 (apps) never is. Kill once phase 1 of the new revision is written.
  await eventually(async () => (await h.configMap('only-v2')) ? true : undefined, 60_000, 20);
  await first.kill();

  const cut = await h.getPackage();
  const ready = getCondition(cut?.status?.conditions, 'Ready');
  t.not(ready?.status, 'True', 'the status does not claim the old revision is all there is');
  t.is(getCondition(cut?.status?.conditions, 'Reconciling')?.status, 'True');
  t.regex(ready?.message ?? '', /^Applying revision 2: 1\.1\.0@sha256:/);
  t.truthy(cut?.status?.lastAttemptedRevision?.startsWith('1.1.0@'));
  t.truthy(cut?.status?.lastAppliedRevision?.startsWith('1.0.0@'));
  t.deepEqual(await h.phases(), ['1:Available', '2:-'], 'the write-ahead record of revision 2 exists, unfinished');

  await startApply(cluster, ns, cacheDir);
  // Rolled back and finished: the restore is healthy and what the bad revision added is pruned (then it stalls).
  const rolled = await h.waitPackage((p) => getCondition(p.status?.conditions, 'RolledBack')?.status === 'True'
    && getCondition(p.status?.conditions, 'Stalled')?.status === 'True');
  t.is(rolled.status?.currentRevision, 1);
  t.is((await h.configMap('web-config'))?.data?.greeting, 'one');
  t.truthy(await h.configMap('only-v1'));
  t.is(await h.configMap('only-v2'), undefined, 'nothing of the cut-short rollout is left');
  t.is(await h.image(), 'nginx:1.25');
  t.deepEqual(statusInventory(rolled.status).map((e) => e.id).sort(), [`${ns}_only-v1__ConfigMap`, `${ns}_web-config__ConfigMap`, `${ns}_web_apps_Deployment`]);
  t.deepEqual(await h.phases(), ['1:Available', '2:Failed']);
});
