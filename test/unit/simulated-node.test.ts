// The simulated node's decisions as pure functions of plain Pod/Node data.
import test from 'ava';
import { ApiException } from '@kubernetes/client-node';
import { describeError, httpStatusOf, KubeRequestError } from '../../hack/simulated-node/kube-rest.ts';
import {
  desiredNodeStatus, holderIdentity, nodeSpecPatch, nodeStatusDiffers, parseHolderIdentity,
} from '../../hack/simulated-node/node-object.ts';
import { PodIPPool } from '../../hack/simulated-node/pod-ips.ts';
import {
  canonical, imageTag, isJobPod, planPodStatus, statusDiffers, type PodStatusContext,
} from '../../hack/simulated-node/pod-status.ts';
import type { WireContainer, WireNode, WirePod, WirePodStatus } from '../../hack/simulated-node/wire.ts';
import { KeyedWorkQueue } from '../../hack/simulated-node/work-queue.ts';

const T0 = new Date('2026-01-01T10:00:00Z');
const later = (ms: number): Date => new Date(T0.getTime() + ms);

function pod(containers: readonly WireContainer[], extra: Partial<WirePod> = {}): WirePod {
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'uid-1', resourceVersion: '1', ...extra.metadata },
    spec: { nodeName: 'n', containers, ...extra.spec },
    status: extra.status ?? { phase: 'Pending', qosClass: 'BestEffort' },
  };
}

function ctx(now = T0, ips: string[] = ['10.244.0.7']): PodStatusContext & { allocated: number } {
  const c = {
    now, hostIP: '127.0.0.1', jobRunMs: 1_000, allocated: 0,
    allocatePodIP: () => { c.allocated += 1; return ips.shift() ?? 'exhausted'; },
  };
  return c;
}

/** What the apiserver hands back after a status write: it adds empty structs and drops empty lists. */
function readBack(p: WirePod, status: WirePodStatus): WirePod {
  const { initContainerStatuses, containerStatuses, ...rest } = JSON.parse(JSON.stringify({ ...p.status, ...status })) as WirePodStatus;
  return {
    ...p,
    status: {
      ...rest,
      ...(initContainerStatuses?.length ? { initContainerStatuses } : {}),
      ...(containerStatuses ? { containerStatuses: containerStatuses.map((s) => ({ ...s, lastState: {} })) } : {}),
    },
  };
}

const job = (containers: readonly WireContainer[]): WirePod => pod(containers, {
  metadata: { name: 'j', uid: 'uid-j', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: 'x' }] },
  spec: { containers, restartPolicy: 'Never' },
});

test('imageTag finds the tag, not a registry port or a digest', (t) => {
  t.is(imageTag('nginx:1.25'), '1.25');
  t.is(imageTag('nginx:fail'), 'fail');
  t.is(imageTag('nginx'), undefined);
  t.is(imageTag('registry.local:5000/app'), undefined);
  t.is(imageTag('registry.local:5000/team/app:fail'), 'fail');
  t.is(imageTag('nginx:fail@sha256:0123'), 'fail');
  t.is(imageTag('nginx@sha256:0123'), undefined);
});

test('a plain Pod is planned Running and Ready with a Pod IP and the host IP', (t) => {
  const c = ctx();
  const plan = planPodStatus(pod([{ name: 'web', image: 'nginx:1.25' }]), c);
  const s = plan?.status;
  t.is(s?.phase, 'Running');
  t.is(s?.podIP, '10.244.0.7');
  t.deepEqual(s?.podIPs, [{ ip: '10.244.0.7' }]);
  t.is(s?.hostIP, '127.0.0.1');
  t.is(s?.startTime, '2026-01-01T10:00:00Z');
  t.deepEqual(s?.conditions?.map((x) => [x.type, x.status]),
    [['Initialized', 'True'], ['Ready', 'True'], ['ContainersReady', 'True'], ['PodScheduled', 'True']]);
  const cs = s?.containerStatuses?.[0];
  t.like(cs, { name: 'web', ready: true, started: true, restartCount: 0, image: 'nginx:1.25' });
  t.is(cs?.state?.running?.startedAt, '2026-01-01T10:00:00Z');
  t.is(plan?.recheckAfterMs, undefined);
  t.is(c.allocated, 1);
});

test('a host-network Pod gets the node address and uses no Pod IP', (t) => {
  const c = ctx();
  const containers = [{ name: 'agent', image: 'agent:1' }];
  const s = planPodStatus(pod(containers, { spec: { containers, hostNetwork: true } }), c)?.status;
  t.is(s?.podIP, '127.0.0.1');
  t.is(c.allocated, 0);
});

