/**
 * Plain JSON reads from the apiserver. The typed clients of @kubernetes/client-node
 * turn timestamps into Date objects (and drop fields they do not know), while a
 * watch delivers the raw JSON; reading lists raw too keeps every object the node
 * caches in one form, so "is the status already right" compares like with like.
 */
import { request, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** An HTTP error answer from the apiserver. */
export class KubeRequestError extends Error {
  override readonly name = 'KubeRequestError';
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** GETs `path` (with `query`) and parses the JSON answer. */
export async function getJson<T>(kc: KubeConfig, path: string, query: Readonly<Record<string, string>> = {},
  opts: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(cluster.server + path);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  // Adds the CA, the client credentials (token header or certificate) and an agent.
  const connection: RequestOptions = { headers: { accept: 'application/json' } };
  await kc.applyToHTTPSOptions(connection);
  return new Promise<T>((resolve, reject) => {
    const req = request(url, { ...connection, method: 'GET', timeout: timeoutMs, signal: opts.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          reject(new KubeRequestError(status, `GET ${url.pathname}: HTTP ${status} ${statusMessage(text)}`));
          return;
        }
        try {
          resolve(JSON.parse(text) as T);
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url.pathname}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

function statusMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message : '';
  } catch {
    return '';
  }
}

/** The HTTP status of an error from this module or from a typed client call, if it has one. */
export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, statusCode } = err as { code?: unknown; statusCode?: unknown };
  if (typeof code === 'number') return code;
  if (typeof statusCode === 'number') return statusCode;
  return undefined;
}

/**
 * A short description of an error for a log line: the status and the apiserver's
 * own message, never a request, its headers or a whole response.
 */
export function describeError(err: unknown): string {
  const status = httpStatusOf(err);
  const body = (err as { body?: unknown } | null)?.body;
  const parsed = typeof body === 'string' ? statusMessage(body) : (body as { message?: unknown } | undefined)?.message;
  const fromServer = typeof parsed === 'string' && parsed ? parsed : undefined;
  const message = fromServer ?? (err instanceof Error ? err.message.split('\n')[0] ?? err.name : String(err));
  return status === undefined ? message : `HTTP ${status}: ${message.slice(0, 300)}`;
}
