/**
 * The status a Package reconcile ends with, computed from what happened (pure),
 * and the merge patch that turns the old status into it (undefined when nothing
 * changed, so an unchanged Package is never written). Conditions follow kstatus:
 *
 * - applied and healthy: `Ready=True`; `Reconciling`, `Stalled` and the failure
 *   conditions removed.
 * - a failure that is retried: its condition (`ArtifactFailed`, `ApplyFailed`,
 *   `HealthCheckFailed`) True, `Ready=False` and `Reconciling=True`
 *   (`ProgressingWithRetry`).
 * - a stalling failure: its condition True, `Stalled=True`, `Ready=False`.
 * - applied, waiting for health (no worker held): `Reconciling=True` and
 *   `Ready=Unknown` (`Progressing`) naming what is not healthy yet.
 * - waiting on a dependency or a source: `Ready=False` with the reason
 *   (`DependencyNotReady`, `ArtifactNotReady`, ...), `Reconciling=True`.
 *
 * - rolled back (`rollback.onFailure`): `RolledBack=True` naming both revisions,
 *   the failure's condition with its own reason, `Stalled=True`, `Ready=False`
 *   (`RolledBack`). Any ready outcome (the source or a pin applied) removes it.
 *
 * `DriftDetected` (drift mode `warn`) is set or removed only by a reconcile that
 * looked for drift; other outcomes leave it as it was.
 */
import {
  ConditionType, getCondition, markFailed, markReady, markReconciling, markStalled, readyAtGeneration, removeCondition, setCondition,
  type Condition,
} from '../../runtime/conditions.ts';
import { REVISION_PATTERN } from '../../source-controller/api.ts';
import { inventoryItem, type InventoryEntry, type PackageStatus } from '../api.ts';
import type { PendingHealth } from './apply.ts';
import { FAILURE_CONDITIONS, RolledBackFailure, type PackageFailure } from './failure.ts';

/** How a reconcile ended. */
export type PackageOutcome =
  | { readonly kind: 'ready'; readonly message: string; readonly reason?: string }
  /** Applied, waiting for health without holding a worker: look again after `recheckAfterMs` at the latest. */
  | { readonly kind: 'progressing'; readonly message: string; readonly recheckAfterMs: number }
  | { readonly kind: 'failed'; readonly failure: PackageFailure };

/** Longest sleep of a Package waiting for health: the cache normally wakes it much sooner. */
export const HEALTH_RECHECK_MS = 10_000;

/**
 * What a rollout (`doing`: `Applying revision 3: …`) whose phase is applied but
 * not healthy yet waits for: up to three of the objects, by name, and when to
 * look again: at the `timeoutMs` deadline counted from `startedAt`, or sooner
 * ({@link HEALTH_RECHECK_MS}).
 */
export function healthWait(doing: string, pending: PendingHealth, startedAt: number, timeoutMs: number,
  now = Date.now()): { readonly message: string; readonly recheckAfterMs: number } {
  const { unhealthy } = pending;
  const shown = unhealthy.slice(0, 3).map((u) => `${u.subject}: ${u.message}`).join('; ');
  const more = unhealthy.length > 3 ? `; and ${unhealthy.length - 3} more` : '';
  const left = startedAt + timeoutMs - now;
  return {
    message: `${doing}; waiting for ${unhealthy.length} object(s) of phase ${pending.phase} to become healthy: ${shown}${more}`,
    recheckAfterMs: Math.max(100, Math.min(left + 50, HEALTH_RECHECK_MS)),
  };
}

/** The outcome of a rollout waiting for health: {@link healthWait}, as progress. */
export function waitingForHealth(doing: string, pending: PendingHealth, startedAt: number, timeoutMs: number, now = Date.now()): PackageOutcome {
  return { kind: 'progressing', ...healthWait(doing, pending, startedAt, timeoutMs, now) };
}

/**
 * When the rollout of `revision` started, as the Package's status says, so the
 * `spec.timeout` deadline survives a controller restart: a rollout or pin under
 * way is `Ready=Unknown` (`Progressing`) since its start (`Applying revision N: …`,
 * `Pinning to revision N …`), a rollback's restore is `RolledBack=True` since the
 * rollback (`…; restoring revision N; …`). Undefined when the status says neither.
 */
