// Workloads reach real health states on the local cluster: the real Deployment,
// ReplicaSet, StatefulSet, DaemonSet and Job controllers and the real scheduler
// do their part, and the simulated node plays the kubelet.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import anyTest, { type ExecutionContext } from 'ava';
import * as k8s from '@kubernetes/client-node';
import { NodeServedElsewhereError, startSimulatedNode, type SimulatedNode } from '../../../hack/simulated-node.ts';
import { eventually, testNamespace, useCluster, withCluster, type TestCluster } from '../../support/cluster.ts';

const test = withCluster(anyTest);

const WAIT_MS = 90_000;

interface Clients {
  readonly core: k8s.CoreV1Api;
  readonly apps: k8s.AppsV1Api;
  readonly batch: k8s.BatchV1Api;
  readonly coordination: k8s.CoordinationV1Api;
}

function clients(cluster: TestCluster): Clients {
  const kc = cluster.kubeConfig;
  return {
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    batch: kc.makeApiClient(k8s.BatchV1Api),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
  };
}

function podTemplate(app: string, image: string): k8s.V1PodTemplateSpec {
  return { metadata: { labels: { app } }, spec: { containers: [{ name: 'main', image }] } };
}

function deployment(name: string, image: string, replicas: number): k8s.V1Deployment {
  return {
    metadata: { name },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: podTemplate(name, image) },
  };
}

async function podsOf(core: k8s.CoreV1Api, namespace: string, app: string): Promise<k8s.V1Pod[]> {
  return (await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;
}

function conditionStatus(conditions: readonly { type: string; status: string }[] | undefined, type: string): string | undefined {
  return conditions?.find((c) => c.type === type)?.status;
}

test('a Deployment of nginx:1.25 with 2 replicas becomes Available', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const { core, apps } = clients(cluster);
  await apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', 'nginx:1.25', 2) });

  const ready = await eventually(async () => {
    const d = await apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
    return d.status?.availableReplicas === 2 && conditionStatus(d.status.conditions, 'Available') === 'True' && d;
  }, WAIT_MS);
  t.is(ready.status?.readyReplicas, 2);

  const pods = await podsOf(core, ns, 'web');
  t.is(pods.length, 2);
  for (const pod of pods) {
    t.is(pod.status?.phase, 'Running');
    t.truthy(pod.spec?.nodeName, 'the scheduler bound the Pod');
    t.regex(pod.status?.podIP ?? '', /^10\.244\.\d+\.\d+$/);
    t.is(pod.status?.containerStatuses?.[0]?.ready, true);
    t.truthy(pod.status?.containerStatuses?.[0]?.state?.running);
    for (const type of ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled']) {
      t.is(conditionStatus(pod.status?.conditions, type), 'True', type);
    }
  }
  t.not(pods[0]?.status?.podIP, pods[1]?.status?.podIP, 'each Pod has its own IP');
});

test('a Deployment of nginx:fail stays unavailable with its Pods in ImagePullBackOff', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const { core, apps } = clients(cluster);
  await apps.createNamespacedDeployment({ namespace: ns, body: deployment('broken', 'nginx:fail', 2) });

  // Wait for the node to have handled both Pods, then look at the state it left.
  const pods = await eventually(async () => {
    const list = await podsOf(core, ns, 'broken');
    const handled = list.filter((p) => p.status?.containerStatuses?.[0]?.state?.waiting);
    return list.length === 2 && handled.length === 2 && list;
  }, WAIT_MS);
  for (const pod of pods) {
    t.is(pod.status?.phase, 'Pending');
    const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting;
    t.is(waiting?.reason, 'ImagePullBackOff');
    t.regex(waiting?.message ?? '', /nginx:fail/);
    t.is(conditionStatus(pod.status?.conditions, 'Ready'), 'False');
  }
  const d = await apps.readNamespacedDeployment({ namespace: ns, name: 'broken' });
  t.falsy(d.status?.availableReplicas, 'no replica is available');
  t.not(conditionStatus(d.status?.conditions, 'Available'), 'True');
});

test('a Job completes', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const { batch } = clients(cluster);
  await batch.createNamespacedJob({
    namespace: ns,
    body: {
      metadata: { name: 'once' },
      spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.36' }] } } },
    },
  });
  const job = await eventually(async () => {
    const j = await batch.readNamespacedJob({ namespace: ns, name: 'once' });
    return conditionStatus(j.status?.conditions, 'Complete') === 'True' && j;
  }, WAIT_MS);
  t.is(job.status?.succeeded, 1);
  t.falsy(job.status?.failed);
});

