/**
 * The typed errors a reconciler throws to tell the controller what happens next.
 * Anything else a reconciler throws is a transient failure and is retried with
 * exponential backoff.
 */

/** Options shared by the reconcile errors. */
export interface ReconcileErrorOptions {
  /** The underlying error, kept for logs (it is redacted before it is logged). */
  readonly cause?: unknown;
}

/**
 * The user must change the object (its spec, a referenced Secret, ...) before a
 * retry can succeed: the controller does not retry until the object changes.
 * `reason` is a CamelCase condition reason such as `InvalidURL`.
 */
export class StallingError extends Error {
  override readonly name = 'StallingError';
  /** CamelCase reason for the Stalled/Ready conditions. */
  readonly reason: string;

  constructor(reason: string, message: string, options: ReconcileErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
  }
}

/** Options for {@link WaitingError}. */
export interface WaitingErrorOptions extends ReconcileErrorOptions {
  /** How long to wait before the next attempt. */
  readonly retryAfterMs: number;
}

/**
 * Time will fix it (a dependency is not Ready yet, an artifact is still being
 * produced): retry after `retryAfterMs`, without counting it as a failure.
 */
export class WaitingError extends Error {
  override readonly name = 'WaitingError';
  /** CamelCase reason for the Ready condition, e.g. `DependencyNotReady`. */
  readonly reason: string;
  /** Delay before the next attempt. */
  readonly retryAfterMs: number;

  constructor(reason: string, message: string, options: WaitingErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (!Number.isFinite(options.retryAfterMs) || options.retryAfterMs < 0) {
      throw new RangeError(`retryAfterMs must be a finite number >= 0, got ${options.retryAfterMs}`);
    }
    this.reason = reason;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** How the controller treats the outcome of one reconcile. */
export type ReconcileOutcome =
  | { readonly kind: 'success' }
  | { readonly kind: 'requeue'; readonly afterMs: number }
  | { readonly kind: 'stalled'; readonly reason: string }
  | { readonly kind: 'waiting'; readonly reason: string; readonly afterMs: number }
  | { readonly kind: 'error' };

/** What a reconciler returns when it finished without an error. */
export interface ReconcileResult {
  /** Reconcile again after this many milliseconds (jitter is added). */
  readonly requeueAfterMs?: number;
}

/** Classifies a successful reconcile's result (pure; the controller acts on it). */
export function classifyResult(result: ReconcileResult | void): ReconcileOutcome {
  const after = result?.requeueAfterMs;
  if (after !== undefined && Number.isFinite(after) && after >= 0) return { kind: 'requeue', afterMs: after };
  return { kind: 'success' };
}

/** Classifies what a reconciler threw (pure; the controller acts on it). */
export function classifyError(error: unknown): ReconcileOutcome {
  if (error instanceof StallingError) return { kind: 'stalled', reason: error.reason };
  if (error instanceof WaitingError) return { kind: 'waiting', reason: error.reason, afterMs: error.retryAfterMs };
  return { kind: 'error' };
}
