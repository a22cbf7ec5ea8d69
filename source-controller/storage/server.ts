/**
 * The artifact HTTP server: streams stored tarballs at
 * `/<kind>/<namespace>/<name>/<hex sha256>.tar.gz` (GET and HEAD) and answers 404
 * to anything else. The path is matched against the storage's own patterns before
 * any decoding, so `..`, `%2e%2e`, `//`, absolute-form targets and symlinks never
 * reach the file system. Artifacts are content-addressed, so the ETag is the
 * digest and responses are immutable.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { ARTIFACT_FILE, SEGMENT, digestHex, type ArtifactStorage } from './storage.ts';

/** Options for {@link startArtifactServer}. */
export interface ArtifactServerOptions {
  readonly storage: ArtifactStorage;
  /** `host:port` to listen on; port 0 picks a free one. Default `127.0.0.1:0`. */
  readonly address?: string | undefined;
  /**
   * How clients reach this server, used in artifact URLs: `host[:port]` or a full
   * `http(s)://host[:port][/prefix]` (e.g. the in-cluster Service name). Default:
   * the address actually listened on.
   */
  readonly advertisedAddress?: string | undefined;
}

/** A running artifact server. */
export interface ArtifactServer {
  /** `http://<listen host>:<port>`: where this process can reach the server. */
  readonly url: string;
  readonly port: number;
  /** Base of the URLs handed out in `status.artifact.url`. */
  readonly advertisedUrl: string;
  /** The URL clients download an artifact from. */
  urlFor(kind: string, namespace: string, name: string, digest: string): string;
  /** Stops listening and closes open connections. */
  stop(): Promise<void>;
}

/** Splits `host:port` / `[v6]:port`. */
export function parseListenAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new Error(`invalid listen address ${JSON.stringify(address)} (want host:port)`);
  return { host: m[1] ?? m[2] ?? '', port };
}

/** The base URL for an advertised address (`host[:port]` or a URL), without a trailing slash. */
export function advertisedBaseUrl(advertised: string): string {
  const withScheme = /^https?:\/\//i.test(advertised) ? advertised : `http://${advertised}`;
  const url = new URL(withScheme);
  if (url.username || url.password || url.search || url.hash) throw new Error(`invalid advertised address ${JSON.stringify(advertised)}`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** The artifact a request path names, or undefined when it names nothing we serve. */
export function parseArtifactPath(rawUrl: string): { kind: string; namespace: string; name: string; hex: string } | undefined {
  if (!rawUrl.startsWith('/')) return undefined; // absolute-form or asterisk targets
  const path = rawUrl.split('?', 1)[0] ?? '';
  // Our names never need escaping; any escape is someone trying to smuggle a `.` or `/`.
  if (path.includes('%') || path.includes('\\')) return undefined;
  const parts = path.slice(1).split('/');
  if (parts.length !== 4) return undefined;
  const [kind = '', namespace = '', name = '', file = ''] = parts;
  const hex = ARTIFACT_FILE.exec(file)?.[1];
  if (!hex || !SEGMENT.test(kind) || !SEGMENT.test(namespace) || !SEGMENT.test(name)) return undefined;
  return { kind, namespace, name, hex };
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'content-length': '10' });
  res.end('not found\n');
}

async function serveArtifact(storage: ArtifactStorage, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-length': '0' });
    res.end();
    return;
  }
  const target = parseArtifactPath(req.url ?? '');
  if (!target) return notFound(res);
  // O_NOFOLLOW: a symlink planted in the storage folder is not followed.
  const handle = await open(storage.pathFor(target.kind, target.namespace, target.name, target.hex),
    constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => undefined);
  if (!handle) return notFound(res);
  try {
    const st = await handle.stat();
    if (!st.isFile()) return notFound(res);
    const etag = `"sha256:${target.hex}"`;
    const headers = {
      'content-type': 'application/gzip',
      'content-length': String(st.size),
      etag,
      'cache-control': 'public, max-age=31536000, immutable',
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag });
      res.end();
      return;
    }
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await pipeline(handle.createReadStream({ autoClose: false }), res);
  } finally {
    await handle.close();
  }
}

/** Starts the artifact server for `opts.storage`. */
export async function startArtifactServer(opts: ArtifactServerOptions): Promise<ArtifactServer> {
  const { host, port: wanted } = parseListenAddress(opts.address ?? '127.0.0.1:0');
  const server = createServer((req, res) => {
    serveArtifact(opts.storage, req, res).catch(() => {
      // A client that went away mid-download, or a file collected meanwhile: end this response only.
      if (!res.headersSent) notFound(res);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(wanted, host, () => { server.off('error', reject); resolve(); });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const advertisedUrl = advertisedBaseUrl(opts.advertisedAddress ?? url);
  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    advertisedUrl,
    urlFor: (kind, namespace, name, digest) =>
      `${advertisedUrl}/${opts.storage.relativeDir(kind, namespace, name)}/${digestHex(digest)}.tar.gz`,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
