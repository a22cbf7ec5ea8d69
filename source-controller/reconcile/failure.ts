/**
 * Why a source reconcile failed: the shared {@link ReconcileFailure} of
 * `runtime/failure.ts` with the source conditions (`FetchFailed`,
 * `ArtifactFailed`, `VerificationFailed`). Sources retry in three of its modes:
 * `stall` (an invalid ref, `verify` set: only a change of the object helps),
 * `interval` (a tag pushed later, a Secret fixed, a corrupt blob replaced) and
 * `backoff` (unreachable, timeout, 5xx, rate limited).
 *
 * The typed errors of the Git and OCI clients, the archive extractor and the
 * duration parser map here; anything else is a transient failure of the step
 * that threw it. Messages come from errors that were already redacted by their
 * modules; the skeleton scrubs them once more against the exact secrets in use.
 */
import { UnsafeArchiveError } from '../../runtime/archive.ts';
import { ConditionType } from '../../runtime/conditions.ts';
import { ReconcileFailure, type ReconcileFailureOptions, type RetryMode } from '../../runtime/failure.ts';
import { errorMessage } from '../../runtime/redact.ts';
import { GitError } from '../git/errors.ts';
import { OciError, RateLimitedError } from '../oci/errors.ts';
import { InvalidDurationError } from '../../runtime/duration.ts';

/** The abnormal-true condition a failure sets. */
export type FailureCondition = typeof ConditionType.FetchFailed | typeof ConditionType.ArtifactFailed
  | typeof ConditionType.VerificationFailed;

export type { RetryMode } from '../../runtime/failure.ts';

/** A failed step of a source reconcile: the shared {@link ReconcileFailure} with the source conditions. */
export class SourceFailure extends ReconcileFailure<FailureCondition> {
  override readonly name: string = 'SourceFailure';
  declare readonly condition: FailureCondition;

  constructor(condition: FailureCondition, reason: string, message: string, retry: RetryMode, options: ReconcileFailureOptions = {}) {
    super(condition, reason, message, retry, options);
  }
}

/** Shorthand for a FetchFailed failure. */
export function fetchFailed(reason: string, message: string, retry: RetryMode): SourceFailure {
  return new SourceFailure(ConditionType.FetchFailed, reason, message, retry);
}

/** Shorthand for an ArtifactFailed failure. */
export function artifactFailed(reason: string, message: string, retry: RetryMode): SourceFailure {
  return new SourceFailure(ConditionType.ArtifactFailed, reason, message, retry);
}

const GIT_RETRY: Readonly<Record<string, RetryMode>> = {
  AuthenticationFailed: 'interval', RefNotFound: 'interval', InvalidRef: 'stall', Unreachable: 'backoff',
  RepositoryNotFound: 'interval', Timeout: 'backoff', TooLarge: 'interval', GitOperationFailed: 'interval',
};

/** A Git client error as a FetchFailed failure. */
export function fromGitError(err: GitError): SourceFailure {
  return fetchFailed(err.reason, err.message, GIT_RETRY[err.reason] ?? 'interval');
}

/** OCI reasons that only a change of the spec can fix. */
const OCI_STALL: ReadonlySet<string> = new Set(['InvalidReference']);

/** An OCI client error as a FetchFailed failure (transient ones back off). */
export function fromOciError(err: OciError): SourceFailure {
  const retry: RetryMode = OCI_STALL.has(err.reason) ? 'stall' : err.transient ? 'backoff' : 'interval';
  return new SourceFailure(ConditionType.FetchFailed, err.reason, err.message, retry,
    { retryAfterMs: err instanceof RateLimitedError ? err.retryAfterMs : undefined });
}

/**
 * Any error thrown by a step as a {@link SourceFailure}. Typed errors map to
 * their reasons; an unknown one becomes a transient failure with the step's
 * condition and `fallbackReason`.
 */
export function toSourceFailure(err: unknown, fallback: { condition: FailureCondition; reason: string }): SourceFailure {
  if (err instanceof SourceFailure) return err;
  if (err instanceof GitError) return fromGitError(err);
  if (err instanceof OciError) return fromOciError(err);
  if (err instanceof UnsafeArchiveError) {
    // The content downloaded fine and verified, but cannot be made into a safe artifact.
    return artifactFailed('UnsafeArchive', `the layer is not a safe archive: ${err.message}`, 'interval');
  }
  if (err instanceof InvalidDurationError) return fetchFailed('InvalidSpec', err.message, 'stall');
  return new SourceFailure(fallback.condition, fallback.reason, errorMessage(err), 'backoff');
}
