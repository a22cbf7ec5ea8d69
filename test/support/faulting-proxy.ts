/**
 * A fault-injecting front for the test cluster's kube-apiserver, for tests of
 * how Trellis behaves when the apiserver throttles, fails, stalls or drops a
 * connection — things a healthy local control plane never does on cue.
 *
 * The proxy listens on plain HTTP on a loopback port and forwards every request
 * to the real apiserver over HTTPS with the test cluster's own credentials (TLS
 * is terminated here, so the proxy can read and answer requests).
 * {@link FaultingProxy.kubeConfig} is a kubeconfig that points at the proxy; hand
 * it to the client under test. Impersonation headers pass through unchanged, so
 * impersonating clients keep working.
 *
 * Faults are injected by rules ({@link FaultingProxy.inject}): a rule matches by
 * method and path, applies to its next `times` matches (1 by default; `Infinity`
 * for all), and does one of:
 *
 * - `status`: answer with a status, headers and a metav1.Status body, without
 *   forwarding — the apiserver never sees the request ({@link throttle} is a 429
 *   with `Retry-After`, {@link serverError} a 5xx);
 * - `delay`: forward after a pause (a slow apiserver);
 * - `hang`: never answer and keep the connection open (a request that times out);
 * - `drop`: destroy the connection before forwarding (a dropped connection; the
 *   apiserver never saw the request);
 * - `lose-response`: forward, let the apiserver act, then destroy the connection
 *   instead of answering (a timeout after a write was made);
 * - `add-headers`: forward and add headers to the answer.
 * - `drop-headers`: forward and remove the named headers from the answer (an
 *   apiserver without a feature, e.g. API Priority and Fairness off).
 *
 * The first rule (in the order they were added) that matches and still has uses
 * left decides; requests no rule matches are forwarded untouched, watches
 * included (streamed). Every request is logged in arrival order with what was
 * done to it, so tests assert attempt counts and ordering from the proxy's point
 * of view instead of timing the client.
 */
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { RequestOptions } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';

/** What a rule does to a request it matches. */
export type Fault =
  | { readonly kind: 'status'; readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly reason?: string; readonly message?: string }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'hang' }
  | { readonly kind: 'drop' }
  | { readonly kind: 'lose-response' }
  | { readonly kind: 'add-headers'; readonly headers: Readonly<Record<string, string>> }
  | { readonly kind: 'drop-headers'; readonly names: readonly string[] };

/** Which requests a rule applies to, and how often. */
export interface FaultRule {
  /** HTTP method (`GET`, `POST`, `PATCH`, ...); any when unset. */
  readonly method?: string;
  /**
   * A string matches the path exactly (without the query); a RegExp is tested on
   * path and query (`/api/v1/namespaces/x/configmaps?watch=true`). Any when unset.
   */
  readonly path?: string | RegExp;
  /** How many matching requests the rule applies to (default 1; `Infinity` for every one). */
  readonly times?: number;
  readonly fault: Fault;
}

/** One added rule: how often it fired, and a way to take it back. */
export interface FaultHandle {
  /** Requests this rule has applied to so far. */
  readonly hits: number;
  /** Stops the rule from applying to further requests. */
  remove(): void;
}

/** One request the proxy received. */
export interface ProxyLogEntry {
  /** Position in arrival order, from 0. */
  readonly seq: number;
  readonly method: string;
  /** Path and query, as the client sent them. */
  readonly path: string;
  /** `Date.now()` when the request arrived (for lower bounds on waits, never for speed). */
  readonly at: number;
  /** The fault applied, or undefined for a request forwarded untouched. */
  readonly fault: Fault['kind'] | undefined;
  /**
   * The status the client received (injected or the apiserver's); undefined
   * when it received none (hang, drop, lose-response) or the answer is still pending.
   */
  status: number | undefined;
  /** The `Content-Type` of the apiserver's answer, when one was forwarded. */
  contentType?: string | undefined;
}

/** A running proxy. */
export interface FaultingProxy {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** A kubeconfig whose current cluster is the proxy (no credentials: the proxy adds them). */
  readonly kubeConfig: k8s.KubeConfig;
  /** Every request so far, in arrival order. */
  readonly log: readonly ProxyLogEntry[];
  /** Adds a rule after the existing ones. */
  inject(rule: FaultRule): FaultHandle;
  /** Removes every rule. */
  clearFaults(): void;
  /** Log entries whose path (without query) is `path`, or matches it when a RegExp (tested on path and query). */
  requestsTo(path: string | RegExp, method?: string): ProxyLogEntry[];
  /** Closes the listener and every connection (hung ones included). */
  stop(): Promise<void>;
}

/** A 429 as API Priority and Fairness sends it; `retryAfter` is the raw header value (omit for none). */
export function throttle(retryAfter?: string): Fault {
  return {
    kind: 'status', status: 429, reason: 'TooManyRequests', message: 'Too many requests, please try again later. (injected)',
    headers: retryAfter === undefined ? {} : { 'retry-after': retryAfter },
  };
}

/** A 5xx (default 500 InternalError), optionally with headers such as `Retry-After`. */
export function serverError(status = 500, headers: Readonly<Record<string, string>> = {}): Fault {
  const reason = status === 503 ? 'ServiceUnavailable' : status === 504 ? 'Timeout' : 'InternalError';
  return { kind: 'status', status, reason, message: `injected ${status}`, headers };
}

interface ActiveRule {
  readonly rule: FaultRule;
  hits: number;
  removed: boolean;
}

