/**
 * Who may talk to `trellis ui`. The server acts with the user's own cluster
 * credentials, so a web page in the same browser must not be able to use it:
 *
 * - **DNS rebinding**: a hostile name that resolves to 127.0.0.1 makes the browser
 *   treat the dashboard as that site's origin. Every request must name the server
 *   by an address it was started for in its `Host` header, or it is refused.
 * - **Cross-site requests** (CSRF, cross-origin reads) and other users of the
 *   machine: every API request carries the session token, which only the address
 *   `trellis ui` printed holds (in its fragment, which browsers never send; the
 *   page keeps it in its origin's storage); state-changing requests also need a same-origin `Origin`,
 *   a JSON body (so no HTML form can send one) and the token in a custom header
 *   (so a cross-origin `fetch` needs a CORS preflight, which is never granted).
 *   Browsers' `Sec-Fetch-Site: cross-site` is refused on the API as well.
 *
 * Pure: the server passes the request's method, path and headers.
 */
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** The header state-changing requests carry the session token in. */
export const TOKEN_HEADER = 'x-trellis-token';

/** The query parameter the event stream carries the token in (EventSource cannot set headers). */
export const TOKEN_QUERY = 'token';

/** What a request looks like to the guard. */
export interface GuardedRequest {
  readonly method: string;
  /** The path with its query. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** A refusal: the status code and a one-line reason. */
export interface Refusal {
  readonly status: number;
  readonly reason: string;
}

/** Where the server listens, which decides the host names it answers to. */
export interface ListenAddress {
  readonly address: string;
  readonly port: number;
}

function header(req: GuardedRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `host` with brackets for IPv6, and the port. */
function hostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/**
 * The `Host` values the server answers to: the address it listens on, and the
 * loopback names when it listens on loopback or on every interface. Lower case.
 */
export function allowedHosts(listen: ListenAddress): Set<string> {
  const names = new Set<string>([listen.address]);
  const loopbackOrAny = ['127.0.0.1', '::1', 'localhost', '0.0.0.0', '::'].includes(listen.address) || listen.address.startsWith('127.');
  if (loopbackOrAny) for (const n of ['127.0.0.1', 'localhost', '::1']) names.add(n);
  names.delete('0.0.0.0');
  names.delete('::');
  return new Set([...names].map((n) => hostPort(n, listen.port).toLowerCase()));
}

/** True when `a` and `b` are the same token (constant time). */
export function sameToken(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function isApi(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

/** The refusal for a request, or undefined when it may go on. */
export function checkRequest(req: GuardedRequest, hosts: ReadonlySet<string>, token: string): Refusal | undefined {
  const host = header(req, 'host')?.toLowerCase();
  if (host === undefined || !hosts.has(host)) {
    return { status: 421, reason: `this server answers only to ${[...hosts].join(', ')} (Host: ${host ?? 'none'})` };
  }
  const url = new URL(req.url, 'http://ui.invalid');
  if (!isApi(url.pathname)) return undefined;
  const site = header(req, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return { status: 403, reason: `cross-site requests are refused (Sec-Fetch-Site: ${site})` };
  }
  const given = header(req, TOKEN_HEADER) ?? (req.method === 'GET' ? url.searchParams.get(TOKEN_QUERY) ?? undefined : undefined);
  if (!sameToken(given, token)) return { status: 403, reason: 'missing or wrong session token: reload the dashboard' };
  if (req.method === 'GET' || req.method === 'HEAD') return undefined;
  if (req.method !== 'POST') return { status: 405, reason: `method ${req.method} not allowed` };
  const origin = header(req, 'origin')?.toLowerCase();
  if (origin === undefined || !hosts.has(origin.replace(/^http:\/\//, '')) || !origin.startsWith('http://')) {
    return { status: 403, reason: `cross-origin requests are refused (Origin: ${origin ?? 'none'})` };
  }
  if (header(req, TOKEN_HEADER) === undefined) return { status: 403, reason: `state-changing requests need the ${TOKEN_HEADER} header` };
  const type = header(req, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') return { status: 415, reason: 'state-changing requests must send application/json' };
  return undefined;
}
