/**
 * Image layers as reproducible tar.gz files. A layer is a list of entries
 * (directories, files, symlinks) with explicit modes and owners; the writer sorts
 * them by path, adds the parent directories a path needs, fixes every mtime, leaves
 * user and group names empty, and gzips without a name or timestamp, so one list
 * always gives the same bytes (for one zlib build: see docs/development-notes.md).
 *
 * The digest of the compressed file is the layer's blob digest; the digest of the
 * tar stream before compression is its `diff_id` in the image config.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Header, Pax } from 'tar';

/** One entry of a layer. Paths are relative to the image root, `/`-separated, without a leading `/`. */
export type LayerEntry =
  | { readonly type: 'dir'; readonly path: string; readonly mode: number; readonly uid?: number; readonly gid?: number }
  | {
    readonly type: 'file'; readonly path: string; readonly mode: number; readonly uid?: number; readonly gid?: number;
    /** Content: a file on disk (read when the layer is written) or bytes. */
    readonly source: { readonly file: string; readonly size: number } | { readonly bytes: Uint8Array };
  }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string; readonly uid?: number; readonly gid?: number };

/** A written layer. */
export interface WrittenLayer {
  readonly file: string;
  /** `sha256:` of the compressed file: the blob digest. */
  readonly digest: string;
  /** Size of the compressed file. */
  readonly size: number;
  /** `sha256:` of the uncompressed tar stream: the image config's diff_id. */
  readonly diffId: string;
  readonly uncompressedSize: number;
  readonly entries: number;
}

/** Options of {@link writeLayer}. */
export interface WriteLayerOptions {
  /** Seconds since the epoch for every entry's mtime (SOURCE_DATE_EPOCH). */
  readonly mtime: number;
  /** zlib level (default 9: the layer is written once and pulled many times). */
  readonly level?: number;
}

/** Raised for entries that cannot be put in a layer (bad paths, duplicates). */
export class LayerEntryError extends Error {
  override readonly name = 'LayerEntryError';
}

const BLOCK = 512;
const GZIP_OS_UNKNOWN = 0xff;
const DIR_MODE = 0o755;

/** Checks and normalizes an entry path: relative, no empty, `.` or `..` segments. */
export function normalizeEntryPath(path: string): string {
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  const segments = trimmed.split('/');
  if (trimmed === '' || segments.some((s) => s === '' || s === '.' || s === '..') || trimmed.includes('\0')) {
    throw new LayerEntryError(`invalid layer path ${JSON.stringify(path)}`);
  }
  return trimmed;
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * The entries in writing order: validated, sorted by path, with a directory entry
 * (0755, root) for every parent that has none. Throws on a path given twice.
 */
export function planLayer(entries: readonly LayerEntry[]): LayerEntry[] {
  const byPath = new Map<string, LayerEntry>();
  for (const entry of entries) {
    const path = normalizeEntryPath(entry.path);
    if (byPath.has(path)) throw new LayerEntryError(`layer path ${path} is given twice`);
    byPath.set(path, { ...entry, path });
  }
  for (const path of [...byPath.keys()]) {
    const segments = path.split('/');
    for (let i = 1; i < segments.length; i += 1) {
      const parent = segments.slice(0, i).join('/');
      const existing = byPath.get(parent);
      if (existing === undefined) byPath.set(parent, { type: 'dir', path: parent, mode: DIR_MODE });
      else if (existing.type !== 'dir') throw new LayerEntryError(`${parent} is a ${existing.type} but ${path} is below it`);
    }
  }
  return [...byPath.values()].sort((a, b) => byteOrder(a.path, b.path));
}

function contentSize(entry: LayerEntry): number {
  if (entry.type !== 'file') return 0;
  return 'bytes' in entry.source ? entry.source.bytes.byteLength : entry.source.size;
}

function headerBlocks(entry: LayerEntry, mtime: Date): Buffer {
  const path = entry.type === 'dir' ? `${entry.path}/` : entry.path;
  const linkpath = entry.type === 'symlink' ? entry.target : '';
  const size = contentSize(entry);
  const header = new Header({
    path, linkpath, size, mtime,
    mode: entry.type === 'symlink' ? 0o777 : entry.mode & 0o7777,
    uid: entry.uid ?? 0, gid: entry.gid ?? 0, uname: '', gname: '',
    type: entry.type === 'dir' ? 'Directory' : entry.type === 'file' ? 'File' : 'SymbolicLink',
  });
  const block = Buffer.alloc(BLOCK);
  if (!header.encode(block)) return block;
  // Long paths or link targets ride in a PAX header (no times in it: they would vary nothing, but keep it minimal).
  const pax = new Pax({
    path, ...(linkpath.length > 0 ? { linkpath } : {}), ...(size > 0o77777777777 ? { size } : {}),
  });
  return Buffer.concat([pax.encode(), block]);
}

async function* tarBlocks(entries: readonly LayerEntry[], mtime: Date): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield headerBlocks(entry, mtime);
    if (entry.type !== 'file') continue;
    const size = contentSize(entry);
    if ('bytes' in entry.source) {
      yield Buffer.from(entry.source.bytes);
    } else if (size > 0) {
      let read = 0;
      for await (const chunk of createReadStream(entry.source.file, { start: 0, end: size - 1 }) as AsyncIterable<Buffer>) {
        read += chunk.length;
        yield chunk;
      }
      if (read !== size) throw new LayerEntryError(`${entry.source.file} changed size while the layer was written`);
    }
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad > 0) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** A pass-through that hashes and counts what flows through it. */
function digester(fixGzipHeader: boolean): { stream: Transform; result: () => { digest: string; size: number } } {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      // Byte 9 of a gzip header names the writer's OS: "unknown" keeps layers machine-independent.
      if (fixGzipHeader && size <= 9 && size + chunk.length > 9) {
        chunk = Buffer.from(chunk);
        chunk[9 - size] = GZIP_OS_UNKNOWN;
      }
      size += chunk.length;
      hash.update(chunk);
      done(null, chunk);
    },
  });
  return { stream, result: () => ({ digest: `sha256:${hash.digest('hex')}`, size }) };
}

