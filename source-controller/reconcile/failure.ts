/**
 * Why a source reconcile failed, in the terms the status and the work queue need:
 * which abnormal condition it sets (`FetchFailed`, `ArtifactFailed`,
 * `VerificationFailed`), a CamelCase reason, a message, and how to retry:
 *
 * - `stall`: only a change of the object can help (an invalid ref, `verify` set);
 *   no retry until the object changes.
 * - `interval`: the world may change on its own (a tag pushed later, a Secret
 *   fixed, a corrupt blob replaced): retry at the next interval, no hot loop.
 * - `backoff`: transient (unreachable, timeout, 5xx, rate limited): exponential
 *   backoff, never longer than the interval.
 *
 * The typed errors of the Git and OCI clients, the archive extractor and the
 * duration parser map here; anything else is a transient failure of the step
 * that threw it. Messages come from errors that were already redacted by their
 * modules; the skeleton scrubs them once more against the exact secrets in use.
 */
import { UnsafeArchiveError } from '../../runtime/archive.ts';
import { ConditionType } from '../../runtime/conditions.ts';
import { errorMessage } from '../../runtime/redact.ts';
import { GitError } from '../git/errors.ts';
import { OciError, RateLimitedError } from '../oci/errors.ts';
import { InvalidDurationError } from '../../runtime/duration.ts';

/** The abnormal-true condition a failure sets. */
export type FailureCondition = typeof ConditionType.FetchFailed | typeof ConditionType.ArtifactFailed
  | typeof ConditionType.VerificationFailed;

/** How a failed source is retried; see the module comment. */
export type RetryMode = 'stall' | 'interval' | 'backoff';

/** Options for {@link SourceFailure}. */
export interface SourceFailureOptions {
  readonly retry: RetryMode;
  /** The least delay before a retry (a registry's `Retry-After`). */
  readonly retryAfterMs?: number | undefined;
}

/** A failed step of a source reconcile. Carries no cause: library errors may hold request details. */
export class SourceFailure extends Error {
  override readonly name = 'SourceFailure';
  readonly condition: FailureCondition;
  /** CamelCase reason for the conditions and the Event. */
  readonly reason: string;
  readonly retry: RetryMode;
  readonly retryAfterMs: number | undefined;

  constructor(condition: FailureCondition, reason: string, message: string, options: SourceFailureOptions) {
    super(message);
    this.condition = condition;
    this.reason = reason;
    this.retry = options.retry;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Shorthand for a FetchFailed failure. */
export function fetchFailed(reason: string, message: string, retry: RetryMode): SourceFailure {
  return new SourceFailure(ConditionType.FetchFailed, reason, message, { retry });
}

/** Shorthand for an ArtifactFailed failure. */
export function artifactFailed(reason: string, message: string, retry: RetryMode): SourceFailure {
  return new SourceFailure(ConditionType.ArtifactFailed, reason, message, { retry });
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
  return new SourceFailure(ConditionType.FetchFailed, err.reason, err.message, {
    retry, retryAfterMs: err instanceof RateLimitedError ? err.retryAfterMs : undefined,
  });
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
  return new SourceFailure(fallback.condition, fallback.reason, errorMessage(err), { retry: 'backoff' });
}
