/**
 * When and how long to wait before trying a registry request again: 429 honors
 * `Retry-After`, 5xx and connection errors back off exponentially up to a cap, and
 * everything else (4xx, TLS verification) is final at once.
 */

/** Backoff settings. */
export interface RetryPolicy {
  /** Retries after the first attempt (so `maxRetries + 1` attempts in all). */
  readonly maxRetries: number;
  /** Delay before the first retry; doubles each time. */
  readonly baseDelayMs: number;
  /** Upper bound of one backoff delay. */
  readonly maxDelayMs: number;
  /** Upper bound of a `Retry-After` the client is willing to wait; longer asks end the retries. */
  readonly maxRetryAfterMs: number;
}

/** Defaults: 4 retries, 250 ms doubling to at most 8 s, `Retry-After` honored up to 60 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 4, baseDelayMs: 250, maxDelayMs: 8_000, maxRetryAfterMs: 60_000 };

/** Parses `Retry-After` (one reading for the apiserver client and the registry client). */
export { parseRetryAfter } from '../../runtime/rate-limit.ts';

/** Exponential backoff with jitter for retry number `retry` (0 for the first retry). */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(retry, 30));
  // Jitter in [50%, 100%] keeps many controllers from retrying in lockstep.
  return Math.round(exponential * (0.5 + random() / 2));
}

/** True for statuses worth retrying: 408, 429, 5xx except 501 (not implemented) and 505. */
export function isRetryableStatus(status: number): boolean {
  if (status === 408 || status === 429) return true;
  return status >= 500 && status !== 501 && status !== 505;
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  'ECONNABORTED', 'ENETDOWN', 'EHOSTDOWN', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET', 'ESOCKETTIMEDOUT',
]);

/** True for network failures that a later attempt may not see (connection refused/reset, DNS, timeout). */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONNECTION_ERROR_CODES.has(code);
}

/**
 * True for TLS failures: certificate verification, host name mismatch, or a
 * handshake with a server that does not speak TLS. Retrying cannot fix them.
 */
export function isTlsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.startsWith('CERT_')
    || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'UNABLE_TO_GET_ISSUER_CERT'
    || code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' || code === 'SELF_SIGNED_CERT_IN_CHAIN'
    || code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'HOSTNAME_MISMATCH' || code === 'EPROTO';
}

/** Resolves after `ms`, or rejects when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(signal.reason as Error); return; }
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = (): void => { clearTimeout(timer); reject(signal?.reason as Error); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