/** Writes `entries` as a reproducible tar.gz layer to `destFile`. */
export async function writeLayer(entries: readonly LayerEntry[], destFile: string, opts: WriteLayerOptions): Promise<WrittenLayer> {
  if (!Number.isSafeInteger(opts.mtime) || opts.mtime < 0) throw new LayerEntryError(`invalid layer mtime ${opts.mtime}`);
  const planned = planLayer(entries);
  const tar = digester(false);
  const gz = digester(true);
  try {
    await pipeline(Readable.from(tarBlocks(planned, new Date(opts.mtime * 1000))), tar.stream,
      createGzip({ level: opts.level ?? 9 }), gz.stream, createWriteStream(destFile));
  } catch (err) {
    await rm(destFile, { force: true });
    throw err;
  }
  const raw = tar.result();
  const compressed = gz.result();
  return {
    file: destFile, digest: compressed.digest, size: compressed.size, diffId: raw.digest, uncompressedSize: raw.size,
    entries: planned.length,
  };
}

/** Options of {@link entriesFromTree}. */
export interface TreeOptions {
  /** Where the tree goes in the image (`usr/local/bin`); default the root. */
  readonly prefix?: string;
  /** Leaves a path (relative to the tree) out; for a directory, its subtree. */
  readonly exclude?: (relPath: string, isDirectory: boolean) => boolean;
}

/**
 * The entries of a folder on disk: directories, regular files and symlinks with
 * their permission bits, owned by root. Anything else (sockets, devices) is refused.
 */
export async function entriesFromTree(dir: string, opts: TreeOptions = {}): Promise<LayerEntry[]> {
  const prefix = opts.prefix !== undefined && opts.prefix !== '' ? `${normalizeEntryPath(opts.prefix)}/` : '';
  const out: LayerEntry[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    const names = (await readdir(abs)).sort(byteOrder);
    for (const name of names) {
      const childAbs = join(abs, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(childAbs);
      if (opts.exclude?.(childRel, st.isDirectory())) continue;
      const path = `${prefix}${childRel}`;
      if (st.isDirectory()) {
        out.push({ type: 'dir', path, mode: st.mode & 0o7777 });
        await walk(childAbs, childRel);
      } else if (st.isFile()) {
        out.push({ type: 'file', path, mode: st.mode & 0o7777, source: { file: childAbs, size: st.size } });
      } else if (st.isSymbolicLink()) {
        out.push({ type: 'symlink', path, target: await readlink(childAbs) });
      } else {
        throw new LayerEntryError(`${childAbs} is not a directory, regular file or symlink`);
      }
    }
  };
  await walk(dir, '');
  return out;
}

/** A file entry whose content is `text`. */
export function textEntry(path: string, text: string, mode = 0o644): LayerEntry {
  return { type: 'file', path, mode, source: { bytes: new TextEncoder().encode(text) } };
}
