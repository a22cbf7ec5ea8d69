/**
 * The local cluster that tests, `trellis up` and the benchmarks run on: the real
 * control plane from control-plane.ts plus the simulated node from
 * simulated-node.ts (running in this process), so Pods run and workloads become
 * healthy.
 */
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { DEFAULT_NODE_NAME, NodeServedElsewhereError, startSimulatedNode, type SimulatedNode } from './simulated-node.ts';

/** Options for {@link startLocalCluster}. */
export interface LocalClusterOptions {
  readonly dir: string;
  readonly log?: (line: string) => void;
}

/** A running local cluster. */
export interface LocalCluster extends ControlPlane {
  /** The simulated node Pods are scheduled to. */
  readonly nodeName: string;
}

const defaultLog = (line: string): void => { process.stderr.write(`[trellis] ${line}\n`); };

/**
 * Starts (or reuses) the local cluster whose state is in `opts.dir`: the control
 * plane first, then the simulated node. When another live process already runs the
 * node of a reused control plane, that process keeps running it. stop() stops the
 * node first (so it does not fight a disappearing apiserver), then the control plane.
 */
export async function startLocalCluster(opts: LocalClusterOptions): Promise<LocalCluster> {
  const log = opts.log ?? defaultLog;
  const controlPlane = await startControlPlane({ dir: opts.dir, log });
  let node: SimulatedNode | undefined;
  try {
    node = await startSimulatedNode({ kubeconfigPath: controlPlane.kubeconfigPath, log });
  } catch (err) {
    if (!(err instanceof NodeServedElsewhereError)) {
      await controlPlane.stop();
      throw err;
    }
    log(`${err.message}: leaving the node to it`);
  }
  return {
    ...controlPlane,
    nodeName: node?.nodeName ?? DEFAULT_NODE_NAME,
    async stop() {
      await node?.stop();
      await controlPlane.stop();
    },
  };
}
