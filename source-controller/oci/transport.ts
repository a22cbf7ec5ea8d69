/**
 * Requests to a registry's `/v2/` API with everything a request needs around it:
 * the scheme (https, or plain http when `insecure`), a private CA, keep-alive
 * connections, authentication (challenge, token, one retry), redirects for
 * downloads, retries with backoff, and the mapping of statuses to typed errors.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { redactString } from '../../runtime/redact.ts';
import { HostDeniedError, portOf, type HostPolicy } from '../net/host-policy.ts';
import { RegistryAuth, repositoryScope, type CredentialSource } from './auth.ts';
import {
  AuthenticationError, HostDeniedOciError, NotFoundError, OciError, RateLimitedError, RegistryError, RegistryUnreachableError, TlsError,
} from './errors.ts';
import { discard, exchange, readBody, type RequestBody } from './http-exchange.ts';
import {
  DEFAULT_RETRY_POLICY, backoffDelay, isConnectionError, isRetryableStatus, isTlsError, parseRetryAfter, sleep,
  type RetryPolicy,
} from './retry.ts';

/** What a client logs (pino loggers fit). Fields never hold credentials. */
export interface OciLogger {
  debug(fields: Record<string, unknown>, message: string): void;
}

/** Connection and retry settings shared by every request of a client. */
export interface TransportOptions {
  /** Plain HTTP instead of HTTPS (a local or in-cluster registry without TLS). */
  readonly insecure?: boolean | undefined;
  /** PEM CA certificate(s) trusted in addition to the system roots. */
  readonly ca?: string | Uint8Array | undefined;
  /** A file holding {@link ca}. */
  readonly caFile?: string | undefined;
  readonly credentials?: CredentialSource | undefined;
  /** Socket inactivity limit per request (default 30 s). */
  readonly timeoutMs?: number | undefined;
  readonly userAgent?: string | undefined;
  /** Retries after the first attempt (default 4). */
  readonly maxRetries?: number | undefined;
  /** Finer retry settings; `maxRetries` wins over `retry.maxRetries`. */
  readonly retry?: Partial<RetryPolicy> | undefined;
  readonly logger?: OciLogger | undefined;
  /** Clock for token expiry and `Retry-After` dates. */
  readonly now?: (() => number) | undefined;
  /**
   * Where requests may go (the registry, its token realm, redirect targets),
   * checked on every request after DNS resolution. Default: anywhere (the CLI).
   */
  readonly hostPolicy?: HostPolicy | undefined;
}

/** One registry API request. */
export interface RegistryRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Registry host (`host[:port]`). */
  readonly host: string;
  /** Repository the request is about, for the auth scope. */
  readonly repository: string;
  /** Needs push rights (uploads, manifest puts). */
  readonly push?: boolean;
  /** `/v2/...` path with query, or an absolute URL (an upload `Location`). */
  readonly path: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: RequestBody;
  readonly onProgress?: (sent: number) => void;
  readonly signal?: AbortSignal | undefined;
  /** What is asked for, for messages: `manifest 127.0.0.1:5000/team/web:1.0.0`. */
  readonly what: string;
  /** Statuses handed back to the caller instead of thrown (e.g. 404 for an existence check). */
  readonly allowStatus?: readonly number[];
}

/** A response whose status was a success (or allowed); the caller consumes `body`. */
export interface RegistryResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The URL that answered (after redirects), for resolving relative `Location`s. */
  readonly url: URL;
  readonly body: IncomingMessage;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 5;
const ERROR_BODY_LIMIT = 64 * 1024;
const TOKEN_BODY_LIMIT = 1024 * 1024;

/** Sends registry requests for one client; `close()` releases its connections. */
export class RegistryTransport {
  readonly #insecure: boolean;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  readonly #policy: RetryPolicy;
  readonly #logger: OciLogger | undefined;
  readonly #now: () => number;
  readonly #hostPolicy: HostPolicy | undefined;
  readonly #httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 16 });
  readonly #httpsAgent: HttpsAgent;
  readonly #auth: RegistryAuth;

