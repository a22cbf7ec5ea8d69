/**
 * The status a source reconcile ends with, computed from what happened (pure),
 * and the merge patch that turns the old status into it. Conditions follow
 * kstatus:
 *
 * - success: `Ready=True`; `Reconciling`, `Stalled` and every failure condition removed.
 * - a failure that is retried: the failure's condition (`FetchFailed`, ...) True,
 *   `Ready=False` and `Reconciling=True` (`ProgressingWithRetry`), same reason.
 * - a stalling failure: the failure's condition True, `Stalled=True` and
 *   `Ready=False` with its reason; `Reconciling` removed.
 *
 * A source with `verify` also carries `SourceVerified` (normal-true): True once
 * a reconcile ends Ready, False with the reason when verification failed;
 * other failures leave it as it was (the published artifact is still the
 * verified one). Without `verify` it is removed.
 *
 * Only the failure that ended this reconcile is reported: the other failure
 * conditions are removed, since the steps after the failing one did not run.
 * `status.artifact` is never removed by a failure — the last good artifact
 * stays published.
 */
import {
  ConditionType, markFailed, markReady, markStalled, readyAtGeneration, removeCondition, setCondition, type Condition,
} from '../../runtime/conditions.ts';
import { SourceConditions, type Artifact, type SourceStatus } from '../api.ts';
import type { SourceFailure } from './failure.ts';

/** The failure conditions a source sets; all abnormal-true. */
export const FAILURE_CONDITIONS: readonly string[] = [
  ConditionType.FetchFailed, ConditionType.ArtifactFailed, ConditionType.VerificationFailed,
];

const SOURCE_VERIFIED = SourceConditions.SourceVerified;

/** What one reconcile ended with. */
export type SourceOutcome =
  | { readonly kind: 'ready'; readonly message: string }
  | { readonly kind: 'failed'; readonly failure: SourceFailure; readonly message: string };

/** Inputs of {@link summarizeStatus}. */
export interface SummaryInput {
  readonly previous: SourceStatus | undefined;
  readonly generation: number | undefined;
  /** The artifact to publish (the previous one when nothing new was stored; undefined when none is on disk). */
  readonly artifact: Artifact | undefined;
  readonly outcome: SourceOutcome;
  /** True when the spec asks for signature verification. */
  readonly verify?: boolean | undefined;
  /** The `reconcile.trellis.dev/requestedAt` annotation, when set. */
  readonly requestedAt?: string | undefined;
  readonly now?: Date;
}

/** The status to publish after a reconcile. */
export function summarizeStatus(input: SummaryInput): SourceStatus {
  const gen = input.generation;
  const outcome = input.outcome;
  let conditions: Condition[] = [...(input.previous?.conditions ?? [])];
  for (const type of FAILURE_CONDITIONS) {
    if (outcome.kind === 'ready' || type !== outcome.failure.condition) conditions = removeCondition(conditions, type);
  }
  if (outcome.kind === 'ready') {
    conditions = markReady(conditions, outcome.message, gen, undefined, input.now);
  } else {
    const { failure, message } = outcome;
    conditions = setCondition(conditions, {
      type: failure.condition, status: 'True', reason: failure.reason, message, observedGeneration: gen,
    }, input.now);
    conditions = failure.retry === 'stall'
      ? markStalled(conditions, failure.reason, message, gen, input.now)
      : markFailed(conditions, failure.reason, message, gen, input.now);
  }
  conditions = summarizeVerified(conditions, input);
  const status: SourceStatus = { ...input.previous, conditions };
  if (gen !== undefined) status.observedGeneration = gen;
  if (input.artifact) status.artifact = input.artifact;
  else delete status.artifact;
  const requested = input.requestedAt ?? input.previous?.lastHandledReconcileAt;
  if (requested !== undefined) status.lastHandledReconcileAt = requested;
  return status;
}

/** The `SourceVerified` condition for this outcome (see the module comment). */
function summarizeVerified(conditions: Condition[], input: SummaryInput): Condition[] {
  const outcome = input.outcome;
  if (!input.verify) return removeCondition(conditions, SOURCE_VERIFIED);
  if (outcome.kind === 'ready') {
    const revision = input.artifact?.revision ?? '';
    return setCondition(conditions, {
      type: SOURCE_VERIFIED, status: 'True', reason: 'Succeeded', message: `verified the signature of revision '${revision}'`,
      observedGeneration: input.generation,
    }, input.now);
  }
  if (outcome.failure.condition !== ConditionType.VerificationFailed) return conditions;
  return setCondition(conditions, {
    type: SOURCE_VERIFIED, status: 'False', reason: outcome.failure.reason, message: outcome.message, observedGeneration: input.generation,
  }, input.now);
}

/**
 * True when the artifact in `status` was produced for this generation of the
 * spec: the last reconcile at this generation ended Ready. Only then may an
 * unchanged revision skip the download — a changed `ignore` or `layerSelector`
 * changes the artifact without changing the revision.
 */
export function artifactBuiltForGeneration(status: SourceStatus | undefined, generation: number | undefined): boolean {
  return readyAtGeneration(status, generation);
}
