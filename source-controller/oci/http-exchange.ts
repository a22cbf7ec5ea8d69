/**
 * One HTTP request/response exchange over node:http or node:https, without
 * retries or authentication: the transport builds those on top. Request bodies
 * are replayable (bytes, or a file streamed from disk), so a retry can send them
 * again; a file body is never read into memory.
 */
import { createReadStream } from 'node:fs';
import { request as httpRequest, type Agent as HttpAgent, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import type { LookupFunction } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SizeLimitError } from './errors.ts';

/** A request body that can be sent more than once. */
export type RequestBody = Uint8Array | { readonly file: string; readonly size: number };

/** One exchange. */
export interface ExchangeInit {
  readonly method: string;
  readonly headers: OutgoingHttpHeaders;
  readonly body?: RequestBody | undefined;
  readonly agent: HttpAgent | HttpsAgent;
  /** Socket inactivity limit: no byte in or out for this long fails the exchange. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Called with the total bytes of the body sent so far. */
  readonly onProgress?: ((sent: number) => void) | undefined;
  /** Resolves the host for the socket (the source-host policy's checked lookup). */
  readonly lookup?: LookupFunction | undefined;
}

/** The byte length of a body. */
export function bodySize(body: RequestBody): number {
  return body instanceof Uint8Array ? body.byteLength : body.size;
}

/** Sends the request; resolves with the response as soon as its headers arrive. */
export function exchange(url: URL, init: ExchangeInit): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = String(bodySize(init.body));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: init.method, headers, agent: init.agent, signal: init.signal, ...(init.lookup ? { lookup: init.lookup } : {}),
    });
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    req.setTimeout(init.timeoutMs, () => {
      req.destroy(Object.assign(new Error(`no data for ${init.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    });
    // Errors after the response arrived surface on the response stream; keep listening
    // so a late socket error is never an unhandled 'error' event.
    req.on('error', fail);
    req.once('response', (res) => {
      if (settled) { res.resume(); return; }
      settled = true;
      resolve(res);
    });
    const body = init.body;
    if (body === undefined) {
      req.end();
    } else if (body instanceof Uint8Array) {
      req.end(body, () => init.onProgress?.(body.byteLength));
    } else {
      pipeline(createReadStream(body.file), progressCounter(init.onProgress), req).catch((err: unknown) => {
        // A server that answers early (401, 413) closes the upload; its answer wins.
        req.destroy();
        fail(err);
      });
    }
  });
}

function progressCounter(onProgress: ((sent: number) => void) | undefined): Transform {
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      sent += chunk.length;
      onProgress?.(sent);
      callback(null, chunk);
    },
  });
}

/** Reads a whole (small) response body, failing with {@link SizeLimitError} past `limit` bytes. */
export async function readBody(res: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    res.destroy();
    throw new SizeLimitError(`${what} is ${declared} bytes, over the limit of ${limit}`, limit);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      res.destroy();
      throw new SizeLimitError(`${what} is over the limit of ${limit} bytes`, limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Drains a response whose body is not needed, so its connection can be reused. */
export function discard(res: IncomingMessage): void {
  res.resume();
}
