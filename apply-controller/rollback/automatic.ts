/**
 * Automatic rollback (`rollback.onFailure`): a new revision failed to apply or
 * to become healthy within `timeout`, so the newest Available revision's own
 * objects are re-applied and everything else the Package may have written is
 * pruned. The result is a {@link RolledBackFailure}: the Package stalls on it
 * (Ready=False, RolledBack=True naming both revisions) and the same source
 * revision and values are held back — {@link holdsAfterRollback} — until the
 * source moves, the spec changes or a reconcile is requested. A revision to
 * return to that does not verify is not applied: the reconcile stalls with the
 * refusal's reason (`RevisionTampered`, …), naming both revisions.
 */
import { ConditionType, getCondition } from '../../runtime/conditions.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import { REQUESTED_AT_ANNOTATION } from '../../runtime/predicates.ts';
import type { Package, PackageRevision } from '../api.ts';
import type { PendingHealth } from '../reconcile/apply.ts';
import { PackageFailure, RolledBackFailure, toPackageFailure, type FailureCondition, type RestoringHealth } from '../reconcile/failure.ts';
import { healthWait } from '../reconcile/status.ts';
import { describeRevision } from './recorded.ts';
import { restoreRevision, type RestoreOptions, type RestoreResult } from './restore.ts';

/** What a rollback did: the restore, and the failure the reconcile ends with. */
export interface RollbackOutcome {
  readonly restore: RestoreResult;
  /** A {@link RolledBackFailure}, or (when the restore failed too) a retried failure saying both. */
  readonly failure: PackageFailure;
}

/**
 * Re-applies `good` after `failed` failed with `failure`. With
 * `checkHealthOnce` a restore whose objects are not healthy yet ends as a
 * {@link RolledBackFailure} that is still `restoring`; the held reconciles
 * that follow ({@link holdsAfterRollback}) finish it.
 */
export async function rollBack(objectsClient: KubeClient, failed: PackageRevision, failure: PackageFailure, good: PackageRevision,
  opts: RestoreOptions): Promise<RollbackOutcome> {
  const restore = await restoreRevision(objectsClient, good, opts);
  if (restore.error !== undefined) {
    const why = toPackageFailure(restore.error);
    if (restore.refused) {
      // The record to return to did not verify (RevisionTampered, RevisionKeyMissing, RevisionNotAllowed): that is what a person must see.
      return {
        restore,
        failure: new PackageFailure(why.condition ?? failure.condition, why.reason,
          `${failure.message}; rolling back to revision ${describeRevision(good)} was refused: ${why.message}`, 'stall'),
      };
    }
    return {
      restore,
      failure: new PackageFailure(failure.condition, failure.reason,
        `${failure.message}; rolling back to revision ${describeRevision(good)} failed too: ${why.message}`, 'retry'),
    };
  }
  const restoring = restore.pending && opts.checkHealthOnce
    ? restoringHealth(good, restore.pending, opts.checkHealthOnce.startedAt, opts.settings.timeoutMs) : undefined;
  return { restore, failure: new RolledBackFailure(failure, failed.spec.revision, good.spec.revision, rolledBackMessage(failed, failure, good), restoring) };
}

/** The RolledBack condition's message: which revision failed, why, and which one runs again. */
export function rolledBackMessage(failed: PackageRevision, failure: Pick<PackageFailure, 'reason' | 'message'>, good: PackageRevision): string {
  return `revision ${describeRevision(failed)} failed (${failure.reason}); rolled back to revision ${describeRevision(good)}: ${failure.message}`;
}

/** What a restore not healthy yet waits for, said like a rollout waiting for health. */
function restoringHealth(good: PackageRevision, pending: PendingHealth, startedAt: number, timeoutMs: number): RestoringHealth {
  return healthWait(`restoring revision ${good.spec.revision}`, pending, startedAt, timeoutMs);
}

/**
 * True when `candidate` (the revision recording what the source asks for now)
 * is the one a rollback moved away from and nothing since says to try again:
 * same source revision and values as the last attempt, the RolledBack
 * condition still True for this generation, and no new reconcile request.
 */
export function holdsAfterRollback(pkg: Package, candidate: PackageRevision, sourceRevision: string, valuesHash: string): boolean {
  const status = pkg.status;
  const rolledBack = getCondition(status?.conditions, ConditionType.RolledBack);
  const requestedAt = pkg.metadata.annotations?.[REQUESTED_AT_ANNOTATION];
  const requested = requestedAt !== undefined && requestedAt !== status?.lastHandledReconcileAt;
  return rolledBack?.status === 'True' && rolledBack.observedGeneration === pkg.metadata.generation && !requested
    && candidate.status?.phase === 'Failed' && candidate.spec.revision !== status?.currentRevision
    && status?.lastAttemptedRevision === sourceRevision && status.lastAttemptedValuesHash === valuesHash;
}

/**
 * The failure a held reconcile ends with again: rebuilt from the failed
 * revision's record and the restored revision, so a finished rollback writes
 * nothing new, and `restoring` while the restored objects are not healthy yet.
 */
export function heldFailure(failed: PackageRevision, restored: PackageRevision, restoring?: { pending: PendingHealth; startedAt: number; timeoutMs: number }): RolledBackFailure {
  const detail = failed.status?.conditions?.find((c) => c.status === 'True');
  const original = new PackageFailure(detail?.type as FailureCondition | undefined, detail?.reason ?? 'RevisionFailed',
    detail?.message ?? failed.status?.message ?? '', 'retry');
  return new RolledBackFailure(original, failed.spec.revision, restored.spec.revision, rolledBackMessage(failed, original, restored),
    restoring ? restoringHealth(restored, restoring.pending, restoring.startedAt, restoring.timeoutMs) : undefined);
}