test('planning again for a Pod whose status is already right asks for no write, even later', (t) => {
  const p = pod([{ name: 'web', image: 'nginx:1.25' }, { name: 'side', image: 'busybox:1' }]);
  const first = planPodStatus(p, ctx());
  if (!first) return t.fail();
  const written = readBack(p, first.status);
  const c = ctx(later(3_600_000));
  const again = planPodStatus(written, c);
  if (!again) return t.fail();
  t.false(statusDiffers(written.status, again.status));
  t.is(c.allocated, 0, 'a Pod keeps its IP');
  t.true(statusDiffers(p.status, first.status), 'a fresh Pod does need the write');
});

test('an image change on a running Pod is reported (new image, new start time)', (t) => {
  const p = pod([{ name: 'web', image: 'nginx:1.25' }]);
  const written = readBack(p, planPodStatus(p, ctx())?.status ?? {});
  const changed: WirePod = { ...written, spec: { ...written.spec, containers: [{ name: 'web', image: 'nginx:1.26' }] } };
  const plan = planPodStatus(changed, ctx(later(5_000)));
  t.true(statusDiffers(changed.status, plan?.status ?? {}));
  t.is(plan?.status.containerStatuses?.[0]?.image, 'nginx:1.26');
  t.is(plan?.status.containerStatuses?.[0]?.state?.running?.startedAt, '2026-01-01T10:00:05Z');
});

test('a Job Pod runs, then succeeds with exit code 0 after jobRunMs, then is left alone', (t) => {
  const p = job([{ name: 'main', image: 'busybox:1' }]);
  t.true(isJobPod(p));
  const running = planPodStatus(p, ctx());
  t.is(running?.status.phase, 'Running');
  t.is(running?.recheckAfterMs, 1_000);
  const afterStart = readBack(p, running?.status ?? {});

  const early = planPodStatus(afterStart, ctx(later(400)));
  t.is(early?.status.phase, 'Running');
  t.is(early?.recheckAfterMs, 600);
  t.false(statusDiffers(afterStart.status, early?.status ?? {}));

  const done = planPodStatus(afterStart, ctx(later(1_000)));
  t.is(done?.status.phase, 'Succeeded');
  const terminated = done?.status.containerStatuses?.[0]?.state?.terminated;
  t.like(terminated, { exitCode: 0, reason: 'Completed', startedAt: '2026-01-01T10:00:00Z', finishedAt: '2026-01-01T10:00:01Z' });
  t.deepEqual(done?.status.conditions?.map((x) => [x.type, x.status, x.reason]).slice(0, 3),
    [['Initialized', 'True', 'PodCompleted'], ['Ready', 'False', 'PodCompleted'], ['ContainersReady', 'False', 'PodCompleted']]);
  t.is(planPodStatus(readBack(afterStart, done?.status ?? {}), ctx(later(9_000))), undefined);
});

test('a Pod owned by something else than a Job is not a Job Pod', (t) => {
  const p = pod([{ name: 'main', image: 'busybox:1' }], {
    metadata: { name: 'r', uid: 'u', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'r', uid: 'x' }] },
  });
  t.false(isJobPod(p));
  t.is(planPodStatus(p, ctx(later(60_000)))?.status.phase, 'Running');
});