/** Starts a proxy in front of the cluster `kubeConfig` points at, on a free loopback port. */
export async function startFaultingProxy(kubeConfig: k8s.KubeConfig): Promise<FaultingProxy> {
  const upstream = await upstreamOf(kubeConfig);
  const rules: ActiveRule[] = [];
  const log: ProxyLogEntry[] = [];
  const sockets = new Set<Socket>();

  const ruleFor = (req: IncomingMessage, url: URL): ActiveRule | undefined => rules.find((r) => !r.removed
    && r.hits < (r.rule.times ?? 1)
    && (r.rule.method === undefined || r.rule.method === req.method)
    && matchesPath(r.rule.path, url));

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const active = ruleFor(req, url);
    if (active) active.hits += 1;
    const entry: ProxyLogEntry = {
      seq: log.length, method: req.method ?? '', path: `${url.pathname}${url.search}`, at: Date.now(), fault: active?.rule.fault.kind, status: undefined,
    };
    log.push(entry);
    void serve(req, res, entry, active?.rule.fault).catch(() => { res.socket?.destroy(); });
  });

  async function serve(req: IncomingMessage, res: ServerResponse, entry: ProxyLogEntry, fault: Fault | undefined): Promise<void> {
    switch (fault?.kind) {
      case 'status': {
        req.resume();
        entry.status = fault.status;
        const body = JSON.stringify({
          kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: fault.status,
          reason: fault.reason ?? String(fault.status), message: fault.message ?? `injected ${fault.status}`,
        });
        res.writeHead(fault.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...fault.headers });
        res.end(body);
        return;
      }
      case 'hang':
        req.resume();
        return;
      case 'drop':
        req.resume();
        req.socket.destroy();
        return;
      case 'delay':
        await sleep(fault.ms);
        forward(req, res, entry, 'answer', {});
        return;
      case 'lose-response':
        forward(req, res, entry, 'lose', {});
        return;
      case 'add-headers':
        forward(req, res, entry, 'answer', fault.headers);
        return;
      case 'drop-headers':
        forward(req, res, entry, 'answer', {}, fault.names);
        return;
      case undefined:
        forward(req, res, entry, 'answer', {});
        return;
    }
  }

  /** Sends the request to the apiserver; `lose` drops the client's connection once the apiserver answered. */
  function forward(req: IncomingMessage, res: ServerResponse, entry: ProxyLogEntry, mode: 'answer' | 'lose',
    extraHeaders: Readonly<Record<string, string>>, dropHeaders: readonly string[] = []): void {
    const headers: OutgoingHttpHeaders = { ...req.headers, ...upstream.headers, host: upstream.url.host };
    const out = httpsRequest({
      protocol: 'https:', hostname: upstream.url.hostname, port: upstream.url.port, method: req.method, path: req.url,
      headers, agent: upstream.agent,
    }, (up) => {
      if (mode === 'lose') {
        up.resume();
        up.on('end', () => res.socket?.destroy());
        return;
      }
      entry.status = up.statusCode ?? 502;
      entry.contentType = up.headers['content-type'];
      const dropped = new Set(dropHeaders.map((h) => h.toLowerCase()));
      const answered = Object.fromEntries(Object.entries(up.headers).filter(([name]) => !dropped.has(name.toLowerCase())));
      res.writeHead(up.statusCode ?? 502, { ...answered, ...extraHeaders });
      up.pipe(res);
    });
    out.on('error', () => {
      if (mode === 'lose' || res.headersSent) {
        res.socket?.destroy();
        return;
      }
      entry.status = 502;
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('faulting proxy: the apiserver is unreachable');
    });
    // A client that goes away before the answer ended (a cancelled watch) ends the upstream request too.
    res.on('close', () => { if (!res.writableFinished) out.destroy(); });
    req.pipe(out);
  }

  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    kubeConfig: proxyKubeConfig(url),
    log,
    inject(rule) {
      const active: ActiveRule = { rule, hits: 0, removed: false };
      rules.push(active);
      return {
        get hits() { return active.hits; },
        remove() { active.removed = true; },
      };
    },
    clearFaults() {
      for (const r of rules) r.removed = true;
      rules.length = 0;
    },
    requestsTo(path, method) {
      return log.filter((e) => (method === undefined || e.method === method)
        && matchesPath(path, new URL(e.path, 'http://proxy')));
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      upstream.agent.destroy();
    },
  };
}

function matchesPath(pattern: string | RegExp | undefined, url: URL): boolean {
  if (pattern === undefined) return true;
  if (typeof pattern === 'string') return url.pathname === pattern;
  return pattern.test(`${url.pathname}${url.search}`);
}

interface Upstream {
  readonly url: URL;
  readonly agent: HttpsAgent;
  /** Credentials for the apiserver (the Authorization header of a token kubeconfig). */
  readonly headers: Readonly<Record<string, string>>;
}

/** The apiserver and credentials of `kubeConfig`'s current context. */
async function upstreamOf(kubeConfig: k8s.KubeConfig): Promise<Upstream> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const opts: RequestOptions = { headers: {} };
  await kubeConfig.applyToHTTPSOptions(opts);
  const agent = new HttpsAgent({
    keepAlive: true, ca: opts.ca, cert: opts.cert, key: opts.key,
    ...(opts.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: opts.rejectUnauthorized }),
  });
  return { url: new URL(cluster.server), agent, headers: { ...(opts.headers as Record<string, string>) } };
}

/** A kubeconfig for the proxy: plain HTTP, no credentials (the proxy adds the cluster's). */
function proxyKubeConfig(url: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    // There is no TLS to verify on plain HTTP, but client-node refuses an http:// server unless this is set.
    clusters: [{ name: 'faulting-proxy', server: url, skipTLSVerify: true }],
    users: [{ name: 'via-proxy' }],
    contexts: [{ name: 'faulting-proxy', cluster: 'faulting-proxy', user: 'via-proxy' }],
    currentContext: 'faulting-proxy',
  });
  return kc;
}
