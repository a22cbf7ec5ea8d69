/**
 * Cases of a workload: one size or shape each (the cold apply of 1,000 and of
 * 5,000 ConfigMaps). Each case is measured on its own, and a case that throws
 * is reported instead of ending the workload: missed when Trellis refused or
 * ran out of time ({@link MissedError}), undecided when the benchmark itself
 * failed. The other cases still run, so one refused size never hides the
 * figures of the others.
 */
import { MissedError, NotRunError, type GoalCheck, type Measurement, type WorkloadOutcome } from './workload.ts';

/** What one case produced. */
export interface CaseOutcome {
  readonly measurements: readonly Measurement[];
  readonly goals: readonly GoalCheck[];
  readonly notes: readonly string[];
}

/** A goal of a case, before anything decided it. */
export interface PendingGoal {
  readonly metric: string;
  readonly goal: string;
}

/** The first line of an error's message, short enough for a table cell. */
export function errorSummary(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]!.slice(0, 400);
}

/**
 * The goals of a case that did not produce figures: missed (with the
 * reason) when Trellis refused or timed out, undecided otherwise — a broken
 * benchmark says nothing about Trellis.
 */
export function unmeasuredGoals(goals: readonly PendingGoal[], err: unknown): GoalCheck[] {
  const message = errorSummary(err);
  return err instanceof MissedError
    ? goals.map((g) => ({ ...g, met: false, detail: message }))
    : goals.map((g) => ({ ...g, met: undefined, detail: `not measured, the benchmark failed: ${message}` }));
}

/**
 * Runs one case; a throw becomes the case's result (see the module comment).
 * {@link NotRunError} still ends the workload: whatever is missing is missing
 * for every case.
 */
export async function runCase(label: string, goals: readonly PendingGoal[], measure: () => Promise<CaseOutcome>,
  log: (line: string) => void): Promise<CaseOutcome> {
  try {
    return await measure();
  } catch (err) {
    if (err instanceof NotRunError) throw err;
    const missed = err instanceof MissedError;
    log(`${label}: ${missed ? 'missed' : 'FAILED'}: ${errorSummary(err)}`);
    if (!missed && err instanceof Error && err.stack) log(err.stack);
    return { measurements: [], goals: unmeasuredGoals(goals, err), notes: [`${label}: ${missed ? 'missed' : 'failed'}: ${errorSummary(err)}`] };
  }
}

/** One workload outcome of its cases, in order, with notes about all of them first. */
export function combineCases(cases: readonly CaseOutcome[], extra: { notes?: readonly string[]; rounds?: string } = {}): WorkloadOutcome {
  return {
    measurements: cases.flatMap((c) => c.measurements),
    goals: cases.flatMap((c) => c.goals),
    notes: [...(extra.notes ?? []), ...cases.flatMap((c) => c.notes)],
    ...(extra.rounds !== undefined ? { rounds: extra.rounds } : {}),
  };
}

/** `3 at 1,000 objects, 2 at 5,000 objects` from the rounds of each case. */
export function describeCaseRounds(rounds: readonly { readonly label: string; readonly rounds: number }[]): string {
  return rounds.map((r) => `${r.rounds} ${r.label}`).join(', ');
}
