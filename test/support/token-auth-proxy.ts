/**
 * A small HTTP front for the real registry of a test, for what Distribution 2.8
 * cannot do by itself. It forwards every `/v2/` request to the real registry and,
 * depending on its options:
 *
 * - demands `Authorization: Bearer <token>` the way token-auth registries do
 *   (Docker Hub, GHCR, Harbor): an unauthenticated request gets 401 with
 *   `WWW-Authenticate: Bearer realm=…,service=…,scope=…`, and `GET /token` hands
 *   out short-lived tokens per scope (against Basic credentials when `users` is set);
 * - paginates the tag list by `?n=&last=` with a `Link: <…>; rel="next"` header, as the
 *   distribution spec describes and Distribution 3 does (2.8 ignores `n` and returns
 *   every tag at once): the tags are the real registry's, only the paging is added;
 * - redirects blob downloads to another origin, like storage-backed registries;
 * - answers the next N requests with an injected status (429 with `Retry-After`, 503),
 *   or not at all (a registry that hangs, or a response lost after the registry acted);
 * - stops listening and starts again on the same port (an unreachable registry that
 *   comes back at the same address).
 *
 * Only the token endpoint is answered by this proxy; manifests, blobs and tags always
 * come from the real registry.
 */
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Registry } from '../../hack/registry.ts';

/** Options for {@link startTokenAuthProxy}. */
export interface TokenAuthProxyOptions {
  /** The real registry (plain HTTP) to forward to. */
  readonly upstream: Registry;
  /** `bearer` (default) demands tokens; `none` forwards without auth (for fault injection only). */
  readonly auth?: 'bearer' | 'none';
  /** Credentials the token endpoint accepts; without them it issues tokens to anyone. */
  readonly user?: { readonly username: string; readonly password: string };
  /** Token lifetime announced and enforced (default 300 s). */
  readonly tokenSeconds?: number;
  /** Page the tag list by `n`/`last` with `Link` headers. */
  readonly paginateTags?: boolean;
  /**
   * Answer blob GETs with a 307 to this origin (`http://127.0.0.1:<port>`), the way
   * registries backed by object storage send downloads elsewhere.
   */
  readonly redirectBlobsTo?: string;
}

/** One request the proxy saw. */
export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Milliseconds since the proxy started. */
  readonly at: number;
  /** Whether the request carried an Authorization header. */
  readonly authorization: boolean;
}

/** A token request the proxy answered. */
export interface TokenRequest {
  readonly scopes: readonly string[];
  readonly service: string | null;
  readonly status: number;
}

