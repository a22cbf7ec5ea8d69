/**
 * The one failure model of both controllers. A step of a reconcile that fails
 * throws (or is mapped to) a {@link ReconcileFailure}: the abnormal condition it
 * sets, a CamelCase reason, a redacted message naming what failed, and how to
 * retry. {@link nextAfterFailure} turns it into what the work queue does next,
 * the same way for sources and Packages:
 *
 * - `stall`: only a change of the object (or what it references) can help: no
 *   retry until it changes.
 * - `interval`: the world may change on its own (a tag pushed later, a Secret
 *   fixed): try again at the object's interval, no hot loop.
 * - `retry`: the attempt was refused (an apply, a health check that timed out):
 *   exponential from {@link RETRY_BASE_MS}, capped at the retry interval, so a
 *   passing problem is retried within seconds and a lasting one settles.
 * - `dependency`: something it depends on is not ready: look again soon.
 * - `backoff`: transient (unreachable, timeout, 5xx, rate limited): exponential
 *   from the backoff base, capped at the interval; a peer's `Retry-After` is
 *   honoured even past the interval.
 *
 * Consecutive `retry` and `backoff` failures are counted per key in a
 * {@link FailureCounts}; any other outcome resets the count.
 */
import { StallingError, WaitingError, type ReconcileResult } from './errors.ts';
import { errorMessage } from './redact.ts';

/** How a failed reconcile is retried; see the module comment. */
export type RetryMode = 'stall' | 'interval' | 'retry' | 'dependency' | 'backoff';

/** Options of a {@link ReconcileFailure}. */
export interface ReconcileFailureOptions {
  /** The least delay before a retry (a registry's `Retry-After`). */
  readonly retryAfterMs?: number | undefined;
}

/**
 * A step of a reconcile that failed. Its message is redacted; it carries no
 * cause, because library errors may hold request details.
 */
export class ReconcileFailure<C extends string = string> extends Error {
  override readonly name: string = 'ReconcileFailure';
  /** The abnormal-true condition it sets, or none (waiting on something, a transient error). */
  readonly condition: C | undefined;
  /** CamelCase reason for the conditions and the Event. */
  readonly reason: string;
  readonly retry: RetryMode;
  readonly retryAfterMs: number | undefined;

  constructor(condition: C | undefined, reason: string, message: string, retry: RetryMode, options: ReconcileFailureOptions = {}) {
    super(errorMessage(message));
    this.condition = condition;
    this.reason = reason;
    this.retry = retry;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** First delay of the `retry` mode; it doubles with every failure in a row. */
export const RETRY_BASE_MS = 2_000;

/** First delay of the `backoff` mode when the policy names none. */
export const BACKOFF_BASE_MS = 1_000;

/** The delays of one object's retries. */
export interface RetryPolicy {
  /** The object's interval: the `interval` delay and the cap of `backoff`. */
  readonly intervalMs: number;
  /** The cap of `retry` (a Package's `retryInterval`); default {@link intervalMs}. */
  readonly retryIntervalMs?: number | undefined;
  /** First delay of `backoff`; default {@link BACKOFF_BASE_MS}. */
  readonly backoffBaseMs?: number | undefined;
  /** The delay of `dependency`; default 10 s. */
  readonly dependencyDelayMs?: number | undefined;
}

/** Consecutive failures per key, for the exponential modes. */
export class FailureCounts {
  readonly #counts = new Map<string, number>();

  /** Counts one more failure of `key` and returns how many there were in a row. */
  add(key: string): number {
    const count = (this.#counts.get(key) ?? 0) + 1;
    this.#counts.set(key, count);
    return count;
  }

  /** Forgets `key` (a success, another kind of failure, a deleted object). */
  reset(key: string): void {
    this.#counts.delete(key);
  }

  /** How many failures of `key` came in a row. */
  get(key: string): number {
    return this.#counts.get(key) ?? 0;
  }
}

/** `base · 2^(n−1)` for the n-th failure in a row (1-based), never more than `cap`. */
export function exponentialDelay(failures: number, baseMs: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
}

/**
 * What the queue does after `failure` of `key`: throws the runtime's
 * StallingError or WaitingError, so the controller neither hot-loops nor
 * forgets the key. `message` is what the log says (the failure's own message by
 * default; a caller may scrub it once more).
 */
export function nextAfterFailure(key: string, failure: ReconcileFailure, policy: RetryPolicy, counts: FailureCounts,
  message: string = failure.message): never {
  const exponential = failure.retry === 'retry' || failure.retry === 'backoff';
  const failures = exponential ? counts.add(key) : (counts.reset(key), 0);
  switch (failure.retry) {
    case 'stall':
      throw new StallingError(failure.reason, message);
    case 'interval':
      throw new WaitingError(failure.reason, message, { retryAfterMs: Math.max(policy.intervalMs, failure.retryAfterMs ?? 0) });
    case 'dependency':
      throw new WaitingError(failure.reason, message, { retryAfterMs: policy.dependencyDelayMs ?? 10_000 });
    case 'retry': {
      const delay = exponentialDelay(failures, RETRY_BASE_MS, policy.retryIntervalMs ?? policy.intervalMs);
      throw new WaitingError(failure.reason, message, { retryAfterMs: Math.max(delay, failure.retryAfterMs ?? 0) });
    }
    case 'backoff': {
      const delay = exponentialDelay(failures, policy.backoffBaseMs ?? BACKOFF_BASE_MS, policy.intervalMs);
      throw new WaitingError(failure.reason, message, { retryAfterMs: Math.max(delay, failure.retryAfterMs ?? 0) });
    }
  }
}

/** What the queue does after a success of `key`: reset its count and come back at `requeueAfterMs`. */
export function nextAfterSuccess(key: string, requeueAfterMs: number, counts: FailureCounts): ReconcileResult {
  counts.reset(key);
  return { requeueAfterMs };
}
