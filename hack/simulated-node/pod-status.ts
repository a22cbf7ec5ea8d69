/**
 * What a kubelet would report for a Pod bound to the simulated node, as a pure
 * function of the Pod, the clock and the node's addresses. Timestamps of a state
 * that did not change are carried over from the current status, so planning twice
 * for a Pod whose status is already right yields the same status and no write.
 */
import { createHash } from 'node:crypto';
import type { WireContainer, WireContainerStatus, WirePod, WirePodCondition, WirePodStatus } from './wire.ts';

/** The image tag that makes the simulated node fail to "pull" an image. */
export const FAILING_IMAGE_TAG = 'fail';

/** What {@link planPodStatus} needs besides the Pod. */
export interface PodStatusContext {
  readonly now: Date;
  /** The node's InternalIP, reported as status.hostIP. */
  readonly hostIP: string;
  /** Hands out a Pod IP; called only for a Pod that has none yet. */
  readonly allocatePodIP: () => string;
  /** How long a Job's Pod "runs" before it succeeds. */
  readonly jobRunMs: number;
}

/** The status the node wants a Pod to have. */
export interface PodStatusPlan {
  readonly status: WirePodStatus;
  /** Plan again after this long (a Job Pod that will complete). */
  readonly recheckAfterMs?: number;
}

/** Kubernetes' second-precision time format (metav1.Time). */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The tag of an image reference (`nginx:1.25` -> `1.25`), or undefined when it has none. */
export function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSlash = withoutDigest.lastIndexOf('/');
  const lastColon = withoutDigest.lastIndexOf(':');
  // A colon before the last slash belongs to a registry port (`host:5000/app`).
  return lastColon > lastSlash ? withoutDigest.slice(lastColon + 1) : undefined;
}

/** True when the simulated node cannot pull this container's image. */
export function pullsFailingImage(container: WireContainer): boolean {
  return container.image !== undefined && imageTag(container.image) === FAILING_IMAGE_TAG;
}

/** True for a Pod run to completion by a Job. */
export function isJobPod(pod: WirePod): boolean {
  return (pod.metadata.ownerReferences ?? []).some((o) => o.kind === 'Job' && o.apiVersion.startsWith('batch/'));
}

/**
 * The status the node wants `pod` to have, or undefined when the node leaves it
 * alone (it already finished).
 */
export function planPodStatus(pod: WirePod, ctx: PodStatusContext): PodStatusPlan | undefined {
  const current = pod.status ?? {};
  if (current.phase === 'Succeeded' || current.phase === 'Failed') return undefined;
  const now = rfc3339(ctx.now);
  const startTime = current.startTime ?? now;
  // A host-network Pod shares the node's address, as with a real kubelet.
  const podIP = current.podIP ?? (pod.spec.hostNetwork ? ctx.hostIP : ctx.allocatePodIP());
  const addresses = { hostIP: ctx.hostIP, podIP, podIPs: [{ ip: podIP }], startTime };
  const initContainers = pod.spec.initContainers ?? [];
  const failingInit = initContainers.filter(pullsFailingImage).map((c) => c.name);
  const failing = pod.spec.containers.filter(pullsFailingImage).map((c) => c.name);
  const conditions = conditionsPlanner(current.conditions ?? [], now);
  const initStatuses = initContainers.map((c) => failingInit.includes(c.name)
    ? pullBackOff(c)
    : completedStatus(pod, c, findStatus(current.initContainerStatuses, c.name), startTime, now));

  if (failingInit.length > 0 || failing.length > 0) {
    const containerStatuses = pod.spec.containers.map((c) => {
      if (failing.includes(c.name)) return pullBackOff(c);
      // Behind an init container that cannot start, app containers wait for it.
      if (failingInit.length > 0) return waitingStatus(c, 'PodInitializing');
      return runningStatus(pod, c, findStatus(current.containerStatuses, c.name), now);
    });
    const unready = containerStatuses.filter((s) => !s.ready).map((s) => s.name);
    const notReady = `containers with unready status: [${unready.join(' ')}]`;
    return {
      status: {
        phase: 'Pending',
        ...addresses,
        conditions: conditions([
          failingInit.length > 0
            ? ['Initialized', 'False', 'ContainersNotInitialized', `containers with incomplete status: [${failingInit.join(' ')}]`]
            : ['Initialized', 'True'],
          ['Ready', 'False', 'ContainersNotReady', notReady],
          ['ContainersReady', 'False', 'ContainersNotReady', notReady],
        ]),
        initContainerStatuses: initStatuses,
        containerStatuses,
      },
    };
  }

  if (isJobPod(pod)) {
    const ranMs = ctx.now.getTime() - Date.parse(startTime);
    if (ranMs >= ctx.jobRunMs) {
      return {
        status: {
          phase: 'Succeeded',
          ...addresses,
          conditions: conditions([
            ['Initialized', 'True', 'PodCompleted'],
            ['Ready', 'False', 'PodCompleted'],
            ['ContainersReady', 'False', 'PodCompleted'],
          ]),
          initContainerStatuses: initStatuses,
          containerStatuses: pod.spec.containers.map((c) =>
            completedStatus(pod, c, findStatus(current.containerStatuses, c.name), startTime, now)),
        },
      };
    }
    const running = runningPlan(pod, current, addresses, initStatuses, conditions, now);
    return { ...running, recheckAfterMs: ctx.jobRunMs - ranMs };
  }
  return runningPlan(pod, current, addresses, initStatuses, conditions, now);
}

