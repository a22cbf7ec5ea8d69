/**
 * A small kubelet stand-in for the local cluster (the role kwok plays elsewhere).
 * The control plane has no kubelet and no container runtime, so without this no
 * Pod ever runs and no Deployment becomes Available. The simulated node registers
 * one Node, keeps it Ready with a Lease heartbeat, and moves the Pods bound to it
 * through the states a kubelet would report:
 *
 * - Pods run and become Ready (Deployments, ReplicaSets, StatefulSets, DaemonSets);
 * - Pods of a Job succeed shortly after they start;
 * - Pods with an image tagged `fail` (`nginx:fail`) stay Pending in
 *   ImagePullBackOff, to simulate a broken release;
 * - Pods being deleted are finalized (deleted with grace period 0).
 *
 * Nothing runs and nothing is connected to: Pod IPs are made up.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { NodeServedElsewhereError, startNodeAgent, type NodeAgent } from './simulated-node/node-agent.ts';
import { startPodAgent, type PodAgent } from './simulated-node/pod-agent.ts';
import type { WireTaint } from './simulated-node/wire.ts';
import { WritesCounter, type SimulatedNodeWrites } from './simulated-node/writes.ts';

export { NodeServedElsewhereError };
export type { SimulatedNodeWrites };

/** The node name used when none is given. */
export const DEFAULT_NODE_NAME = 'trellis-node';

/** A Node taint, as in `spec.taints`. */
export type SimulatedNodeTaint = WireTaint;

/** Options for {@link startSimulatedNode}. */
export interface SimulatedNodeOptions {
  /** Admin kubeconfig of the cluster. */
  readonly kubeconfigPath: string;
  /** Default {@link DEFAULT_NODE_NAME}. */
  readonly nodeName?: string;
  /** Progress and error lines (default: stderr with a `[trellis]` prefix). */
  readonly log?: (line: string) => void;
  /** Taints to register the Node with (default none), e.g. to keep the scheduler away from a test node. */
  readonly taints?: readonly SimulatedNodeTaint[];
  /** How long a Job's Pod runs before it succeeds (default 1000 ms). */
  readonly jobRunMs?: number;
  /** Node status check and Lease renewal interval (default 10 s). */
  readonly heartbeatMs?: number;
}

/** A running simulated node. */
export interface SimulatedNode {
  readonly nodeName: string;
  /** The API writes this node has made so far. */
  writes(): SimulatedNodeWrites;
  /** Stops watching and heart-beating (the Node object stays, for a later takeover). */
  stop(): Promise<void>;
}

const defaultLog = (line: string): void => { process.stderr.write(`[trellis] ${line}\n`); };

/**
 * Registers (or takes over) the Node and starts running its Pods. Resolves once
 * the Node is Ready and the Pods already bound to it have been brought up to date.
 * Throws {@link NodeServedElsewhereError} when another live process runs this node.
 */
export async function startSimulatedNode(opts: SimulatedNodeOptions): Promise<SimulatedNode> {
  const nodeName = opts.nodeName ?? DEFAULT_NODE_NAME;
  const baseLog = opts.log ?? defaultLog;
  const log = (line: string): void => baseLog(`simulated node: ${line}`);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(opts.kubeconfigPath);
  const writes = new WritesCounter();

  const nodeAgent: NodeAgent = await startNodeAgent({
    kubeConfig, nodeName, log, writes, taints: opts.taints ?? [], heartbeatMs: opts.heartbeatMs,
  });
  const podAgent: PodAgent = startPodAgent({ kubeConfig, nodeName, log, writes, jobRunMs: opts.jobRunMs ?? 1_000 });
  const stop = async (): Promise<void> => {
    await podAgent.stop();
    await nodeAgent.stop();
  };
  try {
    await withTimeout(podAgent.synced, 60_000, `listing the Pods of node ${nodeName}`);
  } catch (err) {
    await stop();
    throw err;
  }
  log(`node ${nodeName} is Ready`);
  let stopping: Promise<void> | undefined;
  return {
    nodeName,
    writes: () => writes.snapshot(),
    stop: () => (stopping ??= stop()),
  };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