export function persistedRolloutStart(status: PackageStatus | undefined, revision: number): number | undefined {
  const ready = getCondition(status?.conditions, ConditionType.Ready);
  const rollingOut = new RegExp(`^(Applying|Pinning to) revision ${revision}\\b`);
  const since = ready?.status === 'Unknown' && ready.reason === 'Progressing' && rollingOut.test(ready.message)
    ? ready.lastTransitionTime
    : restoringSince(status, revision);
  const at = since === undefined ? Number.NaN : Date.parse(since);
  return Number.isFinite(at) ? at : undefined;
}

/** When the rollback whose restore of `revision` is still becoming healthy happened. */
function restoringSince(status: PackageStatus | undefined, revision: number): string | undefined {
  const rolledBack = getCondition(status?.conditions, ConditionType.RolledBack);
  return rolledBack?.status === 'True' && rolledBack.message.includes(`; restoring revision ${revision};`) ? rolledBack.lastTransitionTime : undefined;
}

/** What a reconcile learned, for {@link summarizeStatus}. Absent fields keep their previous values. */
export interface StatusInput {
  readonly previous: PackageStatus | undefined;
  readonly generation: number | undefined;
  readonly outcome: PackageOutcome;
  /** Source revision and values hash of the attempt (set once the artifact was resolved). */
  readonly attempted?: { readonly revision: string; readonly valuesHash?: string | undefined };
  /** Set only when apply, prune and health all succeeded. */
  readonly appliedRevision?: string;
  readonly currentRevision?: number;
  readonly inventory?: readonly InventoryEntry[];
  /** Drift found (message) or not (null); undefined when this reconcile did not look. */
  readonly drift?: string | null;
  /** The `reconcile.trellis.dev/requestedAt` annotation, when set. */
  readonly requestedAt?: string | undefined;
  readonly now?: Date;
}

/** The status to publish after a reconcile. */
export function summarizeStatus(input: StatusInput): PackageStatus {
  const { outcome, now } = input;
  const gen = input.generation;
  let conditions: Condition[] = [...(input.previous?.conditions ?? [])];
  for (const type of FAILURE_CONDITIONS) {
    // Progressing: the apply went through; whether health failed before is still open.
    const keep = outcome.kind === 'failed' ? type === outcome.failure.condition : outcome.kind === 'progressing' && type === ConditionType.HealthCheckFailed;
    if (!keep) conditions = removeCondition(conditions, type);
  }
  if (outcome.kind === 'progressing') {
    // A new attempt is under way: the last rollback is no longer what the Package is doing.
    conditions = removeCondition(conditions, ConditionType.RolledBack);
    conditions = markReconciling(conditions, outcome.message, gen, 'Progressing', now);
  } else if (outcome.kind === 'ready') {
    // Running what was asked for (the source, or a pin) ends a rollback.
    conditions = removeCondition(conditions, ConditionType.RolledBack);
    conditions = markReady(conditions, outcome.message, gen, outcome.reason, now);
  } else {
    const { failure } = outcome;
    // After a rollback the failure's own condition still says why the new revision failed.
    const detail = failure instanceof RolledBackFailure ? failure.original : failure;
    if (failure.condition) {
      conditions = setCondition(conditions, {
        type: failure.condition, status: 'True', reason: detail.reason, message: detail.message, observedGeneration: gen,
      }, now);
    }
    if (failure instanceof RolledBackFailure) {
      conditions = setCondition(conditions, {
        type: ConditionType.RolledBack, status: 'True', reason: 'RolledBack', message: failure.message, observedGeneration: gen,
      }, now);
    }
    conditions = failure.retry === 'stall'
      ? markStalled(conditions, failure.reason, failure.message, gen, now)
      : markFailed(conditions, failure.reason, failure.message, gen, now);
  }
  if (input.drift === null) conditions = removeCondition(conditions, ConditionType.DriftDetected);
  else if (input.drift !== undefined) {
    conditions = setCondition(conditions, {
      type: ConditionType.DriftDetected, status: 'True', reason: 'DriftDetected', message: input.drift, observedGeneration: gen,
    }, now);
  }
  const status: PackageStatus = { ...input.previous, conditions };
  if (gen !== undefined) status.observedGeneration = gen;
  if (input.attempted) {
    status.lastAttemptedRevision = input.attempted.revision;
    if (input.attempted.valuesHash !== undefined) status.lastAttemptedValuesHash = input.attempted.valuesHash;
  }
  if (input.appliedRevision !== undefined) status.lastAppliedRevision = input.appliedRevision;
  if (input.currentRevision !== undefined) status.currentRevision = input.currentRevision;
  if (input.inventory !== undefined) {
    // One string per object: the apiserver checks a status of 5,000 strings about four times faster than one of 5,000 objects.
    status.objects = input.inventory.map(inventoryItem);
    delete status.inventory;
  }
  const requested = input.requestedAt ?? input.previous?.lastHandledReconcileAt;
  if (requested !== undefined) status.lastHandledReconcileAt = requested;
  return status;
}

