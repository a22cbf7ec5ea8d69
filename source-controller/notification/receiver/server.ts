/**
 * The webhook server: `POST /hook/<64 hex>` for each Receiver the table holds.
 * In this order, each step answering and stopping on failure, so that nothing
 * unverified costs more than an HMAC over a bounded body and nothing at all
 * touches the cluster:
 *
 * 1. method POST, a path of the table (405 / 404, no body read);
 * 2. the Receiver's request bucket (429 with `Retry-After`);
 * 3. the body, at most `maxBodyBytes` (413);
 * 4. verification by the Receiver's type (401, the same answer for every
 *    failure; the log says which check failed, never a value);
 * 5. the event type (202 without work for others; GitHub's `ping` 200);
 * 6. the reconcile requests, through the Receiver's {@link WorkGate}: 200 with
 *    what was requested, or 202 when merged into a round that follows.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Counter, type Registry } from 'prom-client';
import type { EventRecorder } from '../../../runtime/events.ts';
import { listen, parseListenAddress, type HttpEndpoints } from '../../../runtime/http.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import type { Logger } from '../../../runtime/logging.ts';
import { errorMessage } from '../../../runtime/redact.ts';
import { receiverResource } from '../api.ts';
import { decideEvent } from './events.ts';
import { WorkGate, type Scope } from './gate.ts';
import type { ReceiverEntry, ReceiverTable } from './index-table.ts';
import { RequestLimiter } from './limiter.ts';
import { requestReconciles, type RequestOutcome } from './request.ts';
import { verifyRequest } from './verify.ts';

/** Options of {@link startReceiverServer}. */
export interface ReceiverServerOptions {
  /** `host:port` or `:port`; port 0 picks a free one. */
  readonly listen: string;
  readonly table: ReceiverTable;
  readonly client: KubeClient;
  readonly logger: Logger;
  readonly events?: EventRecorder | undefined;
  /** Registry for `trellis_receiver_requests_total`. */
  readonly registry?: Registry | undefined;
  /** Largest body read (default 1 MiB). */
  readonly maxBodyBytes?: number | undefined;
  /** Requests per second per Receiver before 429 (default 10, burst 20). */
  readonly requestsPerSecond?: number | undefined;
  /** Shortest time between two rounds of reconcile requests of one Receiver (default 1 s). */
  readonly minIntervalMs?: number | undefined;
}

/** A running webhook server: the runtime's endpoint server shape. */
export type ReceiverServer = HttpEndpoints;

/** The default body limit: GitHub push payloads are rarely near it; registry envelopes are a few KiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

const PATH = /^\/hook\/[a-f0-9]{64}$/;

class BodyTooLarge extends Error {}

/** Reads the body, stopping at `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = typeof body === 'string' ? `${body}\n` : `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', ...headers });
  res.end(text);
}

/** Starts the webhook server; resolves once it listens. */
export async function startReceiverServer(options: ReceiverServerOptions): Promise<ReceiverServer> {
  const log = options.logger.child({ component: 'receiver' });
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const qps = options.requestsPerSecond ?? 10;
  const buckets = new Map<string, RequestLimiter>();
  const counter = new Counter({
    name: 'trellis_receiver_requests_total', help: 'Webhook requests answered, by Receiver type and result.',
    labelNames: ['type', 'result'] as const, registers: options.registry ? [options.registry] : [],
  });
  const entries = new Map<string, ReceiverEntry>();
  const gate = new WorkGate<RequestOutcome>(options.minIntervalMs ?? 1000, async (key, scope) => {
    const entry = entries.get(key);
    if (!entry) return { requested: [], missing: [] };
    return act(entry, scope);
  }, (key, err) => log.warn({ receiver: key, err: errorMessage(err) }, 'reconcile request failed'));

  async function act(entry: ReceiverEntry, scope: Scope): Promise<RequestOutcome> {
    const outcome = await requestReconciles(options.client, entry, scope === 'all' ? undefined : scope, new Date().toISOString());
    log.info({ receiver: entry.key, requested: outcome.requested, missing: outcome.missing }, 'reconcile requested');
    const regarding = { apiVersion: receiverResource.apiVersion, kind: receiverResource.kind, metadata: { name: entry.name, namespace: entry.namespace, uid: entry.uid } };
    const note = `requested a reconcile of ${outcome.requested.join(', ') || 'nothing'}${outcome.missing.length > 0 ? `; not found: ${outcome.missing.join(', ')}` : ''}`;
    await options.events?.normal(regarding, 'ReconcileRequested', note, 'Receive');
    return outcome;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const entry = PATH.test(path) ? options.table.lookup(path) : undefined;
    const refuse = (status: number, result: string, text: string, headers: Record<string, string> = {}): void => {
      counter.inc({ type: entry?.type ?? 'unknown', result });
      // An unread body is not drained: close the connection instead of reading what nobody verified.
      reply(res, status, text, { connection: 'close', ...headers });
    };
    if (!entry) return refuse(404, 'not_found', 'not found');
    if (req.method !== 'POST') return refuse(405, 'method_not_allowed', 'method not allowed', { allow: 'POST' });
    let bucket = buckets.get(entry.key);
    if (!bucket) buckets.set(entry.key, bucket = new RequestLimiter(qps, qps * 2));
    const wait = bucket.tryTake();
    if (wait > 0) {
      log.info({ receiver: entry.key }, 'webhook request refused: rate limited');
      return refuse(429, 'rate_limited', 'too many requests', { 'retry-after': String(Math.ceil(wait / 1000)) });
    }
    let body: Buffer;
    try {
      body = await readBody(req, maxBody);
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) throw err;
      log.info({ receiver: entry.key, limit: maxBody }, 'webhook request refused: body too large');
      refuse(413, 'too_large', `body larger than ${maxBody} bytes`);
      res.on('finish', () => req.destroy());
      return;
    }
    const verified = verifyRequest(entry.type, req.headers, body, entry.token);
    if (!verified.ok) {
      log.info({ receiver: entry.key, type: entry.type, why: verified.why, remote: req.socket.remoteAddress }, 'webhook request refused: not verified');
      return refuse(401, 'unauthorized', 'unauthorized');
    }
    const decision = decideEvent(entry.type, entry.events, req.headers, body);
    if (!decision.act) {
      counter.inc({ type: entry.type, result: 'ignored' });
      log.info({ receiver: entry.key, event: decision.event, why: decision.why }, 'webhook request ignored');
      return reply(res, decision.why === 'ping' ? 200 : 202, { ignored: decision.why });
    }
    entries.set(entry.key, entry);
    const submitted = await gate.submit(entry.key, decision.repositories ?? 'all');
    counter.inc({ type: entry.type, result: submitted.now ? 'accepted' : 'queued' });
    if (submitted.now) return reply(res, 200, submitted.result);
    reply(res, 202, { queued: true });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err: errorMessage(err) }, 'webhook request failed');
      counter.inc({ type: 'unknown', result: 'error' });
      reply(res, 500, 'internal error', { connection: 'close' });
    });
  });
  // Slow senders cannot hold the server: whole requests within 30 s, headers within 10 s, 256 connections.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.maxConnections = 256;
  const { host, port } = parseListenAddress(options.listen);
  const bound = await listen(server, host, port);
  return {
    url: bound.url,
    port: bound.port,
    close: () => new Promise<void>((resolve) => {
      gate.close();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
