/**
 * The controllers' HTTP endpoints: `/healthz` (the process is alive),
 * `/readyz` (a pluggable check, e.g. caches synced) and `/metrics`
 * (Prometheus text format).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Options for {@link startHttpServer}. */
export interface HttpServerOptions {
  /** `host:port`, `:port` (all interfaces) or a port number; port 0 picks a free one. */
  readonly listen: string | number;
  /** Registry served at /metrics (omit to serve no metrics: 404). */
  readonly registry?: Registry;
  /** Readiness check for /readyz (default: always ready). */
  readonly ready?: () => boolean | Promise<boolean>;
  /** Liveness check for /healthz (default: always healthy). */
  readonly healthy?: () => boolean | Promise<boolean>;
}

/** A running endpoint server. */
export interface HttpEndpoints {
  /** The port actually bound. */
  readonly port: number;
  /** `http://host:port` for clients. */
  readonly url: string;
  /** Stops accepting connections and closes open ones. */
  close(): Promise<void>;
}

/** Splits a listen address (`127.0.0.1:8080`, `:8080`, `8080`, `[::1]:8080`) into host and port. */
export function parseListenAddress(listen: string | number): { host: string | undefined; port: number } {
  if (typeof listen === 'number') return { host: undefined, port: listen };
  const m = /^(?:\[([^\]]+)\]|([^:]*))?:?(\d+)$/.exec(listen.trim());
  if (!m) throw new RangeError(`invalid listen address "${listen}" (want host:port or :port)`);
  const host = m[1] ?? (m[2] === '' ? undefined : m[2]);
  const port = Number(m[3]);
  if (port > 65535) throw new RangeError(`invalid port in "${listen}"`);
  return { host, port };
}

async function check(fn: (() => boolean | Promise<boolean>) | undefined): Promise<boolean> {
  if (!fn) return true;
  try {
    return await fn();
  } catch {
    return false;
  }
}

/** Starts the endpoint server and resolves once it listens. */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpEndpoints> {
  const { host, port } = parseListenAddress(options.listen);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n');
    const handle = async (): Promise<void> => {
      if (path === '/healthz' || path === '/livez') {
        return (await check(options.healthy)) ? reply(200, 'ok\n') : reply(503, 'unhealthy\n');
      }
      if (path === '/readyz') return (await check(options.ready)) ? reply(200, 'ok\n') : reply(503, 'not ready\n');
      if (path === '/metrics' && options.registry) {
        return reply(200, await options.registry.metrics(), options.registry.contentType);
      }
      reply(404, 'not found\n');
    };
    handle().catch(() => reply(500, 'internal error\n'));
  });
  const { port: bound, url } = await listen(server, host, port);
  return {
    port: bound,
    url,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** Starts `server` on `host:port` (port 0: any free one); resolves with the port it got and its `http://` URL. */
export async function listen(server: Server, host: string | undefined, port: number): Promise<{ port: number; url: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { port: address.port, url: `http://${shownHost}:${address.port}` };
}