type ConditionSpec = readonly [type: string, status: WirePodCondition['status'], reason?: string, message?: string];

function runningPlan(pod: WirePod, current: WirePodStatus, addresses: Partial<WirePodStatus>,
  initStatuses: WireContainerStatus[], conditions: (specs: readonly ConditionSpec[]) => WirePodCondition[],
  now: string): PodStatusPlan {
  return {
    status: {
      phase: 'Running',
      ...addresses,
      conditions: conditions([['Initialized', 'True'], ['Ready', 'True'], ['ContainersReady', 'True']]),
      initContainerStatuses: initStatuses,
      containerStatuses: pod.spec.containers.map((c) =>
        runningStatus(pod, c, findStatus(current.containerStatuses, c.name), now)),
    },
  };
}

/**
 * Builds the node-owned conditions in the kubelet's order, keeping a condition's
 * lastTransitionTime while its status stays the same, plus PodScheduled (written by
 * the scheduler, or by us for a Pod bound without it) and any condition someone
 * else owns (readiness gates).
 */
function conditionsPlanner(existing: readonly WirePodCondition[], now: string) {
  return (specs: readonly ConditionSpec[]): WirePodCondition[] => {
    const owned = new Set(specs.map(([type]) => type));
    const make = ([type, status, reason, message]: ConditionSpec): WirePodCondition => {
      const before = existing.find((c) => c.type === type);
      return {
        type, status,
        ...(reason === undefined ? {} : { reason }),
        ...(message === undefined ? {} : { message }),
        lastProbeTime: null,
        lastTransitionTime: before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : now,
      };
    };
    const scheduled = existing.find((c) => c.type === 'PodScheduled');
    const others = existing.filter((c) => !owned.has(c.type) && c.type !== 'PodScheduled');
    return [...specs.map(make), scheduled ?? make(['PodScheduled', 'True']), ...others];
  };
}

function findStatus(list: readonly WireContainerStatus[] | undefined, name: string): WireContainerStatus | undefined {
  return list?.find((s) => s.name === name);
}

function digestOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function imageOf(c: WireContainer): string {
  return c.image ?? '';
}

/** A stable, made-up container ID: the same Pod and container always get the same one. */
function containerID(pod: WirePod, c: WireContainer): string {
  return `simulated://${digestOf(`${pod.metadata.uid}/${c.name}`)}`;
}

function imageID(c: WireContainer): string {
  return `simulated://sha256:${digestOf(imageOf(c))}`;
}

function runningStatus(pod: WirePod, c: WireContainer, before: WireContainerStatus | undefined,
  now: string): WireContainerStatus {
  const sameImage = before?.image === imageOf(c);
  const startedAt = sameImage ? before?.state?.running?.startedAt ?? now : now;
  return {
    name: c.name, state: { running: { startedAt } }, ready: true, started: true, restartCount: 0,
    image: imageOf(c), imageID: imageID(c), containerID: containerID(pod, c),
  };
}

function completedStatus(pod: WirePod, c: WireContainer, before: WireContainerStatus | undefined,
  startTime: string, now: string): WireContainerStatus {
  const previous = before?.image === imageOf(c) ? before.state : undefined;
  const startedAt = previous?.terminated?.startedAt ?? previous?.running?.startedAt ?? startTime;
  const finishedAt = previous?.terminated?.finishedAt ?? now;
  const id = containerID(pod, c);
  return {
    name: c.name,
    state: { terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt, containerID: id } },
    ready: false, started: false, restartCount: 0, image: imageOf(c), imageID: imageID(c), containerID: id,
  };
}

function waitingStatus(c: WireContainer, reason: string, message?: string): WireContainerStatus {
  return {
    name: c.name, state: { waiting: message === undefined ? { reason } : { reason, message } },
    ready: false, started: false, restartCount: 0, image: imageOf(c), imageID: '',
  };
}

function pullBackOff(c: WireContainer): WireContainerStatus {
  return waitingStatus(c, 'ImagePullBackOff',
    `Back-off pulling image "${imageOf(c)}": the simulated node cannot pull images tagged "${FAILING_IMAGE_TAG}"`);
}

/**
 * True when writing `desired` would change `current`. Values the apiserver drops
 * or fills in on its own (null, empty objects, absent lists) compare equal to
 * their absence, so a status read back never looks different from what was written.
 */
export function statusDiffers(current: WirePodStatus | undefined, desired: WirePodStatus): boolean {
  const now = (current ?? {}) as Record<string, unknown>;
  return Object.entries(desired).some(([key, value]) => canonical(now[key]) !== canonical(value));
}

/** A key-order independent JSON form that treats null, {} and [] like absence. */
export function canonical(value: unknown): string {
  return JSON.stringify(normalize(value)) ?? 'undefined';
}

function normalize(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.map(normalize);
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => [k, normalize(v)] as const)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  }
  return value;
}
