/**
 * Blob requests: download to a verified file (streamed, capped), small blobs into
 * memory (configs), existence checks, and uploads (existence check first, then
 * POST + monolithic PUT; an existing blob is never sent again).
 */
import { digestFile, writeVerifiedFile } from './blob-file.ts';
import { digestAlgorithm, digestOf } from './digest.ts';
import { DigestMismatchError, NotFoundError, OciError, RegistryError, RegistryUnreachableError, SizeLimitError } from './errors.ts';
import { discard, readBody } from './http-exchange.ts';
import type { Descriptor } from './manifest.ts';
import { formatReference, type OciReference } from './reference.ts';
import { isConnectionError } from './retry.ts';
import { headerValue, type RegistryTransport } from './transport.ts';

/** Options for blob downloads. */
export interface FetchBlobOptions {
  /** Refuse blobs larger than this (before and while downloading). */
  readonly maxBytes?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** What to upload: bytes in memory or a file streamed from disk. */
export type BlobSource = { readonly bytes: Uint8Array } | { readonly file: string };

/** Options for {@link pushBlob}. */
export interface PushBlobOptions {
  /** Precomputed digest and size (saves hashing a file twice). */
  readonly digest?: string | undefined;
  readonly size?: number | undefined;
  /** Called with the bytes of this blob sent so far, its total, and its digest. */
  readonly onProgress?: ((sent: number, total: number, digest: string) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** The outcome of an upload. */
export interface PushedBlob {
  readonly digest: string;
  readonly size: number;
  /** False when the registry already had the blob and nothing was sent. */
  readonly uploaded: boolean;
}

/** Downloads attempted again after the connection broke mid-body. */
const BODY_RETRIES = 2;

/** `blob host/repo@sha256:…` for messages. */
export function blobName(repo: OciReference, digest: string): string {
  return `blob ${formatReference({ host: repo.host, repository: repo.repository })}@${digest}`;
}

/**
 * Streams a blob into `destFile`, verified against the descriptor's digest and size;
 * nothing is left at `destFile` (or beside it) when verification fails.
 */
export async function fetchBlob(transport: RegistryTransport, repo: OciReference, descriptor: Descriptor, destFile: string,
  opts: FetchBlobOptions = {}): Promise<void> {
  const what = blobName(repo, descriptor.digest);
  checkDescriptor(descriptor, opts.maxBytes, what);
  for (let attempt = 0; ; attempt += 1) {
    const res = await transport.request({
      method: 'GET', host: repo.host, repository: repo.repository, path: blobPath(repo, descriptor.digest), what, signal: opts.signal,
    });
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && opts.maxBytes !== undefined && declared > opts.maxBytes) {
      res.body.destroy();
      throw new SizeLimitError(`${what} is ${declared} bytes, over the size limit of ${opts.maxBytes}`, opts.maxBytes);
    }
    try {
      await writeVerifiedFile(res.body, destFile, { digest: descriptor.digest, size: descriptor.size, maxBytes: opts.maxBytes }, what);
      return;
    } catch (err) {
      if (opts.signal?.aborted) {
        const timedOut = (opts.signal.reason as { name?: unknown } | undefined)?.name === 'TimeoutError';
        throw new RegistryUnreachableError(`${what}: the download ${timedOut ? 'timed out' : 'was cancelled'}`);
      }
      // Verification failures and local errors (the destination folder) are final as they are.
      if (err instanceof OciError || !isBodyBreak(err)) throw err;
      if (attempt >= BODY_RETRIES) {
        const code = (err as { code?: unknown }).code;
        throw new RegistryUnreachableError(`${what}: the download broke off (${typeof code === 'string' ? code : 'connection lost'}; ${attempt + 1} attempts)`);
      }
    }
  }
}

/** Downloads a small blob (a config) into memory, verified; `maxBytes` defaults to 4 MiB. */
export async function fetchBlobBytes(transport: RegistryTransport, repo: OciReference, descriptor: Descriptor,
  opts: FetchBlobOptions = {}): Promise<Buffer> {
  const what = blobName(repo, descriptor.digest);
  const limit = opts.maxBytes ?? 4 * 1024 * 1024;
  checkDescriptor(descriptor, limit, what);
  const res = await transport.request({
    method: 'GET', host: repo.host, repository: repo.repository, path: blobPath(repo, descriptor.digest), what, signal: opts.signal,
  });
  // Reading one byte past the size tells "too long" apart from "exactly right".
  const bytes = await readBody(res.body, Math.min(limit, descriptor.size + 1), what).catch((err: unknown) => {
    if (err instanceof SizeLimitError && descriptor.size < limit) {
      throw new DigestMismatchError(`${what}: more bytes arrived than the descriptor's size of ${descriptor.size}`, descriptor.digest);
    }
    throw err;
  });
  const actual = digestOf(bytes, digestAlgorithm(descriptor.digest));
  if (bytes.byteLength !== descriptor.size || actual !== descriptor.digest) {
    throw new DigestMismatchError(`${what}: content (${bytes.byteLength} bytes, ${actual}) does not match the descriptor`, descriptor.digest, actual);
  }
  return bytes;
}

/** True when the repository has the blob (HEAD). */
export async function blobExists(transport: RegistryTransport, repo: OciReference, digest: string,
  opts: { push?: boolean; signal?: AbortSignal | undefined } = {}): Promise<boolean> {
  digestAlgorithm(digest);
  const res = await transport.request({
    method: 'HEAD', host: repo.host, repository: repo.repository, push: opts.push ?? false, path: blobPath(repo, digest),
    what: blobName(repo, digest), signal: opts.signal, allowStatus: [404],
  });
  discard(res.body);
  return res.status !== 404;
}

/** Uploads a blob unless the repository already has it. */
export async function pushBlob(transport: RegistryTransport, repo: OciReference, source: BlobSource,
  opts: PushBlobOptions = {}): Promise<PushedBlob> {
  const { digest, size } = await describe(source, opts);
  const what = blobName(repo, digest);
  if (await blobExists(transport, repo, digest, { push: true, signal: opts.signal })) {
    return { digest, size, uploaded: false };
  }
  const upload = (): Promise<void> => uploadSession(transport, repo, source, { digest, size, what }, opts);
  try {
    await upload();
  } catch (err) {
    // A retried PUT finds its session gone (404) when an earlier attempt completed it
    // and only the answer was lost; after a timeout or 5xx the same may be true. The
    // blob may be there after all: look before failing or uploading again.
    const unsure = err instanceof NotFoundError || err instanceof RegistryUnreachableError
      || (err instanceof RegistryError && err.transient);
    if (!unsure) throw err;
    if (await blobExists(transport, repo, digest, { push: true, signal: opts.signal })) return { digest, size, uploaded: true };
    if (!(err instanceof NotFoundError)) throw err;
    // The session expired or was dropped and the blob is not there: one fresh session.
    await upload();
  }
  return { digest, size, uploaded: true };
}

/** One upload session: POST for a Location, then a monolithic PUT of the whole blob. */
async function uploadSession(transport: RegistryTransport, repo: OciReference, source: BlobSource,
  blob: { digest: string; size: number; what: string }, opts: PushBlobOptions): Promise<void> {
  const { digest, size, what } = blob;
  const start = await transport.request({
    method: 'POST', host: repo.host, repository: repo.repository, push: true, path: `/v2/${repo.repository}/blobs/uploads/`,
    what: `upload of ${what}`, signal: opts.signal,
  });
  discard(start.body);
  const location = headerValue(start.headers.location);
  if (!location) throw new RegistryError(`upload of ${what}: the registry did not say where to upload (no Location)`, start.status);
  // Location may be relative or absolute and may carry its own query (upload state).
  const target = new URL(location, start.url);
  target.searchParams.set('digest', digest);
  const body = 'bytes' in source ? source.bytes : { file: source.file, size };
  const done = await transport.request({
    method: 'PUT', host: repo.host, repository: repo.repository, push: true, path: target.href,
    headers: { 'content-type': 'application/octet-stream' }, body, what: `upload of ${what}`, signal: opts.signal,
    onProgress: (sent) => opts.onProgress?.(sent, size, digest),
  });
  discard(done.body);
  const stored = headerValue(done.headers['docker-content-digest'])?.trim();
  if (stored !== undefined && stored !== '' && stored !== digest) {
    throw new DigestMismatchError(`upload of ${what}: the registry stored ${stored}`, digest, stored);
  }
}

async function describe(source: BlobSource, opts: PushBlobOptions): Promise<{ digest: string; size: number }> {
  if (opts.digest !== undefined && opts.size !== undefined) {
    digestAlgorithm(opts.digest);
    return { digest: opts.digest, size: opts.size };
  }
  if ('bytes' in source) return { digest: digestOf(source.bytes), size: source.bytes.byteLength };
  return digestFile(source.file);
}

function checkDescriptor(descriptor: Descriptor, maxBytes: number | undefined, what: string): void {
  digestAlgorithm(descriptor.digest);
  if (!Number.isSafeInteger(descriptor.size) || descriptor.size < 0) {
    throw new DigestMismatchError(`${what}: the descriptor's size ${descriptor.size} is invalid`, descriptor.digest);
  }
  if (maxBytes !== undefined && descriptor.size > maxBytes) {
    throw new SizeLimitError(`${what} is ${descriptor.size} bytes, over the size limit of ${maxBytes}`, maxBytes);
  }
}

function blobPath(repo: OciReference, digest: string): string {
  return `/v2/${repo.repository}/blobs/${digest}`;
}

/** The body stream ended early or the connection dropped mid-download. */
function isBodyBreak(err: unknown): boolean {
  const message = (err as { message?: unknown }).message;
  return isConnectionError(err) || message === 'aborted';
}
