/**
 * The HTTP layer under {@link KubeClient}: authenticated HTTPS requests to the
 * apiserver over one keep-alive agent, client-side flow control (see
 * rate-limit.ts: API Priority and Fairness detection, a shared pause after
 * throttling), bounded resends of throttled requests, a per-verb request count,
 * and streaming for watches. Authentication (tokens, client certificates, exec
 * plugins, rotating service-account tokens) is delegated to the client-node
 * KubeConfig, so every kubeconfig kubectl accepts works here.
 */
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { createSecureContext } from 'node:tls';
import type { Cluster, KubeConfig } from '@kubernetes/client-node';
import { DEFAULT_THROTTLE_ATTEMPTS, judgeThrottle, type ApiRateLimiter } from './rate-limit.ts';

/** API verbs as the audit log names them, plus `apply` (an SSA patch) and `discovery`. */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'apply' | 'delete' | 'discovery';

const WRITE_VERBS: ReadonlySet<Verb> = new Set(['create', 'update', 'patch', 'apply', 'delete']);

/**
 * Counts requests by verb; dry runs are counted apart, because they write
 * nothing. A request the apiserver throttled and the transport sent again is
 * still one request here (the count is of what callers asked for); every
 * throttled response is counted apart, by {@link RequestCounter.throttled}.
 */
export class RequestCounter {
  readonly #counts = new Map<string, number>();
  readonly #throttled = new Map<Verb, number>();
  readonly #listeners = new Set<(verb: Verb, dryRun: boolean) => void>();
  readonly #throttleListeners = new Set<(verb: Verb, status: number) => void>();

  /** Records one request. */
  record(verb: Verb, dryRun: boolean): void {
    const key = dryRun ? `${verb}:dryRun` : verb;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    for (const listener of this.#listeners) listener(verb, dryRun);
  }

  /** Calls `listener` for every request from now on (metrics); returns an unsubscribe function. */
  onRequest(listener: (verb: Verb, dryRun: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }

  /** Records one throttled response (429, or 503 with Retry-After) to a request of `verb`. */
  recordThrottled(verb: Verb, status: number): void {
    this.#throttled.set(verb, (this.#throttled.get(verb) ?? 0) + 1);
    for (const listener of this.#throttleListeners) listener(verb, status);
  }

  /** Calls `listener` for every throttled response from now on (metrics); returns an unsubscribe function. */
  onThrottled(listener: (verb: Verb, status: number) => void): () => void {
    this.#throttleListeners.add(listener);
    return () => { this.#throttleListeners.delete(listener); };
  }

  /** Throttled responses, of `verb` or of all verbs; each resend that was throttled again counts once more. */
  throttled(verb?: Verb): number {
    if (verb !== undefined) return this.#throttled.get(verb) ?? 0;
    let n = 0;
    for (const count of this.#throttled.values()) n += count;
    return n;
  }

  /** Requests of `verb` (dry runs excluded unless `dryRun` is true). */
  count(verb: Verb, dryRun = false): number {
    return this.#counts.get(dryRun ? `${verb}:dryRun` : verb) ?? 0;
  }

  /** Requests that changed (or tried to change) something: create, update, patch, apply, delete — not dry runs. */
  writes(): number {
    let n = 0;
    for (const verb of WRITE_VERBS) n += this.count(verb);
    return n;
  }

  /** All counts, keyed `verb` or `verb:dryRun`. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  /** Starts counting from zero (throttled responses included). */
  reset(): void {
    this.#counts.clear();
    this.#throttled.clear();
  }
}

/** A failed API request. `reason` is the Status reason (`NotFound`, `Conflict`, `Forbidden`, `Expired`, ...). */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  /** HTTP status code. */
  readonly statusCode: number;
  /** metav1.Status reason, or the HTTP status text. */
  readonly reason: string;
  /** The Status `details` object, when the apiserver sent one. */
  readonly details: unknown;

  constructor(statusCode: number, reason: string, message: string, details?: unknown) {
    super(message);
    this.statusCode = statusCode;
    this.reason = reason;
    this.details = details;
  }
}

/** True for a 404 from the apiserver. */
export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 404;
}

/** True for a 409 (optimistic-concurrency conflict or AlreadyExists). */
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 409;
}

/** True for a 403. */
export function isForbidden(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 403;
}

/**
 * True for the apiserver's refusal to create anything in a namespace that is
 * being deleted: a 403 whose Status names the cause `NamespaceTerminating` (the
 * NamespaceLifecycle admission plugin's), or, from a server that sends no
 * causes, says so in its message.
 */
export function isNamespaceTerminating(err: unknown): boolean {
  if (!(err instanceof KubeApiError) || err.statusCode !== 403) return false;
  // A StatusCause's type is serialised as `reason`.
  const causes = (err.details as { causes?: unknown } | undefined)?.causes;
  if (Array.isArray(causes) && causes.some((c) => (c as { reason?: unknown } | null)?.reason === 'NamespaceTerminating')) return true;
  return /because it is being terminated/.test(err.message);
}

/** True when a watch's resourceVersion is too old (410 Gone / reason Expired): the caller must list again. */
export function isExpired(err: unknown): boolean {
  return err instanceof KubeApiError && (err.statusCode === 410 || err.reason === 'Expired' || err.reason === 'Gone');
}

/** One HTTP request. */
export interface TransportRequest {
  readonly verb: Verb;
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  readonly contentType?: string;
  /** Counted as a dry run. */
  readonly dryRun?: boolean;
  /** Extra headers (impersonation). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** The `Accept` header (default `application/json`). */
  readonly accept?: string;
}

/** A binary encoding a watch may be answered in (runtime/kube-protobuf.ts), for {@link KubeTransport.stream}. */
export interface FrameDecoding {
  /** The media type asked for ahead of JSON. */
  readonly accept: string;
  /** True when the answer's `Content-Type` is that encoding. */
  answeredIn(contentType: string | undefined): boolean;
  /** One frame's event. */
  decode(frame: Uint8Array): unknown;
  /** The metav1.Status of an error answer's body in that encoding. */
  error(body: Uint8Array): unknown;
}

/** Decides whether a write may be sent now: an error refuses it (thrown instead of sending), undefined lets it go. */
export type WriteGuard = (req: TransportRequest) => Error | undefined;

/** Options for {@link KubeTransport}. */
export interface TransportOptions {
  readonly limiter: ApiRateLimiter;
  readonly counter: RequestCounter;
  /** Per-request timeout for non-watch requests (default 30 s). */
  readonly requestTimeoutMs?: number | undefined;
  readonly userAgent?: string | undefined;
  /** Attempts a throttled request gets, the first included (default {@link DEFAULT_THROTTLE_ATTEMPTS}). */
  readonly throttleAttempts?: number | undefined;
}

/**
 * Authenticated, flow-controlled, counted requests to one apiserver. A request
 * the apiserver throttles (429, or 503 with `Retry-After`) is sent again after
 * the wait it asked for, up to `throttleAttempts` times in all; a watch never is
 * (its owner decides when to start it again, from which resourceVersion).
 */
export class KubeTransport {
  readonly kubeConfig: KubeConfig;
  readonly limiter: ApiRateLimiter;
  readonly counter: RequestCounter;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  readonly #throttleAttempts: number;
  #route: Promise<Route> | undefined;
  #writeGuard: WriteGuard | undefined;