test('a StatefulSet becomes ready, and its Pod comes back under the same name after a deletion', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const { core, apps } = clients(cluster);
  await apps.createNamespacedStatefulSet({
    namespace: ns,
    body: {
      metadata: { name: 'db' },
      spec: { serviceName: 'db', replicas: 1, selector: { matchLabels: { app: 'db' } }, template: podTemplate('db', 'postgres:16') },
    },
  });
  const readyOnce = async (): Promise<k8s.V1Pod> => eventually(async () => {
    const s = await apps.readNamespacedStatefulSet({ namespace: ns, name: 'db' });
    if (s.status?.readyReplicas !== 1) return false;
    const pod = await core.readNamespacedPod({ namespace: ns, name: 'db-0' });
    return !pod.metadata?.deletionTimestamp && conditionStatus(pod.status?.conditions, 'Ready') === 'True' && pod;
  }, WAIT_MS);
  const first = await readyOnce();

  // The re-created Pod has the same name and a new uid: the node must run it too.
  await core.deleteNamespacedPod({ namespace: ns, name: 'db-0' });
  const second = await eventually(async () => {
    const pod = await readyOnce();
    return pod.metadata?.uid !== first.metadata?.uid && pod;
  }, WAIT_MS);
  t.is(second.status?.phase, 'Running');
});

test('a DaemonSet becomes ready on the node', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const { apps } = clients(cluster);
  await apps.createNamespacedDaemonSet({
    namespace: ns,
    body: { metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'agent' } }, template: podTemplate('agent', 'busybox:1.36') } },
  });
  const ds = await eventually(async () => {
    const d = await apps.readNamespacedDaemonSet({ namespace: ns, name: 'agent' });
    const s = d.status;
    return s && s.desiredNumberScheduled >= 1 && s.numberReady === s.desiredNumberScheduled && d;
  }, WAIT_MS);
  t.true((ds.status?.numberReady ?? 0) >= 1);
  t.is(ds.status?.numberUnavailable ?? 0, 0);
});

test('scaling a Deployment down removes its Pods', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const { core, apps } = clients(cluster);
  await apps.createNamespacedDeployment({ namespace: ns, body: deployment('scaled', 'nginx:1.25', 3) });
  await eventually(async () => (await apps.readNamespacedDeployment({ namespace: ns, name: 'scaled' })).status?.availableReplicas === 3, WAIT_MS);
  const before = (await podsOf(core, ns, 'scaled')).map((p) => p.metadata?.uid);

  await apps.patchNamespacedDeploymentScale({ namespace: ns, name: 'scaled', body: { spec: { replicas: 1 } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  // Without the node finalizing them, deleted Pods would stay Terminating.
  const after = await eventually(async () => {
    const pods = await podsOf(core, ns, 'scaled');
    return pods.length === 1 && pods;
  }, WAIT_MS);
  t.true(before.includes(after[0]?.metadata?.uid), 'the remaining Pod is one of the original three');
  t.falsy(after[0]?.metadata?.deletionTimestamp);
  // The deployment controller counts the Pods after they are gone: its status may still say 3 for a moment.
  const d = await eventually(async () => {
    const read = await apps.readNamespacedDeployment({ namespace: ns, name: 'scaled' });
    return read.status?.replicas === 1 && read;
  }, WAIT_MS);
  t.is(d.status?.replicas, 1);
});

/** Waits for the ServiceAccount admission's prerequisite before creating bare Pods. */
async function defaultServiceAccount(core: k8s.CoreV1Api, namespace: string): Promise<void> {
  await eventually(async () => (await core.readNamespacedServiceAccount({ namespace, name: 'default' })).metadata?.name, WAIT_MS);
}

async function startTestNode(t: ExecutionContext, cluster: TestCluster, nodeName: string): Promise<SimulatedNode> {
  const node = await startSimulatedNode({
    kubeconfigPath: cluster.kubeconfigPath, nodeName, log: (line) => t.log(line),
    // Keeps the scheduler from placing other tests' Pods on this short-lived node.
    taints: [{ key: 'trellis.dev/test-node', effect: 'NoSchedule' }],
  });
  t.teardown(() => node.stop());
  return node;
}

test('a restarted node takes over its Node and Pods without rewriting any status', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const { core, coordination } = clients(cluster);
  const nodeName = `t-sim-${randomBytes(3).toString('hex')}`;
  t.teardown(async () => { await core.deleteNode({ name: nodeName }).catch(() => undefined); });
  await defaultServiceAccount(core, ns);

  const first = await startTestNode(t, cluster, nodeName);
  const node = await core.readNode({ name: nodeName });
  t.is(conditionStatus(node.status?.conditions, 'Ready'), 'True');
  t.deepEqual(node.spec?.taints?.map((x) => x.key), ['trellis.dev/test-node'], 'the admission not-ready taint was removed');
  const lease = await coordination.readNamespacedLease({ namespace: 'kube-node-lease', name: nodeName });
  t.regex(lease.spec?.holderIdentity ?? '', new RegExp(`/${process.pid}$`));

  const bind = (name: string, image: string): k8s.V1Pod => ({ metadata: { name }, spec: { nodeName, containers: [{ name: 'main', image }] } });
  await core.createNamespacedPod({ namespace: ns, body: bind('runs', 'nginx:1.25') });
  await core.createNamespacedPod({ namespace: ns, body: bind('cannot-pull', 'registry.local:5000/app:fail') });
  await eventually(async () => {
    const runs = await core.readNamespacedPod({ namespace: ns, name: 'runs' });
    const broken = await core.readNamespacedPod({ namespace: ns, name: 'cannot-pull' });
    return runs.status?.phase === 'Running' && broken.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff';
  }, WAIT_MS);
  t.is(first.writes().podStatus, 2, 'one status write per Pod');
  const versions = async (): Promise<(string | undefined)[]> =>
    (await core.listNamespacedPod({ namespace: ns })).items.map((p) => p.metadata?.resourceVersion).sort();
  const before = await versions();
  await first.stop();

  // startSimulatedNode resolves only after the Pods found at start were brought up to date.
  const second = await startTestNode(t, cluster, nodeName);
  t.deepEqual(second.writes(), { podStatus: 0, podDeletes: 0, node: 0, nodeStatus: 0, lease: 1 });
  t.deepEqual(await versions(), before, 'no Pod was written');

  // The second instance finalizes Pods deleted while it runs.
  await core.deleteCollectionNamespacedPod({ namespace: ns });
  await eventually(async () => (await core.listNamespacedPod({ namespace: ns })).items.length === 0, WAIT_MS);
  // The Pods are gone once the apiserver has the deletes; the counter moves when the answers are back.
  await eventually(() => Promise.resolve(second.writes().podDeletes >= 2), WAIT_MS);
  t.is(second.writes().podDeletes, 2);
});

test('a process that stopped its simulated node exits on its own (no dangling watch or timer)', async (t) => {
  const cluster = await useCluster();
  const { core } = clients(cluster);
  const nodeName = `t-sim-exit-${randomBytes(3).toString('hex')}`;
  t.teardown(async () => { await core.deleteNode({ name: nodeName }).catch(() => undefined); });
  const module = fileURLToPath(new URL('../../../hack/simulated-node.ts', import.meta.url));
  const script = [
    `const { startSimulatedNode } = await import(${JSON.stringify(module)});`,
    `const node = await startSimulatedNode({ kubeconfigPath: ${JSON.stringify(cluster.kubeconfigPath)}, nodeName: ${JSON.stringify(nodeName)},`,
    `  taints: [{ key: 'trellis.dev/test-node', effect: 'NoSchedule' }], heartbeatMs: 200, log: () => {} });`,
    // Let a few heartbeats and watch requests happen first.
    'await new Promise((r) => setTimeout(r, 1500));',
    'await node.stop();',
    "process.stdout.write('stopped');",
  ].join('\n');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  // A guard, not a speed goal: a dangling handle would keep the child alive forever.
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.on('exit', (c, s) => resolve([c, s]));
  });
  clearTimeout(guard);
  t.is(signal, null, `the process had to be killed:\n${out}`);
  t.is(code, 0, out);
  t.is(out, 'stopped');
  const lease = await clients(cluster).coordination.readNamespacedLease({ namespace: 'kube-node-lease', name: nodeName });
  t.truthy(lease.spec?.renewTime, 'the node really ran');
});

