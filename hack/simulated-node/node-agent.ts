/**
 * The Node half of the simulated kubelet: registers the Node (or takes over an
 * existing one), keeps its status Ready and renews its Lease in kube-node-lease on
 * every heartbeat. Reads are cheap; writes happen only for the Lease renewal and
 * when the Node is missing or wrong.
 */
import { hostname } from 'node:os';
import { CoordinationV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Lease, type V1Node }
  from '@kubernetes/client-node';
import { isAlive } from '../lib/processes.ts';
import { describeError, getJson, httpStatusOf } from './kube-rest.ts';
import {
  desiredNodeStatus, holderIdentity, LEASE_DURATION_SECONDS, leaseManifest, microTime, NODE_LEASE_NAMESPACE,
  nodeManifest, nodeSpecPatch, nodeStatusDiffers, parseHolderIdentity,
} from './node-object.ts';
import type { WireLease, WireNode, WireTaint } from './wire.ts';
import type { WritesCounter } from './writes.ts';

/** Raised when another live process already runs this node (its Lease is fresh). */
export class NodeServedElsewhereError extends Error {
  override readonly name = 'NodeServedElsewhereError';
  readonly holderPid: number;
  constructor(nodeName: string, holderPid: number) {
    super(`node ${nodeName} is already run by process ${holderPid} (its Lease is being renewed)`);
    this.holderPid = holderPid;
  }
}

/** Options for {@link startNodeAgent}. */
export interface NodeAgentOptions {
  readonly kubeConfig: KubeConfig;
  readonly nodeName: string;
  readonly taints: readonly WireTaint[];
  readonly log: (line: string) => void;
  readonly writes: WritesCounter;
  readonly heartbeatMs?: number;
  /** How long to keep trying to register the Node before giving up. */
  readonly registerTimeoutMs?: number;
}

/** A registered, heart-beating node. */
export interface NodeAgent {
  stop(): Promise<void>;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Registers the Node and starts its heartbeat; resolves once the Node is registered and Ready. */
export async function startNodeAgent(opts: NodeAgentOptions): Promise<NodeAgent> {
  const { kubeConfig: kc, nodeName, log, writes } = opts;
  const core = kc.makeApiClient(CoreV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const identity = holderIdentity(hostname(), process.pid);
  const nodePath = `/api/v1/nodes/${encodeURIComponent(nodeName)}`;
  const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases/${encodeURIComponent(nodeName)}`;
  let nodeUid = '';

  const readOrUndefined = async <T>(path: string): Promise<T | undefined> => {
    try {
      return await getJson<T>(kc, path);
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    }
  };

  /** Fails when a live process on this machine renews the Lease as another holder. */
  const refuseIfServedElsewhere = async (): Promise<void> => {
    const lease = await readOrUndefined<WireLease>(leasePath);
    const holder = parseHolderIdentity(lease?.spec?.holderIdentity);
    const renewed = Date.parse(lease?.spec?.renewTime ?? '');
    const fresh = Date.now() - renewed < (lease?.spec?.leaseDurationSeconds ?? LEASE_DURATION_SECONDS) * 1000;
    if (holder && holder.host === hostname() && holder.pid !== process.pid && isAlive(holder.pid) && fresh) {
      throw new NodeServedElsewhereError(nodeName, holder.pid);
    }
  };

  /**
   * Creates the Node when it is missing and fixes its status. Labels and taints are
   * only set at registration (`claim`), as a kubelet does: later taints are not ours.
   */
  const ensureNode = async (claim: boolean): Promise<void> => {
    let node = await readOrUndefined<WireNode>(nodePath);
    const created = !node;
    if (!node) {
      await core.createNode({ body: nodeManifest(nodeName, opts.taints) as V1Node }).catch((err: unknown) => {
        if (httpStatusOf(err) !== 409) throw err;
      });
      writes.count('node');
      log(`registered node ${nodeName}`);
      node = await getJson<WireNode>(kc, nodePath);
    } else if (claim) {
      log(`taking over existing node ${nodeName}`);
    }
    const specPatch = nodeSpecPatch(node, opts.taints, claim || created);
    if (specPatch) {
      await core.patchNode({ name: nodeName, body: specPatch }, mergePatch);
      writes.count('node');
    }
    nodeUid = node.metadata.uid;
    const status = desiredNodeStatus(nodeName, node.status, new Date());
    if (nodeStatusDiffers(node.status, status)) {
      await core.patchNodeStatus({ name: nodeName, body: { status } }, mergePatch);
      writes.count('nodeStatus');
    }
  };

  const renewLease = async (): Promise<void> => {
    const now = new Date();
    try {
      await coordination.patchNamespacedLease({
        name: nodeName, namespace: NODE_LEASE_NAMESPACE,
        body: { spec: { holderIdentity: identity, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime(now) } },
      }, mergePatch);
    } catch (err) {
      if (httpStatusOf(err) !== 404) throw err;
      await coordination.createNamespacedLease({
        namespace: NODE_LEASE_NAMESPACE,
        body: leaseManifest({ name: nodeName, uid: nodeUid }, identity, now) as unknown as V1Lease,
      });
    }
    writes.count('lease');
  };

  const deadline = Date.now() + (opts.registerTimeoutMs ?? 60_000);
  for (let attempt = 1; ; attempt++) {
    try {
      await refuseIfServedElsewhere();
      await ensureNode(true);
      break;
    } catch (err) {
      if (err instanceof NodeServedElsewhereError || Date.now() > deadline) throw err;
      log(`registering node ${nodeName} failed (${describeError(err)}): retrying`);
      await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 5_000)));
    }
  }
  // The kube-node-lease namespace may not exist yet on a brand-new apiserver: the
  // heartbeat keeps trying, and nothing waits for the Lease.
  await renewLease().catch((err: unknown) => log(`creating the Lease of ${nodeName} failed (${describeError(err)}): will retry`));

  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let stopped = false;
  const heartbeat = async (): Promise<void> => {
    try {
      await ensureNode(false);
    } catch (err) {
      log(`refreshing node ${nodeName} failed (${describeError(err)})`);
    }
    try {
      await renewLease();
    } catch (err) {
      log(`renewing the Lease of ${nodeName} failed (${describeError(err)})`);
    }
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = heartbeat().finally(schedule);
    }, opts.heartbeatMs ?? 10_000);
  };
  schedule();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}
