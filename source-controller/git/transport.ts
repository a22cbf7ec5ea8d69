/**
 * The HTTP transport isomorphic-git talks through: its own Node client, with
 * credentials sent up front (one request per poll, not a 401 round trip first),
 * an AbortSignal on every request and response body so a time limit really ends
 * the transfer, and an optional cap on downloaded bytes.
 */
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { request as nodeRequest } from 'isomorphic-git/http/node';
import { GitTooLargeError } from './errors.ts';

/** HTTP credentials for a Git server: basic auth or a bearer token. */
export type GitCredentials =
  | { readonly username: string; readonly password: string }
  | { readonly bearerToken: string };

/** The Authorization header for `auth` (empty without credentials). */
export function authHeaders(auth: GitCredentials | undefined): Record<string, string> {
  if (!auth) return {};
  if ('bearerToken' in auth) return { Authorization: `Bearer ${auth.bearerToken}` };
  return { Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
}

/** Limits applied to every request of one Git operation. */
export interface TransportLimits {
  /** Aborts every request and body read of the operation; its reason is what gets thrown. */
  readonly signal: AbortSignal;
  /** Total response bytes allowed across the operation. */
  readonly maxBytes?: number | undefined;
}

/** Rejects with the signal's reason once it aborts; settles like `promise` otherwise. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  });
}

async function* guardedBody(body: AsyncIterableIterator<Uint8Array>, limits: TransportLimits,
  counted: { bytes: number }): AsyncGenerator<Uint8Array> {
  try {
    for (;;) {
      // isomorphic-git's stream adapter can miss an error that arrives between reads; the race cannot.
      const next = await untilAborted(body.next(), limits.signal);
      if (next.done) return;
      counted.bytes += next.value.byteLength;
      if (limits.maxBytes !== undefined && counted.bytes > limits.maxBytes) throw new GitTooLargeError(limits.maxBytes);
      yield next.value;
    }
  } finally {
    await body.return?.();
  }
}

/** An isomorphic-git HTTP client bound to `limits` for the duration of one operation. */
export function limitedHttp(limits: TransportLimits): HttpClient {
  const counted = { bytes: 0 };
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const res = await untilAborted(nodeRequest({ ...req, signal: limits.signal }), limits.signal);
      if (!res.body) return res;
      return { ...res, body: guardedBody(res.body, limits, counted) };
    },
  };
}
