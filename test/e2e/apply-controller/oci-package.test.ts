// Both controllers as processes (node source-controller/main.ts and
// node apply-controller/main.ts) against the test cluster and a real registry:
// `kubectl apply` of an OCIRepository and a Package makes the bundle's objects
// appear, stay (a deleted one comes back), upgrade when a new version is pushed
// (with prune), sit still without writing while nothing changes, and disappear
// when the Package is deleted.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import anyTest from 'ava';
import { stringify } from 'yaml';
import type { Package } from '../../../apply-controller/api.ts';
import { createDeterministicTarGz } from '../../../runtime/archive.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import {
  OciClient, parseReference, TRELLIS_ARTIFACT_TYPE, TRELLIS_CONFIG_MEDIA_TYPE, TRELLIS_CONTENT_MEDIA_TYPE,
} from '../../../source-controller/oci/index.ts';
import { eventually, scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { startController, withControllers, type RunningController } from '../../support/controllers.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { yamlOf } from '../../integration/apply-controller/support.ts';

const test = withControllers(withServers(withCluster(anyTest)));
const run = promisify(execFile);

/** Writes a Trellis bundle for `version` and pushes it to `repo:<version>`. */
async function pushBundle(oci: OciClient, repo: string, version: string, greeting: string, withExtra: boolean): Promise<void> {
  const dir = scratchDir('bundle');
  const tree = join(dir, 'tree');
  const files: Record<string, string> = {
    'package.yaml': stringify({
      apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageManifest', name: 'web', version, phases: ['config', 'apps'],
      values: {
        schema: { type: 'object', properties: { greeting: { type: 'string', default: greeting } } },
        placements: [{ value: '/greeting', file: 'config.yaml', object: { kind: 'ConfigMap', name: 'web-config' }, path: '/data/greeting' }],
      },
    }),
    'manifests/config.yaml': yamlOf([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config', annotations: { 'apply.trellis.dev/phase': 'config' } }, data: { greeting: 'x' } },
      ...(withExtra ? [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'extra', annotations: { 'apply.trellis.dev/phase': 'config' } }, data: {} }] : []),
    ]),
    'manifests/web.yaml': yamlOf([{
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', annotations: { 'apply.trellis.dev/phase': 'apps' } },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] } } },
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
    config: { mediaType: TRELLIS_CONFIG_MEDIA_TYPE, bytes: new TextEncoder().encode(JSON.stringify({ name: 'web', version })) },
    layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, file: tarball }],
    annotations: { 'org.opencontainers.image.version': version },
    tag: version,
  });
}