/**
 * The status written before the first object of a rollout: Reconciling=True
 * and Ready=Unknown naming the revision, `lastAttemptedRevision` set. If the
 * controller dies mid-rollout this is what remains, so the status never claims
 * the previous revision is still all there is. The rest (inventory,
 * `currentRevision`, `lastAppliedRevision`) waits for the outcome.
 */
export function rolloutStartStatus(previous: PackageStatus | undefined, generation: number | undefined, revision: number,
  sourceRevision: string, now?: Date): PackageStatus {
  const message = `Applying revision ${revision}: ${sourceRevision}`;
  const status: PackageStatus = { ...previous, conditions: markReconciling(previous?.conditions, message, generation, 'Progressing', now) };
  // A pin passes a description instead of a source revision: nothing is attempted from the source then.
  if (new RegExp(REVISION_PATTERN).test(sourceRevision)) {
    status.lastAttemptedRevision = sourceRevision;
  }
  return status;
}

/**
 * The status written before a drift correction that must re-create objects
 * (deleted, or being deleted): Ready=False with reason `ObjectsMissing` and
 * Reconciling=True, so the Package never claims Ready while part of its
 * current revision is not in the cluster. A successful correction turns it
 * back to Ready=True.
 */
export function correctionStartStatus(previous: PackageStatus | undefined, generation: number | undefined, message: string,
  now?: Date): PackageStatus {
  let conditions = removeCondition(previous?.conditions, ConditionType.Stalled);
  conditions = setCondition(conditions, { type: ConditionType.Reconciling, status: 'True', reason: 'CorrectingDrift', message, observedGeneration: generation }, now);
  conditions = setCondition(conditions, { type: ConditionType.Ready, status: 'False', reason: 'ObjectsMissing', message, observedGeneration: generation }, now);
  return { ...previous, conditions };
}

/**
 * True when the status already says this rollout is under way (Reconciling for
 * this generation, naming this revision and source revision): the rollout-start
 * status need not be written again by a reconcile that comes back to it.
 */
export function rolloutUnderWay(status: PackageStatus | undefined, generation: number | undefined, revision: number,
  sourceRevision: string): boolean {
  const reconciling = status?.conditions?.find((c) => c.type === ConditionType.Reconciling);
  return reconciling?.status === 'True' && reconciling.observedGeneration === generation
    && reconciling.message.startsWith(`Applying revision ${revision}: ${sourceRevision}`);
}

/**
 * True when the status already tells of a failed attempt at this generation and
 * source revision: a retry of it (every `retryInterval`) is no news, and
 * writing the rollout-start status before each retry would make a Package that
 * keeps failing (an object another Package owns) write twice per retry.
 */
export function retryingSameAttempt(status: PackageStatus | undefined, generation: number | undefined, sourceRevision: string): boolean {
  const ready = status?.conditions?.find((c) => c.type === ConditionType.Ready);
  return ready?.status === 'False' && ready.observedGeneration === generation && status?.lastAttemptedRevision === sourceRevision
    && status.observedGeneration === generation;
}

/** True when the status is Ready=True for this generation, i.e. the last reconcile of this spec succeeded. */
export function readyForGeneration(status: PackageStatus | undefined, generation: number | undefined): boolean {
  return readyAtGeneration(status, generation);
}
