/**
 * Artifact storage: content-addressed tarballs on a local disk, one folder per
 * source, `<root>/<kind>/<namespace>/<name>/<hex sha256>.tar.gz`. The rest of the
 * controller only calls this narrow interface.
 *
 * Writes are atomic (a temporary file in the same folder, hashed while copied,
 * fsynced, then renamed), so a reader, the HTTP server or a crash never sees half an
 * artifact. Path segments are validated, so no name can reach outside the root.
 * Methods do not lock on their own; a reconciler runs its storage steps for one
 * source inside {@link ArtifactStorage.withLock}.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A stored artifact. */
export interface StoredArtifact {
  /** `sha256:<hex>` of the file. */
  readonly digest: string;
  readonly size: number;
  /** Absolute path of the file. */
  readonly path: string;
}

/** A stored artifact with its modification time, as {@link ArtifactStorage.list} returns it. */
export interface ListedArtifact extends StoredArtifact {
  readonly mtimeMs: number;
}

/** Options for {@link ArtifactStorage.garbageCollect}. */
export interface RetentionOptions {
  /** How many of the most recently stored artifacts to keep (the current one comes on top). */
  readonly keep: number;
  /** The digest `status.artifact` points at; never removed. */
  readonly current?: string | undefined;
}

/** A kind, namespace, name or digest that cannot be part of an artifact path. */
export class InvalidArtifactPathError extends Error {
  override readonly name = 'InvalidArtifactPathError';
}

/** The stored file's digest differs from the one the caller expected. */
export class ArtifactDigestMismatchError extends Error {
  override readonly name = 'ArtifactDigestMismatchError';
}

/**
 * Kinds, namespaces and names: letters, digits, `.`, `_` and `-`, starting and
 * ending with a letter or digit (so never `.` or `..`). Kubernetes names fit.
 */
export const SEGMENT = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;
/** The file name of a stored artifact. */
export const ARTIFACT_FILE = /^([0-9a-f]{64})\.tar\.gz$/;
const HEX_DIGEST = /^(?:sha256:)?([0-9a-f]{64})$/;
const TEMP_PREFIX = '.tmp-';
/** Temporary files older than this are debris of a crashed write and are collected. */
const STALE_TEMP_MS = 10 * 60 * 1000;

/** The hex part of `sha256:<hex>` (or of a bare hex digest); throws for anything else. */
export function digestHex(digest: string): string {
  const m = HEX_DIGEST.exec(digest);
  if (!m?.[1]) throw new InvalidArtifactPathError(`not a sha256 digest: ${JSON.stringify(digest)}`);
  return m[1];
}

function checkSegment(what: string, value: string): string {
  if (!SEGMENT.test(value)) throw new InvalidArtifactPathError(`invalid ${what} ${JSON.stringify(value)}`);
  return value;
}

