/**
 * Counts of the API writes the simulated node made, so tests and benchmarks can
 * tell the node's own traffic apart (and check that it does not churn).
 */

/** Writes made since the node started, by kind. */
export interface SimulatedNodeWrites {
  /** Patches of pods/status. */
  readonly podStatus: number;
  /** Grace-period-0 deletions of Pods being deleted. */
  readonly podDeletes: number;
  /** Creations and metadata/spec patches of the Node. */
  readonly node: number;
  /** Patches of nodes/status. */
  readonly nodeStatus: number;
  /** Creations and renewals of the heartbeat Lease. */
  readonly lease: number;
}

/** A mutable tally of {@link SimulatedNodeWrites}. */
export class WritesCounter {
  readonly #counts: Record<keyof SimulatedNodeWrites, number> = {
    podStatus: 0, podDeletes: 0, node: 0, nodeStatus: 0, lease: 0,
  };

  /** Adds one write of `kind`. */
  count(kind: keyof SimulatedNodeWrites): void {
    this.#counts[kind] += 1;
  }

  /** The counts so far (a copy). */
  snapshot(): SimulatedNodeWrites {
    return { ...this.#counts };
  }
}
