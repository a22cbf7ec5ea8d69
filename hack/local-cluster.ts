/**
 * The local cluster that tests, `trellis up` and the benchmarks run on: the real
 * control plane from control-plane.ts.
 */
import { startControlPlane, type ControlPlane } from './control-plane.ts';

/** Options for {@link startLocalCluster}. */
export interface LocalClusterOptions {
  readonly dir: string;
  readonly log?: (line: string) => void;
}

/** A running local cluster. */
export interface LocalCluster extends ControlPlane {
  readonly nodeName?: string;
}

/** Starts (or reuses) the local cluster whose state is in `opts.dir`. */
export async function startLocalCluster(opts: LocalClusterOptions): Promise<LocalCluster> {
  return startControlPlane({ dir: opts.dir, log: opts.log });
}