  constructor(kubeConfig: KubeConfig, options: TransportOptions) {
    this.kubeConfig = kubeConfig;
    this.limiter = options.limiter;
    this.counter = options.counter;
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#userAgent = options.userAgent ?? 'trellis';
    this.#throttleAttempts = Math.max(1, options.throttleAttempts ?? DEFAULT_THROTTLE_ATTEMPTS);
  }

  /**
   * Sets the check every write (any method but GET) passes just before it is
   * sent, each attempt; a write it refuses fails with its error, unsent.
   */
  guardWrites(guard: WriteGuard | undefined): void {
    this.#writeGuard = guard;
  }

  /** Sends a request and parses the JSON answer; throws {@link KubeApiError} on a non-2xx status. */
  async json<T>(req: TransportRequest): Promise<T> {
    const res = await this.#send(req, false);
    const text = await readBody(res);
    if ((res.statusCode ?? 0) >= 300) throw apiError(res.statusCode ?? 0, text);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /**
   * Opens a watch and calls `onEvent` with every event; resolves when the
   * server ends the stream or `req.signal` aborts it. With `frames`, the watch
   * asks for that binary encoding first (`frames.accept`) and, when the server
   * answers in it (`frames.answeredIn`), reads length-delimited frames and
   * hands each to `frames.decode`; otherwise it reads JSON lines.
   */
  async stream(req: TransportRequest, onEvent: (value: unknown) => void, idleTimeoutMs: number,
    frames?: FrameDecoding): Promise<void> {
    const res = await this.#send(frames ? { ...req, accept: `${frames.accept}, application/json` } : req, true);
    const binary = frames !== undefined && frames.answeredIn(headerValue(res.headers['content-type']));
    if ((res.statusCode ?? 0) >= 300) {
      if (!binary) throw apiError(res.statusCode ?? 0, await readBody(res));
      const body = await readBytes(res);
      let status: unknown;
      try {
        status = frames.error(body);
      } catch {
        // Not a Status: the body itself is the message.
      }
      throw apiErrorOf(res.statusCode ?? 0, status, body.toString('utf8'));
    }
    await new Promise<void>((resolve, reject) => {
      // A half-dead connection sends nothing forever; the idle timer turns that into an error.
      const idle = setTimeout(() => res.destroy(new Error('watch stream idle timeout')), idleTimeoutMs);
      let failed = false;
      const deliver = (decode: () => unknown): void => {
        // readline may still hand over buffered lines after the stream was destroyed.
        if (failed) return;
        // Re-armed in place: a rollout's watch carries thousands of events a second.
        idle.refresh();
        try {
          const value = decode();
          if (value !== undefined) onEvent(value);
        } catch (err) {
          failed = true;
          res.destroy(err instanceof Error ? err : new Error(String(err)));
        }
      };
      const finish = (err?: Error): void => {
        clearTimeout(idle);
        if (err && !req.signal?.aborted) reject(err);
        else resolve();
      };
      res.on('error', finish);
      res.on('close', () => finish());
      if (binary) {
        readFrames(res, (frame) => deliver(() => frames.decode(frame)));
        return;
      }
      const lines = createInterface({ input: res, crlfDelay: Infinity });
      lines.on('line', (line) => deliver(() => (line.trim() === '' ? undefined : JSON.parse(line))));
      // readline re-emits input errors; without a listener they would crash the process.
      lines.on('error', finish);
    });
  }

  /**
   * Sends `req` once per attempt until the answer is not a throttle, the
   * attempts run out, or `req.signal` aborts a wait. Counted once, whatever the
   * number of attempts.
   */
  async #send(req: TransportRequest, streaming: boolean): Promise<IncomingMessage> {
    this.#refuseWrite(req);
    this.counter.record(req.verb, req.dryRun ?? false);
    const maxAttempts = streaming ? 1 : this.#throttleAttempts;
    for (let attempt = 1; ; attempt += 1) {
      const sentAt = await this.limiter.take(req.signal);
      const res = await this.#exchange(req, streaming);
      this.limiter.observe(res.headers);
      const status = res.statusCode ?? 0;
      const verdict = judgeThrottle(status, headerValue(res.headers['retry-after']), attempt, Date.now(), maxAttempts);
      if (verdict.kind === 'not-throttled') return res;
      this.counter.recordThrottled(req.verb, status);
      this.limiter.throttled(verdict.retryAfterMs, sentAt);
      if (verdict.kind === 'give-up') throw throttledError(req, status, await readBody(res), attempt, streaming);
      // The body of a throttle is only a Status; drain it so the socket goes back to the pool.
      res.resume();
    }
  }