/** Sums a counter's samples in a Prometheus text exposition whose labels include all of `labels`. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const WRITE_VERBS = ['create', 'update', 'patch', 'apply', 'delete'];

test('kubectl apply of an OCIRepository and a Package: objects appear, heal, sit still, upgrade with prune, and go', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = new KubeClient(cluster.kubeConfig, { qps: 0 });
  const registry = await useRegistry();
  const oci = new OciClient({ insecure: true });
  t.teardown(() => oci.close());
  const repo = `oci://${registry.host}/e2e/web`;
  await pushBundle(oci, repo, '1.0.0', 'hello', true);

  const source = await startController({
    entry: 'source-controller/main.ts', name: 'e2e-source',
    args: ['--kubeconfig', cluster.kubeconfigPath, '--storage-path', join(scratchDir('source-storage'), 'data'),
      '--artifact-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--health-addr', '', '--watch-namespace', ns],
  });
  const apply: RunningController = await startController({
    entry: 'apply-controller/main.ts', name: 'e2e-apply',
    args: ['--kubeconfig', cluster.kubeconfigPath, '--artifact-cache-dir', scratchDir('apply-cache'), '--metrics-addr', '127.0.0.1:0',
      '--health-addr', '', '--watch-namespace', ns, '--log-level', 'debug'],
  });
  const metricsUrl = (await apply.waitForLine((l) => l.msg === 'serving /healthz, /readyz and /metrics')).url as string;
  const scrape = async (): Promise<string> => (await fetch(`${metricsUrl}/metrics`)).text();

  const manifests = join(scratchDir('kubectl'), 'web.yaml');
  writeFileSync(manifests, yamlOf([
    { apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', metadata: { name: 'web', namespace: ns },
      spec: { url: repo, ref: { semver: '^1.0' }, interval: '2s', insecure: true } },
    { apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name: 'web', namespace: ns },
      spec: { sourceRef: { kind: 'OCIRepository', name: 'web' }, interval: '2s', timeout: '60s', values: { greeting: 'hi from the spec' } } },
  ]));
  const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', cluster.kubeconfigPath, '-n', ns, ...args]);
  await kubectl('apply', '-f', manifests);
  t.teardown(async () => {
    // Delete the Package while the apply controller still runs, so its finalizer is released.
    await kubectl('delete', 'package', 'web', '--ignore-not-found', '--wait=false').catch(() => undefined);
  });

  const getPackage = () => client.get<Package>({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'web' });
  const readyAt = async (version: string) => eventually(async () => {
    const pkg = await getPackage();
    const ready = pkg?.status?.conditions?.find((c) => c.type === 'Ready');
    return ready?.status === 'True' && pkg?.status?.lastAppliedRevision?.startsWith(`${version}@sha256:`) ? pkg : undefined;
  }, 90_000);
  const v1 = await readyAt('1.0.0');
  t.is(v1.status?.currentRevision, 1);
  const cm = await client.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'web-config' });
  t.is(cm?.data?.greeting, 'hi from the spec', 'the value from the Package spec landed in the object');
  t.truthy(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'extra' }));
  const { stdout } = await kubectl('get', 'packages');
  t.regex(stdout, /web\s+1\.0\.0@sha256:[a-f0-9]+\s+True\s+Applied revision 1/);

  // Heal: a deleted object comes back.
  const deletedAt = Date.now();
  await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'web-config' });
  await eventually(async () => (await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'web-config' })) !== undefined, 30_000, 50);
  t.log(`deleted ConfigMap re-created by the controller process in ${Date.now() - deletedAt} ms`);

  // Sit still: reconciles every 2 s (interval) with no change write nothing and download nothing.
  // Let the reconcile that re-created the object finish before counting.
  await new Promise((r) => setTimeout(r, 1_500));
  const quietBefore = await scrape();
  await eventually(async () => metric(await scrape(), 'trellis_reconcile_total', { kind: 'Package' })
    >= metric(quietBefore, 'trellis_reconcile_total', { kind: 'Package' }) + 3, 30_000, 200);
  const quietAfter = await scrape();
  const reconciled = metric(quietAfter, 'trellis_reconcile_total', { kind: 'Package' }) - metric(quietBefore, 'trellis_reconcile_total', { kind: 'Package' });
  const writes = WRITE_VERBS.reduce((n, verb) => n + metric(quietAfter, 'trellis_kube_api_requests_total', { verb })
    - metric(quietBefore, 'trellis_kube_api_requests_total', { verb }), 0);
  t.log(`${reconciled} periodic reconciles with nothing new: ${writes} writes, `
    + `${metric(quietAfter, 'trellis_kube_api_requests_total', { verb: 'apply_dry_run' }) - metric(quietBefore, 'trellis_kube_api_requests_total', { verb: 'apply_dry_run' })} dry runs`);
  t.is(writes, 0, 'no write request while nothing changed');
  t.is(metric(quietAfter, 'trellis_artifact_downloads_total'), metric(quietBefore, 'trellis_artifact_downloads_total'), 'no download');

  // Upgrade: a new version pushed to the registry is picked up, applied, and what left it pruned.
  await pushBundle(oci, repo, '1.1.0', 'hello', false);
  const v2 = await readyAt('1.1.0');
  t.is(v2.status?.currentRevision, 2);
  await eventually(async () => (await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'extra' })) === undefined, 30_000);
  t.is(metric(await scrape(), 'trellis_artifact_downloads_total'), 2, 'one download per artifact');

  // Uninstall.
  await kubectl('delete', 'package', 'web', '--wait=true', '--timeout=60s');
  t.is(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'web-config' }), undefined);
  const web = await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' });
  t.true(web === undefined || web.metadata?.deletionTimestamp !== undefined);

  t.is(await apply.stop(), 0, 'the apply controller stops gracefully on SIGTERM');
  t.is(await source.stop(), 0);
  t.deepEqual(apply.lines().filter((l) => l.level === 'fatal' || l.level === 'error'), [], 'no error in the apply controller log');
});
