/**
 * The Pod half of the simulated kubelet: watches the Pods bound to the node and
 * drives each one's status to what {@link planPodStatus} says, through the
 * pods/status subresource, writing only when the status is not already right.
 * Pods being deleted are finalized the way a kubelet does once its containers are
 * gone: deleted with grace period 0.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { describeError, httpStatusOf } from './kube-rest.ts';
import { startListWatch, type WatchEventType } from './list-watch.ts';
import { NODE_IP } from './node-object.ts';
import { PodIPPool } from './pod-ips.ts';
import { planPodStatus, statusDiffers } from './pod-status.ts';
import type { WritesCounter } from './writes.ts';
import { KeyedWorkQueue } from './work-queue.ts';
import type { WirePod } from './wire.ts';

/** Options for {@link startPodAgent}. */
export interface PodAgentOptions {
  readonly kubeConfig: KubeConfig;
  readonly nodeName: string;
  readonly jobRunMs: number;
  readonly log: (line: string) => void;
  readonly writes: WritesCounter;
  readonly clock?: () => Date;
}

/** A running Pod agent. */
export interface PodAgent {
  /** Resolves once the Pods found by the first list have been brought up to date. */
  readonly synced: Promise<void>;
  stop(): Promise<void>;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Starts watching and running the Pods bound to `opts.nodeName`. */
export function startPodAgent(opts: PodAgentOptions): PodAgent {
  const core = opts.kubeConfig.makeApiClient(CoreV1Api);
  const clock = opts.clock ?? (() => new Date());
  const pods = new Map<string, WirePod>();
  const ips = new PodIPPool();
  const timers = new Map<string, NodeJS.Timeout>();
  const failures = new Map<string, number>();
  let stopped = false;

  const recheck = (uid: string, afterMs: number): void => {
    clearTimeout(timers.get(uid));
    if (stopped) return;
    timers.set(uid, setTimeout(() => { timers.delete(uid); queue.add(uid); }, Math.max(0, afterMs)));
  };

  const retryLater = (uid: string, what: string, err: unknown): void => {
    const attempt = (failures.get(uid) ?? 0) + 1;
    failures.set(uid, attempt);
    const delay = Math.min(500 * 2 ** attempt, 30_000);
    const pod = pods.get(uid);
    opts.log(`${what} ${pod ? `${pod.metadata.namespace}/${pod.metadata.name}` : uid} failed (${describeError(err)}): retrying in ${delay} ms`);
    recheck(uid, delay);
  };

  const finalize = async (pod: WirePod): Promise<void> => {
    const { uid, name, namespace = '' } = pod.metadata;
    // Grace 0 was already granted: the Pod only waits for someone else's finalizers.
    if (pod.metadata.deletionGracePeriodSeconds === 0) return;
    try {
      // Both go in the body: with a body, the apiserver ignores DeleteOptions given
      // as query parameters. The uid keeps a StatefulSet's re-created Pod safe.
      await core.deleteNamespacedPod({ name, namespace, body: { gracePeriodSeconds: 0, preconditions: { uid } } });
      opts.writes.count('podDeletes');
      failures.delete(uid);
    } catch (err) {
      const status = httpStatusOf(err);
      // 404: already gone; 409: the name now belongs to another Pod. Nothing to do either way.
      if (status !== 404 && status !== 409) retryLater(uid, 'finalizing deleted Pod', err);
    }
  };

  const syncPod = async (uid: string): Promise<void> => {
    const pod = pods.get(uid);
    if (!pod || stopped) return;
    if (pod.metadata.deletionTimestamp) return finalize(pod);
    const plan = planPodStatus(pod, {
      now: clock(), hostIP: NODE_IP, jobRunMs: opts.jobRunMs, allocatePodIP: () => ips.assign(uid),
    });
    if (!plan) return;
    if (plan.recheckAfterMs !== undefined) recheck(uid, plan.recheckAfterMs);
    if (!statusDiffers(pod.status, plan.status)) return;
    const { name, namespace = '', resourceVersion } = pod.metadata;
    try {
      // resourceVersion makes the write conditional: a status planned from a stale
      // Pod is refused (409), and the newer Pod is already on its way in the watch.
      await core.patchNamespacedPodStatus({ name, namespace, body: { metadata: { resourceVersion }, status: plan.status } },
        mergePatch);
      opts.writes.count('podStatus');
      failures.delete(uid);
    } catch (err) {
      const status = httpStatusOf(err);
      if (status !== 404 && status !== 409) retryLater(uid, 'writing status of Pod', err);
    }
  };

  const queue = new KeyedWorkQueue({
    work: (uid) => syncPod(uid).catch((err: unknown) => retryLater(uid, 'handling Pod', err)),
    concurrency: 8,
  });

  const forget = (uid: string): void => {
    pods.delete(uid);
    ips.release(uid);
    failures.delete(uid);
    clearTimeout(timers.get(uid));
    timers.delete(uid);
  };

  const remember = (pod: WirePod): void => {
    const uid = pod.metadata.uid;
    pods.set(uid, pod);
    ips.observe(uid, pod.status?.podIP);
    queue.add(uid);
  };

  const watch = startListWatch<WirePod>({
    kubeConfig: opts.kubeConfig,
    path: '/api/v1/pods',
    query: { fieldSelector: `spec.nodeName=${opts.nodeName}` },
    log: opts.log,
    onList(items) {
      const present = new Set(items.map((p) => p.metadata.uid));
      for (const uid of [...pods.keys()]) if (!present.has(uid)) forget(uid);
      for (const pod of items) remember(pod);
    },
    onEvent(type: WatchEventType, pod) {
      if (type === 'DELETED') forget(pod.metadata.uid);
      else remember(pod);
    },
  });

  return {
    synced: watch.synced.then(() => queue.idle()),
    async stop() {
      stopped = true;
      await watch.stop();
      await queue.stop();
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
