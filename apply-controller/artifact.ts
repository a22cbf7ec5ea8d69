/**
 * The apply controller's artifact cache: downloads a source's artifact over HTTP,
 * checks its sha256 against `status.artifact.digest` before anything is unpacked,
 * and unpacks it (safely, with caps) into a folder named by the digest. A digest
 * that is already unpacked is never downloaded again, so a reconcile of an
 * unchanged source costs no transfer at all.
 *
 * Folders are content-addressed and written atomically (extractTarGz renames a
 * complete temporary folder into place), so a folder that exists is complete.
 * Callers hold a folder with {@link ArtifactCache.withArtifact} while they read
 * it; garbage collection keeps the most recently used folders and never removes
 * one that is held.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat, utimes } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extractTarGz, type ExtractLimits, UnsafeArchiveError } from '../runtime/archive.ts';
import { redactString } from '../runtime/redact.ts';

/** The part of a source's `status.artifact` the cache needs. */
export interface ArtifactRef {
  readonly url: string;
  /** `sha256:<hex>` of the tarball. */
  readonly digest: string;
  /** Size in bytes, as the source published it. */
  readonly size?: number;
}

/** Why an artifact could not be made available. */
export type ArtifactErrorReason = 'DownloadFailed' | 'DigestMismatch' | 'ArtifactTooLarge' | 'UnsafeArchive' | 'InvalidArtifact';

/** An artifact that could not be downloaded, verified or unpacked; nothing of it is left in the cache. */
export class ArtifactError extends Error {
  override readonly name = 'ArtifactError';
  /** CamelCase reason for conditions. */
  readonly reason: ArtifactErrorReason;

  constructor(reason: ArtifactErrorReason, message: string) {
    super(redactString(message));
    this.reason = reason;
  }
}

/** Options for {@link ArtifactCache}. */
export interface ArtifactCacheOptions {
  /** The folder holding one unpacked folder per digest (created when missing). */
  readonly dir: string;
  /** Largest tarball downloaded (default 256 MiB). */
  readonly maxDownloadBytes?: number;
  /** Caps of the unpacked content (see extractTarGz). */
  readonly extractLimits?: ExtractLimits;
  /** Unpacked artifacts kept when not in use (default 32). */
  readonly maxEntries?: number;
  /** Time limit of one download (default 2 minutes). */
  readonly downloadTimeoutMs?: number;
}

/** What the cache did, for metrics and tests. */
export interface ArtifactCacheStats {
  /** Artifacts downloaded (each digest once, unless it was collected and needed again). */
  downloads: number;
  /** Requests served from an unpacked folder without any transfer. */
  hits: number;
  /** Downloads refused (digest mismatch, too large, unsafe archive, HTTP errors). */
  failures: number;
}

const DIGEST = /^sha256:([a-f0-9]{64})$/;

/** Content-addressed, download-once store of unpacked artifacts. */
export class ArtifactCache {
  readonly dir: string;
  readonly stats: ArtifactCacheStats = { downloads: 0, hits: 0, failures: 0 };
  readonly #maxDownload: number;
  readonly #limits: ExtractLimits;
  readonly #maxEntries: number;
  readonly #timeoutMs: number;
  /** Unpacks in progress, by hex digest: concurrent callers share one download. */
  readonly #pending = new Map<string, Promise<string>>();
  /** Folders held by callers right now, by hex digest. */
  readonly #held = new Map<string, number>();

  constructor(options: ArtifactCacheOptions) {
    this.dir = options.dir;
    this.#maxDownload = options.maxDownloadBytes ?? 256 * 1024 * 1024;
    this.#limits = options.extractLimits ?? {};
    this.#maxEntries = Math.max(1, options.maxEntries ?? 32);
    this.#timeoutMs = options.downloadTimeoutMs ?? 120_000;
  }

  /**
   * Runs `fn` with the folder the artifact is unpacked in, downloading and
   * unpacking it first unless that was done before. The folder is not collected
   * while `fn` runs. Rejects with {@link ArtifactError} when the artifact cannot
   * be had.
   */
  async withArtifact<T>(artifact: ArtifactRef, fn: (dir: string) => Promise<T>): Promise<T> {
    const hex = DIGEST.exec(artifact.digest)?.[1];
    if (!hex) throw new ArtifactError('InvalidArtifact', `the artifact digest ${JSON.stringify(artifact.digest)} is not sha256:<hex>`);
    this.#held.set(hex, (this.#held.get(hex) ?? 0) + 1);
    try {
      const dir = await this.#ensure(hex, artifact);
      return await fn(dir);
    } finally {
      const left = (this.#held.get(hex) ?? 1) - 1;
      if (left <= 0) this.#held.delete(hex);
      else this.#held.set(hex, left);
    }
  }

  /** True when the artifact with this digest is unpacked in the cache. */
  async has(digest: string): Promise<boolean> {
    const hex = DIGEST.exec(digest)?.[1];
    return hex !== undefined && await isDirectory(join(this.dir, hex));
  }

  async #ensure(hex: string, artifact: ArtifactRef): Promise<string> {
    const target = join(this.dir, hex);
    if (await isDirectory(target)) {
      this.stats.hits += 1;
      // The folder's mtime is its last use, for garbage collection.
      const now = new Date();
      await utimes(target, now, now).catch(() => undefined);
      return target;
    }
    let pending = this.#pending.get(hex);
    if (!pending) {
      pending = this.#download(hex, artifact, target).finally(() => this.#pending.delete(hex));
      this.#pending.set(hex, pending);
    }
    return pending;
  }