  constructor(opts: TransportOptions = {}) {
    this.#insecure = opts.insecure ?? false;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#userAgent = opts.userAgent ?? 'trellis-oci/0.1';
    this.#policy = { ...DEFAULT_RETRY_POLICY, ...opts.retry, ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}) };
    this.#logger = opts.logger;
    this.#now = opts.now ?? Date.now;
    this.#hostPolicy = opts.hostPolicy;
    const extraCa = opts.ca ?? (opts.caFile !== undefined ? readFileSync(opts.caFile) : undefined);
    // `ca` replaces node's trust store, so keep the public roots next to the private CA:
    // a private registry may still redirect downloads to a public storage host.
    const ca = extraCa === undefined ? undefined : [...rootCertificates, Buffer.from(extraCa).toString('utf8')];
    this.#httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 16, ...(ca ? { ca } : {}) });
    this.#auth = new RegistryAuth({
      credentials: opts.credentials,
      allowPlainHttpRealm: this.#insecure,
      now: this.#now,
      fetchToken: async (url, authorization, signal) => {
        const res = await this.#send({
          method: 'GET', url, headers: authorization ? { authorization } : {}, signal, what: `token from ${url.host}`,
        });
        const body = await readBody(res.body, TOKEN_BODY_LIMIT, `the token response of ${url.host}`);
        return { status: res.status, body: body.toString('utf8') };
      },
    });
  }

  /** `https://host` or `http://host` for `insecure` clients. */
  baseUrl(host: string): string {
    return `${this.#insecure ? 'http' : 'https'}://${host}`;
  }

  /** Sends an authenticated registry request; throws a typed {@link OciError} on failure. */
  async request(req: RegistryRequest): Promise<RegistryResponse> {
    const scope = repositoryScope(req.repository, req.push ?? false);
    const origin = new URL(this.baseUrl(req.host)).origin;
    let url = new URL(req.path, this.baseUrl(req.host));
    let authRetried = false;
    let redirects = 0;
    for (;;) {
      // Credentials go only to the registry itself, never to a storage host it redirects to.
      const sameOrigin = url.origin === origin;
      const authorization = sameOrigin ? await this.#auth.authorization(req.host, scope, req.signal) : undefined;
      const res = await this.#send({
        method: req.method, url, what: req.what, signal: req.signal, body: req.body, onProgress: req.onProgress,
        headers: { ...req.headers, ...(authorization ? { authorization } : {}) },
      });
      const status = res.status;
      if ((status >= 200 && status < 300) || req.allowStatus?.includes(status)) return res;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location && (req.method === 'GET' || req.method === 'HEAD')) {
        discard(res.body);
        redirects += 1;
        if (redirects > MAX_REDIRECTS) throw new RegistryError(`${req.what}: more than ${MAX_REDIRECTS} redirects`, status);
        url = new URL(location, url);
        continue;
      }
      const detail = await errorDetail(res.body);
      if (status === 401 && sameOrigin && !authRetried) {
        try {
          await this.#auth.onChallenge(req.host, headerValue(res.headers['www-authenticate']), scope, authorization, req.signal);
        } catch (err) {
          if (err instanceof AuthenticationError) throw new AuthenticationError(`${req.what}: ${err.message}`, err.statusCode);
          throw err;
        }
        // One more attempt with what the challenge taught; a second 401 is final (no loop).
        authRetried = true;
        continue;
      }
      if (status === 401 || status === 403) {
        const configured = this.#auth.credentialsFor(req.host) !== undefined;
        const why = status === 403 ? 'access denied' : configured ? 'the credentials were refused' : 'credentials are required and none were configured';
        throw new AuthenticationError(`${req.what}: ${why} (HTTP ${status}${detail})`, status);
      }
      if (status === 404) throw new NotFoundError(`${req.what} not found (HTTP 404${detail})`);
      throw new RegistryError(`${req.what}: the registry answered HTTP ${status}${detail}`, status);
    }
  }

  /** Releases pooled connections. The client must not be used afterwards. */
  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  /**
   * One request with retries for connection errors, 429 and 5xx. Returns any
   * other response (including 4xx) for the caller to judge.
   */
  async #send(spec: {
    method: string; url: URL; headers: OutgoingHttpHeaders; what: string; signal: AbortSignal | undefined;
    body?: RequestBody | undefined; onProgress?: ((sent: number) => void) | undefined;
  }): Promise<RegistryResponse> {
    const headers: OutgoingHttpHeaders = { 'user-agent': this.#userAgent, ...spec.headers };
    const agent = spec.url.protocol === 'https:' ? this.#httpsAgent : this.#httpAgent;
    for (let retry = 0; ; retry += 1) {
      let res: IncomingMessage;
      try {
        this.#hostPolicy?.checkUrl(spec.url);
        res = await exchange(spec.url, {
          method: spec.method, headers, body: spec.body, agent, timeoutMs: this.#timeoutMs, signal: spec.signal,
          onProgress: spec.onProgress, lookup: this.#hostPolicy?.lookupFor(portOf(spec.url)),
        });
      } catch (err) {
        if (err instanceof HostDeniedError) throw new HostDeniedOciError(`${spec.what}: ${err.message}`);
        if (spec.signal?.aborted) throw abortError(spec.what, spec.signal);
        if (isTlsError(err)) throw tlsError(spec.what, spec.url, err);
        const summary = networkSummary(err);
        if (isConnectionError(err) && retry < this.#policy.maxRetries) {
          const delay = backoffDelay(retry, this.#policy);
          this.#logger?.debug({ what: spec.what, error: summary, retry: retry + 1, delayMs: delay }, 'registry unreachable, retrying');
          await this.#wait(delay, spec);
          continue;
        }
        throw new RegistryUnreachableError(`${spec.what}: ${spec.url.host} is unreachable (${summary}; ${retry + 1} attempts)`);
      }
      const status = res.statusCode ?? 0;
      if (!isRetryableStatus(status)) return { status, headers: res.headers, url: spec.url, body: res };
      const retryAfter = parseRetryAfter(headerValue(res.headers['retry-after']), this.#now());
      const delay = retryAfter ?? backoffDelay(retry, this.#policy);
      if (retry < this.#policy.maxRetries && delay <= this.#policy.maxRetryAfterMs) {
        discard(res);
        this.#logger?.debug({ what: spec.what, status, retry: retry + 1, delayMs: delay }, 'registry asked to retry');
        await this.#wait(delay, spec);
        continue;
      }
      const detail = await errorDetail(res);
      if (status === 429) {
        throw new RateLimitedError(`${spec.what}: rate limited by ${spec.url.host} (HTTP 429${detail}) after ${retry + 1} attempts`, retryAfter);
      }
      throw new RegistryError(`${spec.what}: ${spec.url.host} answered HTTP ${status}${detail} after ${retry + 1} attempts`, status);
    }
  }

  async #wait(ms: number, spec: { what: string; signal: AbortSignal | undefined }): Promise<void> {
    try {
      await sleep(ms, spec.signal);
    } catch {
      throw abortError(spec.what, spec.signal);
    }
  }
}

/** A header's single value (node joins repeated ones for most headers; arrays for a few). */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * `, CODE; CODE` from a registry's JSON error body, or '' — bounded. Only the
 * spec's error codes are shown: a body's free text is the server's to choose,
 * and a URL pointed at an internal service must not read its answers back
 * through the status or Events.
 */
async function errorDetail(res: IncomingMessage): Promise<string> {
  let text: string;
  try {
    text = (await readBody(res, ERROR_BODY_LIMIT, 'error body')).toString('utf8');
  } catch {
    return '';
  }
  try {
    const doc = JSON.parse(text) as { errors?: Array<{ code?: unknown }> };
    const codes = (Array.isArray(doc.errors) ? doc.errors : []).slice(0, 3)
      .map((e) => (typeof e.code === 'string' && /^[A-Z][A-Z_]{0,63}$/.test(e.code) ? e.code : ''))
      .filter(Boolean);
    return codes.length > 0 ? `, ${codes.join('; ')}` : '';
  } catch {
    return '';
  }
}

function networkSummary(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? redactString(e.message).slice(0, 200) : String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

function tlsError(what: string, url: URL, err: unknown): TlsError {
  const summary = networkSummary(err);
  const hint = /wrong version number|packet length too long|http request/i.test(summary)
    ? ' — the registry may serve plain HTTP (set insecure)'
    : /self[- ]signed|issuer|verify/i.test(summary) ? ' — give the registry\'s CA certificate (certSecretRef / --ca-file)' : '';
  return new TlsError(`${what}: TLS with ${url.host} failed (${summary})${hint}`);
}

function abortError(what: string, signal: AbortSignal | undefined): OciError {
  const reason: unknown = signal?.reason;
  if (reason instanceof OciError) return reason;
  const why = reason instanceof Error && reason.name === 'TimeoutError' ? 'timed out' : 'was cancelled';
  return new RegistryUnreachableError(`${what}: the operation ${why}`);
}
