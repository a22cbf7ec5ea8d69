/**
 * One POST to a Provider, and the retries around it. The address passes the
 * source-host policy before any connection and on every resolved address (no
 * cloud metadata endpoint, no apiserver); redirects are not followed; the
 * response body is read (at most a few KiB) and dropped, never shown: an
 * internal service's answer must not come back through a status or a log.
 * Errors name the host, never the address's path or query, which often hold
 * the webhook's token (Slack).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseRetryAfter } from '../../../runtime/rate-limit.ts';
import { portOf, type HostPolicy } from '../../net/host-policy.ts';

/** A delivery that failed; `retryable` when a later attempt may succeed. */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, retryable: boolean, retryAfterMs?: number) {
    super(message);
    this.retryable = retryable;
    this.retryAfterMs = retryAfterMs;
  }
}

/** One request to send. */
export interface Delivery {
  readonly url: URL;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly hostPolicy: HostPolicy;
  readonly signal?: AbortSignal | undefined;
}

/** The scheme, host and port of `url`: what messages may show. */
export function originOf(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

const MAX_RESPONSE_READ = 4096;

/** Sends one POST; resolves on 2xx, throws {@link DeliveryError} otherwise. */
export async function postOnce(d: Delivery): Promise<void> {
  const origin = originOf(d.url);
  try {
    d.hostPolicy.checkUrl(d.url);
  } catch (err) {
    throw new DeliveryError(`${origin}: ${(err as Error).message}`, false);
  }
  const send = d.url.protocol === 'https:' ? httpsRequest : httpRequest;
  const status = await new Promise<{ code: number; retryAfter: string | undefined }>((resolve, reject) => {
    const req = send(d.url, {
      method: 'POST', agent: false, lookup: d.hostPolicy.lookupFor(portOf(d.url)), timeout: d.timeoutMs,
      headers: { 'content-type': 'application/json', 'user-agent': 'trellis-notification', ...d.headers, 'content-length': String(Buffer.byteLength(d.body)) },
      ...(d.signal ? { signal: d.signal } : {}),
    }, (res: IncomingMessage) => {
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_RESPONSE_READ) res.destroy();
      });
      const done = (): void => resolve({ code: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
      res.on('end', done);
      res.on('close', done);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${d.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(d.body);
  }).catch((err: unknown) => {
    const e = err as NodeJS.ErrnoException;
    // The policy's lookup refuses denied addresses: that will not change on a retry.
    if (e.name === 'HostDeniedError') throw new DeliveryError(`${origin}: ${e.message}`, false);
    throw new DeliveryError(`${origin}: ${e.code ?? e.message}`, true);
  });
  if (status.code >= 200 && status.code < 300) return;
  const retryable = status.code >= 500 || status.code === 429 || status.code === 408;
  const after = parseRetryAfter(status.retryAfter, Date.now());
  throw new DeliveryError(`${origin}: HTTP ${status.code}`, retryable, after);
}

/** Retry settings. */
export interface RetrySettings {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** Wait after the first failure; doubles each time. */
  readonly baseDelayMs: number;
  /** Longest wait between attempts (a Retry-After is honoured up to it). */
  readonly maxDelayMs: number;
}

/** What {@link postWithRetries} ended with. */
export type DeliveryResult =
  | { readonly ok: true; readonly attempts: number }
  | { readonly ok: false; readonly attempts: number; readonly error: string };

/** Sends with retries and exponential backoff; never throws (an aborted signal ends it as a failure). */
export async function postWithRetries(d: Delivery, retry: RetrySettings,
  onRetry?: (attempt: number, error: string, delayMs: number) => void): Promise<DeliveryResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      await postOnce(d);
      return { ok: true, attempts: attempt };
    } catch (err) {
      const e = err instanceof DeliveryError ? err : new DeliveryError(String(err), false);
      if (!e.retryable || attempt >= retry.attempts || d.signal?.aborted) return { ok: false, attempts: attempt, error: e.message };
      const delay = Math.min(retry.maxDelayMs, Math.max(e.retryAfterMs ?? 0, retry.baseDelayMs * 2 ** (attempt - 1)));
      onRetry?.(attempt, e.message, delay);
      try {
        await sleep(delay, undefined, d.signal ? { signal: d.signal } : {});
      } catch {
        return { ok: false, attempts: attempt, error: `${e.message}; stopped` };
      }
    }
  }
}