  async #download(hex: string, artifact: ArtifactRef, target: string): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, `.download-${hex}-${randomBytes(4).toString('hex')}.tar.gz`);
    try {
      await this.#fetchVerified(artifact, hex, file);
      try {
        await extractTarGz(file, target, this.#limits);
      } catch (err) {
        if (err instanceof UnsafeArchiveError) throw new ArtifactError('UnsafeArchive', `the artifact is not a safe archive: ${err.message}`);
        throw err;
      }
      this.stats.downloads += 1;
    } catch (err) {
      this.stats.failures += 1;
      throw err;
    } finally {
      await rm(file, { force: true });
    }
    await this.#collect().catch(() => undefined);
    return target;
  }

  /** Streams the tarball to `file`, hashing it; refuses oversize bodies and a digest other than the expected one. */
  async #fetchVerified(artifact: ArtifactRef, hex: string, file: string): Promise<void> {
    let url: URL;
    try {
      url = new URL(artifact.url);
    } catch {
      throw new ArtifactError('InvalidArtifact', 'the artifact URL is not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ArtifactError('InvalidArtifact', `the artifact URL must be http or https, not ${url.protocol}`);
    }
    const where = `${url.origin}${url.pathname}`;
    let res: IncomingMessage;
    try {
      res = await get(url, AbortSignal.timeout(this.#timeoutMs));
    } catch (err) {
      throw new ArtifactError('DownloadFailed', `downloading ${where} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) {
      res.destroy();
      const redirect = status >= 300 && status <= 399 ? ' (redirects are not followed)' : '';
      throw new ArtifactError('DownloadFailed', `downloading ${where} failed: HTTP ${status}${redirect}`);
    }
    const declared = Number(res.headers['content-length'] ?? Number.NaN);
    if (declared > this.#maxDownload) {
      res.destroy();
      throw new ArtifactError('ArtifactTooLarge', `the artifact is ${declared} bytes, more than the limit of ${this.#maxDownload}`);
    }
    const hash = createHash('sha256');
    let size = 0;
    const max = this.#maxDownload;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > max) {
          done(new ArtifactError('ArtifactTooLarge', `the artifact is larger than the limit of ${max} bytes`));
          return;
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(res, meter, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
    } catch (err) {
      if (err instanceof ArtifactError) throw err;
      throw new ArtifactError('DownloadFailed', `downloading ${where} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const actual = hash.digest('hex');
    if (actual !== hex) {
      throw new ArtifactError('DigestMismatch', `the artifact at ${where} has digest sha256:${actual}, not the published sha256:${hex}`);
    }
  }

  /** Removes the least recently used folders beyond the limit that nobody holds, and stale downloads. */
  async #collect(): Promise<void> {
    const entries: { hex: string; mtimeMs: number }[] = [];
    for (const name of await readdir(this.dir)) {
      const path = join(this.dir, name);
      const st = await stat(path).catch(() => undefined);
      if (!st) continue;
      if (/^[a-f0-9]{64}$/.test(name) && st.isDirectory()) entries.push({ hex: name, mtimeMs: st.mtimeMs });
      // Leftovers of a crashed process: downloads and extraction folders older than an hour.
      else if (name.startsWith('.') && Date.now() - st.mtimeMs > 3_600_000) await rm(path, { recursive: true, force: true });
    }
    entries.sort((a, b) => b.mtimeMs - a.mtimeMs);
    for (const entry of entries.slice(this.#maxEntries)) {
      if (this.#held.has(entry.hex) || this.#pending.has(entry.hex)) continue;
      await rm(join(this.dir, entry.hex), { recursive: true, force: true });
    }
  }
}

/**
 * GETs `url` with node:http or node:https (keep-alive agents), resolving once
 * the response's headers arrive; `signal` aborts the request and its body.
 * Redirects are not followed, and no `Accept-Encoding` is sent, so the bytes
 * hashed are the tarball's own. Not `fetch`: Node's fetch parses HTTP with a
 * WebAssembly build of llhttp, compiled in the process at the first download
 * (15 MiB of compiler memory in a profile of the controller), and in a loop of
 * 2,000 small downloads it cost about 2 ms more CPU per download and left the
 * process 25 MiB larger (development notes, session 25).
 */
function get(url: URL, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'GET', signal }, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
