/**
 * What a benchmark workload is: a module exporting `workload` with a name, a
 * description, the goal it checks and `run(ctx)`, which measures contenders
 * (Trellis and its peers) and says whether each goal was met. A workload that
 * cannot run here throws {@link NotRunError}: the table then says why, and no
 * number is ever made up.
 */
import type { Unit } from './stats.ts';
import type { Environment } from './environment.ts';

/** Who a measurement is of: Trellis, a real peer tool, or a ceiling (the same work with no product around it). */
export type Role = 'trellis' | 'peer' | 'ceiling';

/** The samples of one metric of one contender. */
export interface Measurement {
  /** What was measured; contenders measured on the same metric are compared. */
  readonly metric: string;
  readonly contender: string;
  readonly role: Role;
  readonly unit: Unit;
  /** One value per round (or per object, for latencies). */
  readonly samples: readonly number[];
  readonly note?: string;
}

/** Whether a goal of the issue was met, attached to the Trellis row of `metric`. */
export interface GoalCheck {
  readonly metric: string;
  /** The goal as the issue states it: `≤ 2× git clone`. */
  readonly goal: string;
  /** Undefined when it could not be decided (not measured). */
  readonly met: boolean | undefined;
  /** The figure that decided it: `1.40×`. */
  readonly detail: string;
}

/** What a workload's run produced. */
export interface WorkloadOutcome {
  readonly measurements: readonly Measurement[];
  readonly goals: readonly GoalCheck[];
  /** Findings and caveats, printed under the table and kept in the JSON. */
  readonly notes?: readonly string[];
  /** Rounds when they differ between the workload's cases: `3 at 1,000 objects, 2 at 5,000`. */
  readonly rounds?: string;
}

/** Options of the whole run that workloads read. */
export interface BenchOptions {
  /** Rounds given on the command line; undefined: each workload's (and case's) default. */
  readonly rounds?: number | undefined;
  /**
   * ConfigMaps per Package of the cold-apply and no-op workloads, one case
   * each (default 1,000 and 5,000). Drift uses the largest and the smallest.
   */
  readonly objects: readonly number[];
  /** Packages of the many-packages workload (default 1,000). */
  readonly packages: number;
  /** ConfigMaps of the large-package workload (default 10,000). */
  readonly largeObjects: number;
  /** Leave out measurements that wait for a default poll interval (minutes). */
  readonly skipSlow: boolean;
}

/** The sizes issue 12 states its goals at; a run with other sizes says so in its header. */
export const GOAL_SIZES = { objects: [1_000, 5_000], packages: 1_000, largeObjects: 10_000 } as const;

/** What a workload gets to work with. */
export interface BenchContext {
  /** Rounds for this workload (the command line's, else the workload's default). */
  readonly rounds: number;
  readonly options: BenchOptions;
  /** A scratch folder of this workload, removed at the end of the run. */
  readonly dir: string;
  /** The local environment, started on first use. */
  readonly env: Environment;
  /** Writes a progress line on stderr. */
  readonly log: (line: string) => void;
}

/** A benchmark workload module's export. */
export interface Workload {
  /** Command-line name: `npm run bench -- git`. */
  readonly name: string;
  /** Its number: issue 9's list, then issue 12's additions (the table's order). */
  readonly number: number;
  readonly title: string;
  readonly description: string;
  /** The goal, as the issue states it. */
  readonly goal: string;
  /** Rounds when the command line gives none. */
  readonly defaultRounds: number;
  /**
   * Starts a measurement that mostly waits (a default poll interval) so it can
   * run in the background of the workloads before this one; `run` collects it.
   * Called once, before the first cluster workload.
   */
  prepare?(ctx: BenchContext): void;
  run(ctx: BenchContext): Promise<WorkloadOutcome>;
}

/** Thrown by a workload that cannot run here; the message says what is missing. */
export class NotRunError extends Error {
  override readonly name = 'NotRunError';
}

/**
 * Thrown when Trellis did not do what a case measures: it refused the Package
 * (Stalled) or did not finish within the case's time limit. That is a result
 * — the case's goals are reported missed with this message — not a broken
 * benchmark.
 */
export class MissedError extends Error {
  override readonly name = 'MissedError';
}

/** A goal check for "smaller is better" against a limit. */
export function atMost(metric: string, goal: string, value: number | undefined, limit: number,
  show: (v: number) => string): GoalCheck {
  return { metric, goal, met: value === undefined ? undefined : value <= limit, detail: value === undefined ? 'not measured' : show(value) };
}

/** A goal check for "larger is better" against a limit. */
export function atLeast(metric: string, goal: string, value: number | undefined, limit: number,
  show: (v: number) => string): GoalCheck {
  return { metric, goal, met: value === undefined ? undefined : value >= limit, detail: value === undefined ? 'not measured' : show(value) };
}

/** A goal check for "smaller is better" strictly under a limit (`under 1 s`, `p95 < 1 s`). */
export function below(metric: string, goal: string, value: number | undefined, limit: number,
  show: (v: number) => string): GoalCheck {
  return { metric, goal, met: value === undefined ? undefined : value < limit, detail: value === undefined ? 'not measured' : show(value) };
}
