/**
 * Why a Package reconcile stopped: the shared {@link ReconcileFailure} of
 * `runtime/failure.ts` with the Package conditions (`ArtifactFailed`,
 * `ApplyFailed`, `HealthCheckFailed`, or none for waiting on something). Packages
 * retry in four of its modes: `stall` (an invalid bundle, a forbidden reference:
 * no retry until the Package, its source's artifact or a managed object changes),
 * `retry` (an apply the apiserver refused, a health check that timed out: from
 * seconds up to `retryInterval`), `dependency` (a dependency is not Ready) and
 * `backoff` (the apiserver or the artifact server failed).
 *
 * The typed errors of the libraries map here; anything else is a transient failure.
 */
import { ConditionType } from '../../runtime/conditions.ts';
import { isNamespaceTerminating, KubeApiError } from '../../runtime/kube-transport.ts';
import { ReconcileFailure, type RetryMode } from '../../runtime/failure.ts';
import { errorMessage } from '../../runtime/redact.ts';
import { ArtifactError } from '../artifact.ts';
import { BundleValidationError } from '../bundle/problems.ts';
import { InvalidIgnoreRuleError } from '../drift/ignore.ts';
import { CorruptRevisionError, RevisionTooLargeError } from '../revisions/encode.ts';
import { RevisionExistsError } from '../revisions/store.ts';
import { ApplyError, HealthCheckError, ImmutableFieldError, ObjectCollisionError } from '../ssa/errors.ts';

/** The abnormal-true condition a failure sets, if any. */
export type FailureCondition = typeof ConditionType.ArtifactFailed | typeof ConditionType.ApplyFailed
  | typeof ConditionType.HealthCheckFailed;

export type { RetryMode } from '../../runtime/failure.ts';

/** The failure conditions a Package sets; all abnormal-true. */
export const FAILURE_CONDITIONS: readonly FailureCondition[] = [
  ConditionType.ArtifactFailed, ConditionType.ApplyFailed, ConditionType.HealthCheckFailed,
];

/** A step of a Package reconcile that failed: the shared {@link ReconcileFailure} with the Package conditions. */
export class PackageFailure extends ReconcileFailure<FailureCondition> {
  override readonly name: string = 'PackageFailure';
}

/**
 * The restore of a rollback, applied but not healthy yet: what the Package
 * waits for (`message`, in the `RolledBack` condition) and when to look again.
 */
export interface RestoringHealth {
  readonly message: string;
  readonly recheckAfterMs: number;
}

/**
 * A new revision failed and the last Available one was re-applied in its
 * place (`rollback.onFailure`). Ready=False with reason `RolledBack`, and the
 * failure's own condition keeps the original reason and message. It stalls:
 * the same source revision and values are not tried again until the source
 * moves, the spec changes or a reconcile is requested. While the restored
 * revision's objects are not healthy yet it is `restoring`: the Package holds
 * no worker and is woken by its objects or at `recheckAfterMs` (like a rollout
 * waiting for health), and each reconcile looks again until the restore is
 * healthy (then it stalls) or its `timeout` runs out (a retried failure).
 */
export class RolledBackFailure extends PackageFailure {
  /** Why the new revision failed. */
  readonly original: PackageFailure;
  /** The revision that failed. */
  readonly failedRevision: number;
  /** The revision the cluster runs again. */
  readonly restoredRevision: number;
  /** Set while the restored revision's objects are not healthy yet. */
  readonly restoring: RestoringHealth | undefined;
  /** The message without what a restore still waits for: the same from the rollback until it is healthy. */
  readonly rollbackMessage: string;

  constructor(original: PackageFailure, failedRevision: number, restoredRevision: number, message: string, restoring?: RestoringHealth) {
    // Restoring is not stalled yet: something is still under way.
    super(original.condition, 'RolledBack', restoring ? `${message}; ${restoring.message}` : message, restoring ? 'retry' : 'stall');
    this.rollbackMessage = message;
    this.original = original;
    this.failedRevision = failedRevision;
    this.restoredRevision = restoredRevision;
    this.restoring = restoring;
  }
}

const ARTIFACT_RETRY: Readonly<Record<ArtifactError['reason'], RetryMode>> = {
  DownloadFailed: 'backoff', DigestMismatch: 'retry', ArtifactTooLarge: 'stall', UnsafeArchive: 'stall', InvalidArtifact: 'stall',
};

/** Any error a step threw, as a {@link PackageFailure}. */
export function toPackageFailure(err: unknown): PackageFailure {
  if (err instanceof PackageFailure) return err;
  const message = errorMessage(err);
  if (err instanceof ArtifactError) return new PackageFailure(ConditionType.ArtifactFailed, err.reason, message, ARTIFACT_RETRY[err.reason]);
  if (err instanceof BundleValidationError) {
    // Every problem of the bundle stalls until something changes, but a sandbox that crashed under it.
    return new PackageFailure(ConditionType.ArtifactFailed, err.reason, message, err.reason === 'RenderCrashed' ? 'backoff' : 'stall');
  }
  if (err instanceof RevisionTooLargeError) return new PackageFailure(ConditionType.ArtifactFailed, 'RevisionTooLarge', message, 'stall');
  if (err instanceof CorruptRevisionError || err instanceof RevisionExistsError) {
    return new PackageFailure(ConditionType.ApplyFailed, 'RevisionConflict', message, 'retry');
  }
  if (err instanceof ImmutableFieldError) return new PackageFailure(ConditionType.ApplyFailed, 'ImmutableFieldChanged', message, 'stall');
  if (err instanceof ObjectCollisionError) return new PackageFailure(ConditionType.ApplyFailed, 'ObjectCollision', message, 'retry');
  if (err instanceof ApplyError && isNamespaceTerminating(err.cause)) {
    // Nothing can be created there until the namespace is gone: retried on the backoff, not at every object it removes.
    return new PackageFailure(ConditionType.ApplyFailed, 'NamespaceTerminating', message, 'retry');
  }
  if (err instanceof ApplyError) return new PackageFailure(ConditionType.ApplyFailed, 'ApplyFailed', message, 'retry');
  if (err instanceof HealthCheckError) return new PackageFailure(ConditionType.HealthCheckFailed, 'HealthCheckFailed', message, 'retry');
  if (err instanceof InvalidIgnoreRuleError) return new PackageFailure(undefined, 'InvalidSpec', message, 'stall');
  if (err instanceof KubeApiError) return new PackageFailure(undefined, 'ReconcileFailed', message, 'backoff');
  return new PackageFailure(undefined, 'ReconcileFailed', message, 'backoff');
}