/** Streams `file` through sha256; returns `sha256:<hex>` and the size. */
export async function hashFile(file: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** Artifacts of all sources under one root folder. */
export class ArtifactStorage {
  /** The root folder. */
  readonly root: string;
  readonly #locks = new Map<string, Promise<void>>();

  constructor(root: string) {
    this.root = root;
  }

  /** The `<kind>/<namespace>/<name>` path relative to the root (validated). */
  relativeDir(kind: string, namespace: string, name: string): string {
    return `${checkSegment('kind', kind)}/${checkSegment('namespace', namespace)}/${checkSegment('name', name)}`;
  }

  /** The folder of one source's artifacts. */
  dirFor(kind: string, namespace: string, name: string): string {
    return join(this.root, this.relativeDir(kind, namespace, name));
  }

  /** `<kind>/<namespace>/<name>/<hex>.tar.gz`, relative to the root: the artifact's URL path. */
  relativePath(kind: string, namespace: string, name: string, digest: string): string {
    return `${this.relativeDir(kind, namespace, name)}/${digestHex(digest)}.tar.gz`;
  }

  /** `<root>/<kind>/<namespace>/<name>/<hex>.tar.gz`. */
  pathFor(kind: string, namespace: string, name: string, digest: string): string {
    return join(this.root, this.relativePath(kind, namespace, name, digest));
  }

  /**
   * Copies `srcFile` into storage under its sha256, atomically, and returns where
   * it is. Storing an artifact that is already there replaces it with a fresh
   * mtime (it becomes the newest for retention). With `expectedDigest`, a file
   * with another digest is refused and nothing is stored.
   */
  async store(kind: string, namespace: string, name: string, srcFile: string,
    opts: { expectedDigest?: string } = {}): Promise<StoredArtifact> {
    const dir = this.dirFor(kind, namespace, name);
    await mkdir(dir, { recursive: true });
    const temp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    const digesting = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(createReadStream(srcFile), digesting, createWriteStream(temp, { flags: 'wx', mode: 0o644 }));
      const handle = await open(temp, 'r');
      try {
        await handle.sync(); // the rename must not publish data that is still only in the page cache
      } finally {
        await handle.close();
      }
      const digest = `sha256:${hash.digest('hex')}`;
      if (opts.expectedDigest !== undefined && digestHex(opts.expectedDigest) !== digestHex(digest)) {
        throw new ArtifactDigestMismatchError(`artifact digest ${digest} does not match the expected ${opts.expectedDigest}`);
      }
      const path = join(dir, `${digestHex(digest)}.tar.gz`);
      await rename(temp, path);
      return { digest, size, path };
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  /** True when the artifact file exists. */
  async has(kind: string, namespace: string, name: string, digest: string): Promise<boolean> {
    try {
      return (await stat(this.pathFor(kind, namespace, name, digest))).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** True when the artifact exists and its bytes still hash to `digest`. */
  async verify(kind: string, namespace: string, name: string, digest: string): Promise<boolean> {
    if (!(await this.has(kind, namespace, name, digest))) return false;
    const actual = await hashFile(this.pathFor(kind, namespace, name, digest));
    return digestHex(actual.digest) === digestHex(digest);
  }

  /** One source's artifacts, newest first (ties broken by digest, for a stable order). */
  async list(kind: string, namespace: string, name: string): Promise<ListedArtifact[]> {
    const dir = this.dirFor(kind, namespace, name);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: ListedArtifact[] = [];
    for (const file of names) {
      const hex = ARTIFACT_FILE.exec(file)?.[1];
      if (!hex) continue;
      const path = join(dir, file);
      const st = await stat(path).catch(() => undefined); // removed meanwhile
      if (st?.isFile()) out.push({ digest: `sha256:${hex}`, size: st.size, path, mtimeMs: st.mtimeMs });
    }
    return out.sort((a, b) => b.mtimeMs - a.mtimeMs || (a.digest < b.digest ? -1 : 1));
  }

  /**
   * Retention: keeps the `keep` newest artifacts plus `current`, removes the rest
   * and any stale temporary file. Returns the removed digests.
   */
  async garbageCollect(kind: string, namespace: string, name: string, opts: RetentionOptions): Promise<string[]> {
    const current = opts.current === undefined ? undefined : `sha256:${digestHex(opts.current)}`;
    const keep = Math.max(0, Math.floor(opts.keep));
    const removed: string[] = [];
    for (const [i, artifact] of (await this.list(kind, namespace, name)).entries()) {
      if (i < keep || artifact.digest === current) continue;
      await rm(artifact.path, { force: true });
      removed.push(artifact.digest);
    }
    const dir = this.dirFor(kind, namespace, name);
    for (const file of await readdir(dir).catch(() => [] as string[])) {
      if (!file.startsWith(TEMP_PREFIX)) continue;
      const st = await stat(join(dir, file)).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > STALE_TEMP_MS) await rm(join(dir, file), { force: true });
    }
    return removed;
  }

  /** Removes every artifact of one source and its folder (the finalizer's job). */
  async removeAll(kind: string, namespace: string, name: string): Promise<void> {
    await rm(this.dirFor(kind, namespace, name), { recursive: true, force: true });
  }

  /**
   * Runs `fn` while holding this process's lock for one source; callers for the
   * same source run one after another, in call order.
   */
  async withLock<T>(kind: string, namespace: string, name: string, fn: () => Promise<T>): Promise<T> {
    const key = this.relativeDir(kind, namespace, name);
    const previous = this.#locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    const mine = previous.then(() => held);
    this.#locks.set(key, mine);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#locks.get(key) === mine) this.#locks.delete(key);
    }
  }
}
