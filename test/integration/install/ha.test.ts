// HA of the source controller as shipped: two replicas with SEPARATE storage;
// the leader labels its Pod and the artifact Service selects that label, so
// the Service routes only to the replica that has the artifacts. Kill the
// leader: the standby takes over the Lease, moves the label to its own Pod,
// rebuilds the artifact on its empty disk, and an apply controller downloads it.
// The Pods are Pod objects the simulated node "runs"; the replicas are local
// processes that act as those Pods (POD_NAME), as in-cluster replicas would.
import anyTest from 'ava';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { runPush } from '../../../cli/push.ts';
import { ARTIFACT_SERVER_LABEL, LEADER_LABEL_VALUE } from '../../../runtime/leader-pod-label.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { startController, withControllers, type RunningController } from '../../support/controllers.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { configMapPackage, packageRoot, writePackage } from '../cdk8s/packages.ts';

const test = withControllers(withServers(withCluster(anyTest)));
const silent = { stdout: { write: () => true }, stderr: { write: () => true } };

interface Endpoints extends KubeObject { subsets?: { addresses?: { targetRef?: { name?: string } }[] }[] }
interface Source extends KubeObject { status?: { artifact?: { url: string; digest: string } } }

test('two source-controller replicas with separate storage: the Service routes to the leader, which has every artifact, also after a failover', async (t) => {
  const cluster = await useCluster();
  const admin = new KubeClient(cluster.kubeConfig);
  const ns = await testNamespace(t, cluster);
  const registry = await useRegistry();
  const dir = writePackage(packageRoot(), 'ha', configMapPackage({ name: 'ha', greeting: 'hello' }));
  await runPush(dir, `oci://${registry.host}/ha/pkg:1.0.0`, { insecure: true }, silent);

  const app = { 'app.kubernetes.io/name': 'ha-source' };
  for (const name of ['replica-a', 'replica-b']) {
    await admin.create({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: app },
      spec: { containers: [{ name: 'manager', image: 'trellis:test' }] },
    } as KubeObject);
  }
  await admin.create({
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'artifacts', namespace: ns },
    spec: { selector: { ...app, [ARTIFACT_SERVER_LABEL]: LEADER_LABEL_VALUE }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  } as KubeObject);

  const replica = (pod: string, waitRunning: boolean): Promise<RunningController> => startController({
    entry: 'source-controller/main.ts', name: `ha-${pod}`, env: { POD_NAME: pod },
    args: ['--kubeconfig', cluster.kubeconfigPath, '--storage-path', join(scratchDir(`ha-${pod}`), 'data'), '--artifact-addr', '127.0.0.1:0',
      '--metrics-addr', '', '--health-addr', '', '--watch-namespace', ns, '--leader-elect', '--leader-election-namespace', ns,
      '--leader-election-id', 'ha-source'],
    ...(waitRunning ? {} : { readyWhen: (l) => l.msg === 'serving artifacts' }),
  });
  const a = await replica('replica-a', true);
  const b = await replica('replica-b', false);
  const urlOf = (c: RunningController): string => String(c.lines().find((l) => l.msg === 'serving artifacts')?.url);

  await admin.create({
    apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', metadata: { name: 'ha', namespace: ns },
    spec: { url: `oci://${registry.host}/ha/pkg`, ref: { tag: '1.0.0' }, interval: '1h', insecure: true },
  } as KubeObject);
  const source = () => admin.get<Source>({ apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', namespace: ns, name: 'ha' });
  const routedTo = async (): Promise<string[]> => {
    const ep = await admin.get<Endpoints>({ apiVersion: 'v1', kind: 'Endpoints', namespace: ns, name: 'artifacts' });
    return (ep?.subsets ?? []).flatMap((s) => s.addresses ?? []).map((x) => x.targetRef?.name ?? '');
  };
  const download = async (base: string, artifactUrl: string): Promise<{ status: number; digest?: string }> => {
    const res = await fetch(`${base}${new URL(artifactUrl).pathname}`);
    if (res.status !== 200) return { status: res.status };
    return { status: 200, digest: `sha256:${createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex')}` };
  };

  const first = await eventually(async () => (await source())?.status?.artifact, 60_000, 250);
  t.deepEqual(await eventually(async () => { const r = await routedTo(); return r.length === 1 && r; }, 60_000, 250), ['replica-a'],
    'the Service routes to the leader only');
  t.deepEqual(await download(urlOf(a), first.url), { status: 200, digest: first.digest }, 'the leader serves the artifact');
  t.is((await download(urlOf(b), first.url)).status, 404, 'the standby has no artifact: routing it any download would fail');

  await a.kill();
  await eventually(async () => { const r = await routedTo(); return r.length === 1 && r[0] === 'replica-b'; }, 90_000, 250);
  t.pass('after the leader died, the Service routes to the new leader only');
  const rebuilt = await eventually(async () => {
    const got = await download(urlOf(b), first.url);
    return got.status === 200 && got;
  }, 60_000, 250);
  t.is(rebuilt.digest, first.digest, 'the new leader rebuilt the same artifact on its own disk');
  const now = await eventually(async () => { const s = (await source())?.status?.artifact; return s?.url.startsWith(urlOf(b)) && s; }, 60_000, 250);
  t.is(now.digest, first.digest);

  // An apply controller downloads from the URL the new leader advertises.
  await startController({
    entry: 'apply-controller/main.ts', name: 'ha-apply',
    args: ['--kubeconfig', cluster.kubeconfigPath, '--artifact-cache-dir', scratchDir('ha-apply-cache'), '--metrics-addr', '', '--health-addr', '',
      '--watch-namespace', ns],
  });
  await admin.create({
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name: 'ha', namespace: ns },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'ha' }, interval: '1h', timeout: '60s' },
  } as KubeObject);
  await eventually(async () => (await admin.get<KubeObject & { data?: Record<string, string> }>(
    { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'greeting' }))?.data?.greeting === 'hello', 90_000, 250);
  t.pass('the apply controller downloaded the artifact and applied it');
  await b.stop();
});
