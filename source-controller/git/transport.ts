/**
 * The HTTP transport isomorphic-git talks through: our own node:http client
 * (isomorphic-git's follows redirects anywhere and resolves names itself), with
 * credentials sent up front (one request per poll, not a 401 round trip first),
 * an AbortSignal on every request and response body so a time limit really ends
 * the transfer, a cap on downloaded bytes, and the source-host policy checked
 * on every request and every redirect, after DNS resolution (see
 * net/host-policy.ts). Credentials never follow a redirect to another origin.
 */
import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { HostPolicy, portOf } from '../net/host-policy.ts';
import { GitTooLargeError, GitUnreachableError } from './errors.ts';
import { PackGuard } from './pack-guard.ts';

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
  /** Where requests may go; default {@link DEFAULT_HOST_POLICY}. */
  readonly hostPolicy?: HostPolicy | undefined;
  /** Bytes the objects of a fetched pack may inflate to (see git/pack-guard.ts); unchecked when undefined. */
  readonly maxInflatedBytes?: number | undefined;
}

/** The policy of callers that give none: the default deny rules (link-local, unspecified addresses). */
export const DEFAULT_HOST_POLICY = new HostPolicy();

/** Redirects followed for one request (Git follows a few for `info/refs`). */
const MAX_REDIRECTS = 5;

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

/** Bytes read so far in one operation, and the cap error once it was hit. */
interface Counter {
  bytes: number;
  exceeded: GitTooLargeError | undefined;
}

async function* guardedBody(body: AsyncIterableIterator<Uint8Array>, limits: TransportLimits,
  counted: Counter, guard?: PackGuard): AsyncGenerator<Uint8Array> {
  try {
    for (;;) {
      // isomorphic-git's stream adapter can miss an error that arrives between reads; the race cannot.
      const next = await untilAborted(body.next(), limits.signal);
      if (next.done) {
        try {
          guard?.finish();
        } catch (err) {
          counted.exceeded = err as GitTooLargeError;
          throw err;
        }
        return;
      }
      guard?.push(next.value);
      counted.bytes += next.value.byteLength;
      if (limits.maxBytes !== undefined && counted.bytes > limits.maxBytes) {
        counted.exceeded = new GitTooLargeError(limits.maxBytes);
        throw counted.exceeded;
      }
      yield next.value;
    }
  } finally {
    await body.return?.();
  }
}

/** A request body as isomorphic-git gives it (bytes, or chunks), read into one buffer: Git requests are small. */
async function bodyBytes(body: GitHttpRequest['body']): Promise<Buffer | undefined> {
  if (body === undefined) return undefined;
  const chunks: Uint8Array[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function flatHeaders(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** One exchange to `url`, connecting only to addresses `policy` allowed. */
function send(url: URL, method: string, headers: Record<string, string>, body: Buffer | undefined,
  policy: HostPolicy, signal: AbortSignal): Promise<IncomingMessage> {
  policy.checkUrl(url);
  const request = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
  if (!request) return Promise.reject(new GitUnreachableError(`unsupported URL scheme ${url.protocol}`));
  return new Promise((resolve, reject) => {
    // `agent: false`: a connection of its own, never a pooled socket that was opened (and checked) for another operation.
    const req = request(url, {
      method, signal, agent: false, lookup: policy.lookupFor(portOf(url)),
      headers: { ...headers, ...(body ? { 'content-length': String(body.byteLength) } : {}) },
    });
    req.once('response', resolve);
    req.once('error', reject);
    req.end(body);
  });
}

/** An isomorphic-git HTTP client that knows whether its byte cap was hit. */
export interface LimitedHttpClient extends HttpClient {
  /**
   * Throws the cap error if any body went over the cap. isomorphic-git's
   * pkt-line reader takes a failing body for its end, so a capped `info/refs`
   * would otherwise read as a shorter, complete listing.
   */
  throwIfExceeded(): void;
}

/** An isomorphic-git HTTP client bound to `limits` for the duration of one operation. */
export function limitedHttp(limits: TransportLimits): LimitedHttpClient {
  const counted: Counter = { bytes: 0, exceeded: undefined };
  const policy = limits.hostPolicy ?? DEFAULT_HOST_POLICY;
  return {
    throwIfExceeded() {
      if (counted.exceeded) throw counted.exceeded;
    },
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const method = req.method ?? 'GET';
      const body = await bodyBytes(req.body);
      const origin = new URL(req.url).origin;
      let url = new URL(req.url);
      for (let redirects = 0; ; redirects++) {
        const headers = { ...req.headers };
        // Credentials are for the repository's own origin, never for wherever it redirects.
        if (url.origin !== origin) for (const name of Object.keys(headers)) if (name.toLowerCase() === 'authorization') delete headers[name];
        const res = await untilAborted(send(url, method, headers, body, policy, limits.signal), limits.signal);
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (status >= 300 && status < 400 && location !== undefined && (method === 'GET' || method === 'HEAD')) {
          res.resume();
          if (redirects >= MAX_REDIRECTS) throw new GitUnreachableError(`more than ${MAX_REDIRECTS} redirects`, status);
          url = new URL(location, url);
          continue;
        }
        return {
          url: url.href, method, statusCode: status, statusMessage: res.statusMessage ?? '', headers: flatHeaders(res),
          body: guardedBody(res[Symbol.asyncIterator]() as AsyncIterableIterator<Uint8Array>, limits, counted,
            method === 'POST' && url.pathname.endsWith('/git-upload-pack') && limits.maxInflatedBytes !== undefined
              ? new PackGuard(limits.maxInflatedBytes) : undefined),
        };
      }
    },
  };
}