/** A running proxy. */
export interface TokenAuthProxy {
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  readonly port: number;
  /** Every `/v2/` request, in order. */
  readonly requests: ProxiedRequest[];
  /** Every `/token` request, in order. */
  readonly tokenRequests: TokenRequest[];
  /**
   * Answers the next `count` `/v2/` requests (those with `only.method`, when given)
   * with `status` and `headers` instead of forwarding them. `'hang'` never answers (a
   * hung registry); `'lose-response'` forwards the request to the registry, which acts
   * on it, but never passes the answer back (a response lost on the way). Either way
   * the connection stays open until the client gives up or the proxy stops.
   * `'cut-body'` forwards, passes the headers and half the body on, then drops the
   * connection (a download broken off midway).
   */
  injectStatus(status: InjectedStatus, count: number, headers?: Record<string, string>, only?: { readonly method: string }): void;
  /** Stops listening and drops open connections: the address refuses connections. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

/** What {@link TokenAuthProxy.injectStatus} answers with. */
export type InjectedStatus = number | 'hang' | 'lose-response' | 'cut-body';

const SERVICE = 'trellis-test-registry';

/** Starts the proxy on a free loopback port. */
export async function startTokenAuthProxy(opts: TokenAuthProxyOptions): Promise<TokenAuthProxy> {
  const started = Date.now();
  const tokenSeconds = opts.tokenSeconds ?? 300;
  const tokens = new Map<string, { scopes: Set<string>; expiresAt: number }>();
  const requests: ProxiedRequest[] = [];
  const tokenRequests: TokenRequest[] = [];
  const injected: Array<{ status: InjectedStatus; headers: Record<string, string>; method: string | undefined }> = [];
  const sockets = new Set<Socket>();
  const upstream = new URL(opts.upstream.url);
  let port = 0;

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    const record = (status: number): void => {
      requests.push({ method: req.method ?? '', path: `${url.pathname}${url.search}`, status, at: Date.now() - started, authorization: req.headers.authorization !== undefined });
    };
    if (url.pathname === '/token') {
      serveToken(req, url, res);
      return;
    }
    const at = injected.findIndex((i) => i.method === undefined || i.method === req.method);
    const next = at >= 0 ? injected.splice(at, 1)[0] : undefined;
    if (next?.status === 'lose-response') {
      forward(req, undefined, record);
      return;
    }
    if (next?.status === 'cut-body') {
      forward(req, res, record, true);
      return;
    }
    if (next) {
      req.resume();
      if (next.status === 'hang') {
        record(0);
        return;
      }
      record(next.status);
      res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
      res.end(JSON.stringify({ errors: [{ code: 'INJECTED', message: `injected ${next.status}` }] }));
      return;
    }
    if (opts.auth !== 'none') {
      const scope = requiredScope(req.method ?? 'GET', url.pathname);
      if (!authorized(req.headers.authorization, scope)) {
        req.resume();
        record(401);
        res.writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="${SERVICE}"${scope ? `,scope="${scope}"` : ''}`,
        });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
        return;
      }
    }
    if (opts.redirectBlobsTo && req.method === 'GET' && /\/blobs\/sha256:/.test(url.pathname)) {
      req.resume();
      record(307);
      res.writeHead(307, { location: `${opts.redirectBlobsTo}${url.pathname}` });
      res.end();
      return;
    }
    if (opts.paginateTags && /\/tags\/list$/.test(url.pathname) && req.method === 'GET') {
      void servePagedTags(url, res, record);
      return;
    }
    forward(req, res, record);
  };

  function serveToken(req: IncomingMessage, url: URL, res: ServerResponse): void {
    req.resume();
    const scopes = url.searchParams.getAll('scope');
    const answer = (status: number, body: object): void => {
      tokenRequests.push({ scopes, service: url.searchParams.get('service'), status });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (opts.user) {
      const expected = `Basic ${Buffer.from(`${opts.user.username}:${opts.user.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        answer(401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] });
        return;
      }
    }
    const token = randomBytes(16).toString('hex');
    tokens.set(token, { scopes: new Set(scopes.flatMap(expandScope)), expiresAt: Date.now() + tokenSeconds * 1000 });
    answer(200, { token, expires_in: tokenSeconds, issued_at: new Date().toISOString() });
  }

  function authorized(header: string | undefined, scope: string | undefined): boolean {
    const m = /^Bearer (\S+)$/.exec(header ?? '');
    const grant = m ? tokens.get(m[1]!) : undefined;
    if (!grant || grant.expiresAt < Date.now()) return false;
    return scope === undefined || expandScope(scope).every((s) => grant.scopes.has(s));
  }

  /** Forwards to the registry; without `res`, the registry's answer is recorded and dropped. */
  function forward(req: IncomingMessage, res: ServerResponse | undefined, record: (status: number) => void, cut = false): void {
    const headers = { ...req.headers };
    delete headers.authorization;
    if (opts.upstream.auth) {
      headers.authorization = `Basic ${Buffer.from(`${opts.upstream.auth.username}:${opts.upstream.auth.password}`).toString('base64')}`;
    }
    // The Host header stays the proxy's, so the registry's absolute Location URLs point back here.
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
      record(up.statusCode ?? 502);
      if (!res) {
        up.resume();
        return;
      }
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (!cut) {
        up.pipe(res);
        return;
      }
      const half = Math.floor(Number(up.headers['content-length'] ?? 0) / 2);
      let sent = 0;
      up.on('data', (chunk: Buffer) => {
        if (sent >= half) return;
        res.write(chunk.subarray(0, half - sent));
        sent += Math.min(chunk.length, half - sent);
        if (sent >= half) {
          up.destroy();
          res.socket?.destroy();
        }
      });
    });
    out.on('error', () => {
      record(502);
      if (!res) return;
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(out);
  }

  async function servePagedTags(url: URL, res: ServerResponse, record: (status: number) => void): Promise<void> {
    const all = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const r = httpRequest({ host: upstream.hostname, port: upstream.port, path: url.pathname, headers: upstreamAuth() }, (up) => {
        let body = '';
        up.setEncoding('utf8');
        up.on('data', (c: string) => { body += c; });
        up.on('end', () => resolve({ status: up.statusCode ?? 502, body }));
      });
      r.on('error', reject);
      r.end();
    }).catch(() => ({ status: 502, body: '' }));
    if (all.status !== 200) {
      record(all.status);
      res.writeHead(all.status, { 'content-type': 'application/json' });
      res.end(all.body);
      return;
    }
    const doc = JSON.parse(all.body) as { name: string; tags: string[] | null };
    const sorted = [...(doc.tags ?? [])].sort();
    const last = url.searchParams.get('last');
    const n = Number(url.searchParams.get('n') ?? sorted.length);
    const rest = last === null ? sorted : sorted.filter((t) => t > last);
    const page = rest.slice(0, n);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (rest.length > page.length && page.length > 0) {
      headers.link = `<${url.pathname}?n=${n}&last=${encodeURIComponent(page[page.length - 1]!)}>; rel="next"`;
    }
    record(200);
    res.writeHead(200, headers);
    res.end(JSON.stringify({ name: doc.name, tags: page }));
  }

  function upstreamAuth(): Record<string, string> {
    const a = opts.upstream.auth;
    return a ? { authorization: `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}` } : {};
  }

  let server: Server = createServer(handler);
  const listen = (s: Server, on: number): Promise<number> => new Promise((resolve, reject) => {
    s.on('connection', (socket: Socket) => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)); });
    s.once('error', reject);
    s.listen(on, '127.0.0.1', () => {
      const address = s.address();
      resolve(typeof address === 'object' && address ? address.port : on);
    });
  });
  port = await listen(server, 0);

  return {
    host: `127.0.0.1:${port}`,
    port,
    requests,
    tokenRequests,
    injectStatus(status, count, headers = {}, only) {
      for (let i = 0; i < count; i += 1) injected.push({ status, headers, method: only?.method });
    },
    async stop() {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    async restart() {
      if (server.listening) return;
      server = createServer(handler);
      await listen(server, port);
    },
  };
}

/** The scope a registry request needs: pull for reads, pull+push for writes. */
function requiredScope(method: string, path: string): string | undefined {
  const m = /^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//.exec(path);
  if (!m) return undefined;
  const write = method !== 'GET' && method !== 'HEAD';
  return `repository:${m[1]}:${write ? 'pull,push' : 'pull'}`;
}

/** `repository:a/b:pull,push` -> [`repository:a/b:pull`, `repository:a/b:push`]. */
function expandScope(scope: string): string[] {
  const i = scope.lastIndexOf(':');
  if (i < 0) return [scope];
  return scope.slice(i + 1).split(',').map((action) => `${scope.slice(0, i)}:${action}`);
}