test('a node run by another live process is refused, and taken over once that process died', async (t) => {
  const cluster = await useCluster();
  const { core, coordination } = clients(cluster);
  const nodeName = `t-sim-owner-${randomBytes(3).toString('hex')}`;
  t.teardown(async () => { await core.deleteNode({ name: nodeName }).catch(() => undefined); });
  const module = fileURLToPath(new URL('../../../hack/simulated-node.ts', import.meta.url));
  const script = [
    `const { startSimulatedNode } = await import(${JSON.stringify(module)});`,
    `await startSimulatedNode({ kubeconfigPath: ${JSON.stringify(cluster.kubeconfigPath)}, nodeName: ${JSON.stringify(nodeName)},`,
    `  taints: [{ key: 'trellis.dev/test-node', effect: 'NoSchedule' }], log: () => {} });`,
    "process.stdout.write('ready');",
  ].join('\n');
  const owner = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => owner.on('exit', () => resolve()));
  t.teardown(() => { owner.kill('SIGKILL'); });
  await new Promise<void>((resolve, reject) => {
    owner.stdout.on('data', () => resolve());
    owner.on('exit', (code) => reject(new Error(`the owner process exited (${code}) before its node was ready`)));
  });

  const refused = await t.throwsAsync(startSimulatedNode({ kubeconfigPath: cluster.kubeconfigPath, nodeName, log: () => undefined }),
    { instanceOf: NodeServedElsewhereError });
  t.is(refused?.holderPid ?? -1, owner.pid ?? -2);

  // A crash leaves a fresh Lease behind; the dead holder must not block a restart.
  owner.kill('SIGKILL');
  await exited;
  const heir = await startTestNode(t, cluster, nodeName);
  t.is(heir.writes().node, 0, 'the existing Node was taken over, not re-created');
  const lease = await coordination.readNamespacedLease({ namespace: 'kube-node-lease', name: nodeName });
  t.regex(lease.spec?.holderIdentity ?? '', new RegExp(`/${process.pid}$`));
});