  /** One HTTP exchange; a request on a kept-alive socket the server had closed is sent once more on a new one. */
  async #exchange(req: TransportRequest, streaming: boolean): Promise<IncomingMessage> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/$/, '') + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const route = await this.#routeTo(cluster, url);
    // Per attempt, not per request: an exec plugin or a projected token may rotate during a long throttle.
    const opts: RequestOptions = { headers: {} };
    await route.credentials.applyToHTTPSOptions(opts);
    if (route.agent) opts.agent = route.agent;
    const headers: Record<string, string> = {
      ...(opts.headers as Record<string, string>), ...req.headers,
      accept: req.accept ?? 'application/json', 'user-agent': this.#userAgent,
    };
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    if (body !== undefined) {
      headers['content-type'] = req.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const attempt = (): Promise<IncomingMessage> => new Promise<IncomingMessage>((resolve, reject) => {
      // Checked again right before sending: the limiter's wait and the credentials took time.
      this.#refuseWrite(req);
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const r = send(url, { ...opts, method: req.method, headers, signal: req.signal }, resolve);
      r.on('error', (err: NodeJS.ErrnoException) => reject(Object.assign(err, { reusedSocket: r.reusedSocket })));
      if (!streaming) r.setTimeout(this.#timeoutMs, () => r.destroy(new Error(`${req.method} ${req.path} timed out`)));
      r.end(body);
    });
    try {
      return await attempt();
    } catch (err) {
      // A kept-alive socket the server closed while idle fails before the request
      // reached it; Node's documented remedy is to send once more on a fresh socket.
      const e = err as NodeJS.ErrnoException & { reusedSocket?: boolean };
      if (e.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE') && !req.signal?.aborted) return attempt();
      throw err;
    }
  }

  /** Throws the write guard's refusal of `req`, if any. */
  #refuseWrite(req: TransportRequest): void {
    if (req.method === 'GET' || !this.#writeGuard) return;
    const refusal = this.#writeGuard(req);
    if (refusal) throw refusal;
  }

  /** The transport's {@link Route}, worked out on its first request (and again after {@link close} or a failure). */
  #routeTo(cluster: Cluster, url: URL): Promise<Route> {
    this.#route ??= routeFor(this.kubeConfig, cluster, url).catch((err: unknown) => {
      this.#route = undefined;
      throw err;
    });
    return this.#route;
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    const route = this.#route;
    this.#route = undefined;
    void route?.then((r) => r.agent?.destroy(), () => undefined);
  }
}

/**
 * How one transport's requests reach the apiserver. The kubeconfig's TLS
 * material (CA, client certificate and key, from files or inline) is read once,
 * into the secure context of one keep-alive agent; each request then asks the
 * kubeconfig only for its credentials. Asked for everything, the kubeconfig
 * would decode (in a Pod, read from disk) the CA, certificate and key for every
 * request, and an agent given them turns all three into a pool name on every
 * request, though it connects with its own: an agent's options take precedence
 * over a request's. (client-go, too, reads them when it first connects.)
 */
interface Route {
  /** Undefined for plain HTTP and for a cluster reached through a proxy: those requests carry their own TLS options, as before. */
  readonly agent?: HttpsAgent;
  /** Asked per request for headers and basic auth; without TLS material when {@link agent} holds it. */
  readonly credentials: KubeConfig;
}

async function routeFor(kubeConfig: KubeConfig, cluster: Cluster, url: URL): Promise<Route> {
  if (url.protocol !== 'https:' || cluster.proxyUrl) return { credentials: kubeConfig };
  const tls: RequestOptions = { headers: {} };
  await kubeConfig.applyToHTTPSOptions(tls);
  const agent = new HttpsAgent({
    // No socket cap: every watch holds a socket for its whole life.
    keepAlive: true,
    secureContext: createSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key, pfx: tls.pfx, passphrase: tls.passphrase }),
    servername: tls.servername, ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
  });
  return { agent, credentials: withoutTlsMaterial(kubeConfig) };
}