test('a Pod with an image tagged fail stays Pending in ImagePullBackOff, even a Job Pod', (t) => {
  for (const p of [
    pod([{ name: 'web', image: 'nginx:fail' }, { name: 'side', image: 'busybox:1' }]),
    job([{ name: 'web', image: 'nginx:fail' }, { name: 'side', image: 'busybox:1' }]),
  ]) {
    const plan = planPodStatus(p, ctx(later(600_000)));
    t.is(plan?.status.phase, 'Pending');
    t.is(plan?.recheckAfterMs, undefined, 'nothing to wait for');
    const [web, side] = plan?.status.containerStatuses ?? [];
    t.is(web?.state?.waiting?.reason, 'ImagePullBackOff');
    t.regex(web?.state?.waiting?.message ?? '', /"nginx:fail"/);
    t.false(web?.ready);
    t.true(side?.ready, 'the other container runs');
    const ready = plan?.status.conditions?.find((x) => x.type === 'Ready');
    t.like(ready, { status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [web]' });
  }
});

test('an init container whose image fails keeps the Pod uninitialized', (t) => {
  const p = pod([{ name: 'app', image: 'nginx:1.25' }], {
    spec: { containers: [{ name: 'app', image: 'nginx:1.25' }], initContainers: [{ name: 'setup', image: 'tools:fail' }] },
  });
  const s = planPodStatus(p, ctx())?.status;
  t.is(s?.phase, 'Pending');
  t.like(s?.conditions?.find((x) => x.type === 'Initialized'), { status: 'False', reason: 'ContainersNotInitialized' });
  t.is(s?.initContainerStatuses?.[0]?.state?.waiting?.reason, 'ImagePullBackOff');
  t.is(s?.containerStatuses?.[0]?.state?.waiting?.reason, 'PodInitializing');
});

test('init containers that pull fine are reported completed', (t) => {
  const p = pod([{ name: 'app', image: 'nginx:1.25' }], {
    spec: { containers: [{ name: 'app', image: 'nginx:1.25' }], initContainers: [{ name: 'setup', image: 'tools:1' }] },
  });
  const s = planPodStatus(p, ctx())?.status;
  t.is(s?.phase, 'Running');
  t.like(s?.initContainerStatuses?.[0]?.state?.terminated, { exitCode: 0, reason: 'Completed' });
});

test('conditions keep the scheduler PodScheduled, readiness gates, and transition times of unchanged states', (t) => {
  const scheduled = { type: 'PodScheduled', status: 'True' as const, lastProbeTime: null, lastTransitionTime: '2025-12-31T00:00:00Z' };
  const gate = { type: 'example.com/gate', status: 'False' as const, lastTransitionTime: '2025-12-31T00:00:00Z' };
  const ready = { type: 'Ready', status: 'True' as const, lastProbeTime: null, lastTransitionTime: '2025-12-31T01:00:00Z' };
  const p = pod([{ name: 'web', image: 'nginx:1.25' }], { status: { phase: 'Running', conditions: [scheduled, gate, ready] } });
  const conditions = planPodStatus(p, ctx())?.status.conditions ?? [];
  t.deepEqual(conditions.find((x) => x.type === 'PodScheduled'), scheduled);
  t.deepEqual(conditions.find((x) => x.type === 'example.com/gate'), gate);
  t.is(conditions.find((x) => x.type === 'Ready')?.lastTransitionTime, '2025-12-31T01:00:00Z');
  t.is(conditions.find((x) => x.type === 'Initialized')?.lastTransitionTime, '2026-01-01T10:00:00Z');

  const broken: WirePod = { ...p, spec: { containers: [{ name: 'web', image: 'nginx:fail' }] } };
  const flipped = planPodStatus(broken, ctx(later(1_000)))?.status.conditions?.find((x) => x.type === 'Ready');
  t.is(flipped?.lastTransitionTime, '2026-01-01T10:00:01Z', 'a status flip moves the transition time');
});

test('a finished Pod is left alone', (t) => {
  for (const phase of ['Succeeded', 'Failed']) {
    t.is(planPodStatus(pod([{ name: 'x', image: 'a:1' }], { status: { phase } }), ctx()), undefined);
  }
});

test('statusDiffers treats null, {} and [] like absent fields and ignores key order', (t) => {
  t.is(canonical({ a: 1, b: { c: null, d: [] }, e: {} }), canonical({ a: 1 }));
  t.is(canonical({ x: 1, y: 2 }), canonical({ y: 2, x: 1 }));
  t.false(statusDiffers({ phase: 'Running', podIP: '1.2.3.4' }, { podIP: '1.2.3.4' }), 'only desired fields count');
  t.true(statusDiffers({ phase: 'Pending' }, { phase: 'Running' }));
  t.true(statusDiffers(undefined, { phase: 'Running' }));
});

function nodeWith(status: WireNode['status'], taints?: WireNode['spec']): WireNode {
  return { metadata: { name: 'n1', uid: 'u', labels: {} }, spec: taints, status };
}

test('the node status is stable between heartbeats and refreshed when one is due', (t) => {
  const first = desiredNodeStatus('n1', undefined, T0);
  t.like(first.conditions?.find((c) => c.type === 'Ready'), { status: 'True', lastHeartbeatTime: '2026-01-01T10:00:00Z' });
  t.deepEqual(first.conditions?.filter((c) => c.status === 'False').map((c) => c.type), ['MemoryPressure', 'DiskPressure', 'PIDPressure']);
  t.true(nodeStatusDiffers(undefined, first));
  const soon = desiredNodeStatus('n1', first, later(60_000));
  t.false(nodeStatusDiffers(first, soon));
  const due = desiredNodeStatus('n1', first, later(5 * 60_000));
  t.true(nodeStatusDiffers(first, due));
  t.is(due.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime, '2026-01-01T10:00:00Z', 'still the same transition');

  const notReady = { ...first, conditions: first.conditions?.map((c) => (c.type === 'Ready' ? { ...c, status: 'False' as const } : c)) };
  t.true(nodeStatusDiffers(notReady, desiredNodeStatus('n1', notReady, later(1_000))), 'someone else marking it NotReady is corrected');
});

test('node taints: registration sets ours, later only not-ready taints are removed', (t) => {
  const ours = [{ key: 'example.com/test', effect: 'NoSchedule' as const }];
  const admitted = nodeWith(undefined, { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] });
  t.deepEqual(nodeSpecPatch(admitted, ours, true)?.spec.taints, ours);
  t.truthy(nodeSpecPatch(admitted, ours, true)?.metadata?.labels['kubernetes.io/hostname'], 'labels are set on claim');

  const foreign = { key: 'someone/else', effect: 'NoExecute' as const };
  const later = nodeWith(undefined, { taints: [foreign, { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] });
  t.deepEqual(nodeSpecPatch(later, [], false), { spec: { taints: [foreign] } });
  t.is(nodeSpecPatch(nodeWith(undefined, { taints: [foreign] }), [], false), undefined, 'a foreign taint stays');
  t.is(nodeSpecPatch(nodeWith(undefined), [], false), undefined);
});

test('the Lease holder identity names this process and rejects other holders', (t) => {
  t.deepEqual(parseHolderIdentity(holderIdentity('vm', 4242)), { host: 'vm', pid: 4242 });
  t.is(parseHolderIdentity('trellis-node'), undefined, 'a real kubelet holds its Lease by node name');
  t.is(parseHolderIdentity(undefined), undefined);
  t.is(parseHolderIdentity('trellis-simulated-node/vm/not-a-pid'), undefined);
});

test('the Pod IP pool hands out distinct, plausible IPs and respects IPs already in use', (t) => {
  const pool = new PodIPPool();
  pool.observe('old', '10.244.0.1');
  const a = pool.assign('a');
  t.is(a, '10.244.0.2', 'the IP an existing Pod reports is not handed out again');
  t.is(pool.assign('a'), a, 'the same Pod keeps its IP');
  t.is(pool.assign('old'), '10.244.0.1');
  const seen = new Set<string>([a, '10.244.0.1']);
  for (let i = 0; i < 600; i++) {
    const ip = pool.assign(`p${i}`);
    t.false(seen.has(ip));
    t.notRegex(ip, /\.(0|255)$/);
    seen.add(ip);
  }
  pool.release('a');
  t.not(pool.assign('b'), a, 'a released IP is not reused at once');
});

test('the work queue runs a key once per burst and again when it changed while running', async (t) => {
  const runs: string[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => { release = r; });
  const queue = new KeyedWorkQueue({
    concurrency: 1,
    work: async (key) => { runs.push(key); if (runs.length === 1) await gate; },
  });
  queue.add('a');
  queue.add('a'); // while running: run again afterwards
  queue.add('b');
  queue.add('b'); // while waiting: de-duplicated
  t.deepEqual(runs, ['a'], 'concurrency 1: b waits');
  release();
  await queue.idle();
  t.deepEqual(runs.sort(), ['a', 'a', 'b']);
  await queue.stop();
  queue.add('c');
  await queue.idle();
  t.false(runs.includes('c'), 'a stopped queue takes no work');
});

test('error descriptions carry the status and the server message, never headers', (t) => {
  const err = new ApiException(404, 'Unknown API Status Code!', { kind: 'Status', message: 'pods "x" not found' },
    { 'set-cookie': 'session=s3cr3t', authorization: 'Bearer s3cr3t' });
  t.is(httpStatusOf(err), 404);
  t.is(describeError(err), 'HTTP 404: pods "x" not found');
  t.is(describeError(new KubeRequestError(410, 'GET /api/v1/pods: HTTP 410 Expired')), 'HTTP 410: GET /api/v1/pods: HTTP 410 Expired');
  t.is(describeError(new Error('socket hang up\nat ...')), 'socket hang up');
  t.is(httpStatusOf('nope'), undefined);
});
