/**
 * `trellis ui`'s HTTP server: the browser files, a JSON API over the user's
 * cluster, and a Server-Sent Events stream that tells the page when something
 * it shows changed. Every request goes through the guard (guard.ts) first.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';
import { getRevision } from '../../apply-controller/index.ts';
import { KubeApiError } from '../../runtime/kube-transport.ts';
import { errorMessage } from '../../runtime/redact.ts';
import { connect, type KubeFlags } from '../../cli/kube.ts';
import { CliError } from '../../cli/package/errors.ts';
import { isAction, parseActionInput, performAction, planDiff } from './actions.ts';
import { readWebAssets } from './assets.ts';
import { ClusterState, SOURCE_KINDS } from './cluster-state.ts';
import { CONTENT_TYPES } from './content-types.ts';
import { allowedHosts, checkRequest } from './guard.ts';
import { diffRevisions } from './history.ts';
import { readPackageDetail } from './package-detail.ts';
import { conditionViews, sourceRow } from './summaries.ts';

/** Options of {@link startUiServer}. */
export interface UiServerOptions {
  readonly kube: KubeFlags;
  /** Default 127.0.0.1. */
  readonly address?: string;
  /** Default 9999; 0 picks a free port. */
  readonly port?: number;
  readonly log?: (line: string) => void;
}

/** A running dashboard. */
export interface UiServer {
  /** `http://host:port/#token=…`: the address to open, with the session token (in the fragment, which browsers never send). */
  readonly url: string;
  readonly port: number;
  /** The session token: only whoever started the server (and its terminal) knows it. */
  readonly token: string;
  close(): Promise<void>;
}

/** A request the API refuses, with its status code. */
class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const MAX_BODY = 16 * 1024;

function checkName(...names: string[]): void {
  for (const n of names) if (!NAME.test(n)) throw new HttpError(400, `not a valid name: ${JSON.stringify(n)}`);
}

function send(res: ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
      + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 'request body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
}

/** Starts the dashboard: informers first (so the first page is complete), then the listener. */
export async function startUiServer(opts: UiServerOptions): Promise<UiServer> {
  const target = connect(opts.kube);
  const log = opts.log ?? (() => undefined);
  const token = randomBytes(32).toString('base64url');
  const state = new ClusterState({ client: target.client, defaultNamespace: target.namespace, onError: (err) => log(`watch: ${errorMessage(err)}`) });
  await state.start();
  const assets = await readWebAssets();
  const context = {
    context: target.kubeConfig.getCurrentContext(),
    cluster: target.kubeConfig.getCurrentCluster()?.server ?? '',
    user: target.kubeConfig.getCurrentUser()?.name ?? '',
  };
  let hosts = new Set<string>();
  const streams = new Set<ServerResponse>();

  const api = async (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> => {
    const parts = path.split('/').slice(2).map(decodeURIComponent);
    const [section, a, b, c, d, e] = parts;
    if (req.method === 'GET' && section === 'overview' && parts.length === 1) return sendJson(res, 200, { ...state.overview(), ...context });
    if (req.method === 'GET' && section === 'events' && parts.length === 1) return openStream(req, res);
    if (section === 'packages' && a !== undefined && b !== undefined) {
      checkName(a, b);
      if (req.method === 'GET' && parts.length === 3) {
        const detail = await readPackageDetail(target.client, a, b, state.eventsOf(a, b));
        return detail ? sendJson(res, 200, detail) : sendJson(res, 404, { error: `package ${a}/${b} not found` });
      }
      if (req.method === 'GET' && c === 'plan' && parts.length === 4) return sendJson(res, 200, await planDiff(opts.kube, a, b));
      if (req.method === 'GET' && c === 'diff' && parts.length === 4) return sendJson(res, 200, await revisionDiff(a, b, query));
      if (req.method === 'POST' && c === 'actions' && d !== undefined && e === undefined) {
        if (!isAction(d)) throw new HttpError(404, `no action ${d}`);
        const input = parseActionInput(d, await readJson(req));
        const result = await performAction(opts.kube, d, a, b, input);
        log(`${result.ok ? 'done' : 'failed'}: ${result.command}`);
        return sendJson(res, result.ok ? 200 : 409, result);
      }
    }
    if (req.method === 'GET' && section === 'sources' && a !== undefined && b !== undefined && c !== undefined && parts.length === 4) {
      if (!(SOURCE_KINDS as readonly string[]).includes(a)) throw new HttpError(404, `no source kind ${a}`);
      checkName(b, c);
      const source = state.source(a, b, c);
      if (!source) return sendJson(res, 404, { error: `${a} ${b}/${c} not found` });
      const users = state.overview().packages.filter((p) => p.source.kind === a && p.source.namespace === b && p.source.name === c);
      return sendJson(res, 200, { summary: sourceRow(source, users.map((p) => `${p.namespace}/${p.name}`)), conditions: conditionViews(source.status?.conditions) });
    }
    throw new HttpError(404, `no such API: ${req.method ?? ''} ${path}`);
  };

  const revisionDiff = async (namespace: string, name: string, query: URLSearchParams): Promise<unknown> => {
    const from = Number(query.get('from'));
    const to = Number(query.get('to'));
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || to < 1) throw new HttpError(400, 'from and to must be revision numbers');
    const [x, y] = await Promise.all([getRevision(target.client, namespace, name, from), getRevision(target.client, namespace, name, to)]);
    if (!x || !y) throw new HttpError(404, `revision ${!x ? from : to} of ${namespace}/${name} not found`);
    return diffRevisions(x, y);
  };

  const openStream = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    const push = (changed: readonly string[]): void => {
      res.write(`event: overview\ndata: ${JSON.stringify({ changed, overview: { ...state.overview(), ...context } })}\n\n`);
    };
    push([]);
    const unsubscribe = state.subscribe(push);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 20_000);
    streams.add(res);
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const refusal = checkRequest({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers }, hosts, token);
    if (refusal) return sendJson(res, refusal.status, { error: refusal.reason });
    const url = new URL(req.url ?? '/', 'http://ui.invalid');
    if (url.pathname.startsWith('/api/')) return api(req, res, url.pathname, url.searchParams);
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' });
    const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
    const body = assets.get(name);
    if (body === undefined || name.includes('/')) return send(res, 404, 'not found\n', 'text/plain; charset=utf-8');
    return send(res, 200, body, CONTENT_TYPES[extname(name)] ?? 'application/octet-stream');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : err instanceof KubeApiError ? err.statusCode
        : err instanceof CliError ? 400 : 500;
      if (status >= 500) log(`error: ${errorMessage(err)}`);
      if (!res.headersSent) sendJson(res, status, { error: errorMessage(err) });
      else res.end();
    });
  });
  const address = opts.address ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 9999, address, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHosts({ address, port });
  const shown = address.includes(':') ? `[${address}]` : address === '0.0.0.0' ? '127.0.0.1' : address;
  return {
    url: `http://${shown}:${port}/#token=${token}`,
    port,
    token,
    async close() {
      for (const s of streams) s.end();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await state.stop();
    },
  };
}