/**
 * A copy of `kubeConfig` without certificates and keys: what it still gives a
 * request is who is asking. Made with the caller's own class: this module
 * imports client-node's types only, because the installation package's program
 * bundles runtime modules that import this one (for the API error predicates),
 * and client-node cannot be bundled into a program.
 */
function withoutTlsMaterial(kubeConfig: KubeConfig): KubeConfig {
  const copy = new (kubeConfig.constructor as new () => KubeConfig)();
  copy.loadFromOptions({
    clusters: kubeConfig.clusters.map((c) => ({ ...c, caData: undefined, caFile: undefined })),
    users: kubeConfig.users.map((u) => ({ ...u, certData: undefined, certFile: undefined, keyData: undefined, keyFile: undefined })),
    contexts: kubeConfig.contexts,
    currentContext: kubeConfig.currentContext,
  });
  return copy;
}

async function readBody(res: IncomingMessage): Promise<string> {
  return (await readBytes(res)).toString('utf8');
}

function readBytes(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

/** Splits a stream into length-delimited frames (a 4-byte big-endian length, then that many bytes). */
function readFrames(res: IncomingMessage, onFrame: (frame: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  res.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let at = 0;
    while (pending.length - at >= 4) {
      const length = pending.readUInt32BE(at);
      if (pending.length - at - 4 < length) break;
      onFrame(pending.subarray(at + 4, at + 4 + length));
      at += 4 + length;
    }
    pending = pending.subarray(at);
  });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The error of a request that was still throttled on its last attempt (or of a watch, which is never resent). */
function throttledError(req: TransportRequest, status: number, body: string, attempts: number, streaming: boolean): KubeApiError {
  const last = apiError(status, body);
  const what = streaming
    ? 'the apiserver throttled this watch (watches are not resent; their owner starts them again)'
    : `the apiserver throttled this request on all ${attempts} attempt${attempts === 1 ? '' : 's'}; giving up`;
  return new KubeApiError(last.statusCode, last.reason, `${req.method} ${req.path}: ${what}: ${last.message}`, last.details);
}

/** Builds a {@link KubeApiError} from a metav1.Status body (or whatever the server sent). */
export function apiError(statusCode: number, body: string): KubeApiError {
  let status: unknown;
  try {
    status = JSON.parse(body);
  } catch {
    // Not JSON: the body itself is the message.
  }
  return apiErrorOf(statusCode, status, body);
}

/** A {@link KubeApiError} from a decoded metav1.Status, or from the raw body when it is not one. */
function apiErrorOf(statusCode: number, decoded: unknown, body = ''): KubeApiError {
  const status = decoded as { kind?: string; reason?: string; message?: string; details?: unknown; code?: number } | null | undefined;
  if (status?.kind === 'Status') {
    return new KubeApiError(status.code ?? statusCode, status.reason ?? String(statusCode),
      status.message ?? `HTTP ${statusCode}`, status.details);
  }
  return new KubeApiError(statusCode, String(statusCode), `HTTP ${statusCode}: ${body.slice(0, 200)}`);
}
