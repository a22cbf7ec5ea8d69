/**
 * Deterministic tar.gz archives and their safe extraction. Generic: it knows
 * directories, files and limits, nothing of Git, OCI or packages.
 *
 * Writing: the same tree gives byte-identical output, whatever the files' mtimes,
 * owners, creation order or the machine. Entries are sorted by path (byte order),
 * mtime is fixed at 1980-01-01T00:00:00Z, uid/gid are 0 with no user/group names,
 * modes are 0755 for directories and executables and 0644 for every other file,
 * and the gzip header carries no name, no mtime and a fixed OS byte. The tar stream
 * is identical everywhere; the compressed bytes are as stable as the zlib build Node
 * bundles (`process.versions.zlib`): a Node upgrade that changes it may change
 * digests once, which costs one re-stored artifact, never a wrong one.
 *
 * Symlinks are never stored as links (the extractor, ours and the apply
 * controller's, refuses them anyway). A symlink whose real target is a regular
 * file inside the tree, and which the filter admits under both its own and its
 * target's path, is stored as a copy of that file; every other symlink (pointing
 * outside the tree, to a directory, dangling, or at a filtered-out path such as
 * `.git/config`) is skipped and reported in `skipped`. Sockets and FIFOs are skipped.
 *
 * Reading: {@link extractTarGz} (in archive-extract.ts, re-exported here). All work is
 * streamed; no archive is held in memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readFile, readdir, realpath, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Header, Pax } from 'tar';
import { FILE_CONCURRENCY, inOrderAhead, mapBounded } from './concurrency.ts';

/** The fixed mtime of every entry: 1980-01-01T00:00:00Z (older tools dislike 1970). */
export const ARCHIVE_MTIME = new Date(Date.UTC(1980, 0, 1));

/** What {@link createDeterministicTarGz} may consult to leave an entry out. */
export interface EntryInfo {
  readonly isDirectory: boolean;
}

/** Options for {@link createDeterministicTarGz}. */
export interface CreateArchiveOptions {
  /**
   * Called with each entry's path relative to the source directory, `/`-separated,
   * without a trailing slash. Returning false leaves the entry out; for a
   * directory, its whole subtree.
   */
  readonly filter?: (relPath: string, info: EntryInfo) => boolean;
}

/** A symlink or special file that was not archived, and why. */
export interface SkippedEntry {
  readonly path: string;
  readonly reason: string;
}

/** The archive that was written. */
export interface ArchiveResult {
  /** `sha256:<hex>` of the .tar.gz file's bytes. */
  readonly digest: string;
  /** Size of the .tar.gz file in bytes. */
  readonly size: number;
  /** Number of tar entries (files and directories). */
  readonly entries: number;
  readonly skipped: readonly SkippedEntry[];
}

interface PlannedEntry {
  readonly path: string;
  readonly kind: 'file' | 'dir';
  /** Where the content is read from (a symlink's resolved target for copied links). */
  readonly source: string;
  readonly size: number;
  readonly executable: boolean;
}

const BLOCK = 512;
/** Files up to this size are read in one call; larger ones are streamed. */
const SMALL_FILE = 256 * 1024;
const GZIP_LEVEL = 6;
/** Least bytes handed to the gzip stream at once (see {@link gathered}). */
const GZIP_CHUNK = 64 * 1024;
/** Byte 9 of a gzip header names the OS that wrote it; "unknown" keeps output machine-independent. */
const GZIP_OS_UNKNOWN = 0xff;

const toPosix = (p: string): string => (sep === '/' ? p : p.split(sep).join('/'));
const byteOrder = (a: PlannedEntry, b: PlannedEntry): number => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path));

/** True when `target` is `root` itself or below it. */
function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

async function planEntries(srcDir: string, filter: CreateArchiveOptions['filter']): Promise<{ entries: PlannedEntry[]; skipped: SkippedEntry[] }> {
  const realRoot = await realpath(srcDir);
  const admit = filter ?? (() => true);
  const entries: PlannedEntry[] = [];
  const skipped: SkippedEntry[] = [];

  const resolveLink = async (abs: string, rel: string): Promise<void> => {
    let target: string;
    try {
      target = await realpath(abs);
    } catch {
      skipped.push({ path: rel, reason: 'dangling symlink' });
      return;
    }
    if (!isInside(realRoot, target)) {
      skipped.push({ path: rel, reason: 'symlink points outside the tree' });
      return;
    }
    const targetStat = await stat(target);
    if (!targetStat.isFile()) {
      skipped.push({ path: rel, reason: 'symlink does not point at a regular file' });
      return;
    }
    // The target must be admissible itself, or a link could smuggle in `.git/config` or an ignored file.
    if (!admit(toPosix(relative(realRoot, target)), { isDirectory: false })) {
      skipped.push({ path: rel, reason: 'symlink points at an excluded path' });
      return;
    }
    entries.push({ path: rel, kind: 'file', source: target, size: targetStat.size, executable: (targetStat.mode & 0o111) !== 0 });
  };

  const walk = async (absDir: string, relDir: string): Promise<void> => {
    const dirents = await readdir(absDir, { withFileTypes: true });
    const relOf = (name: string): string => (relDir === '' ? name : `${relDir}/${name}`);
    // The folder's admitted files are looked at a few at a time (one at a time, a checkout of thousands of files
    // waited on the thread pool far longer than it worked); everything else goes in order as before.
    const stats = await mapBounded(dirents, FILE_CONCURRENCY, async (dirent) =>
      (dirent.isFile() && admit(relOf(dirent.name), { isDirectory: false }) ? lstat(join(absDir, dirent.name)) : undefined));
    for (const [i, dirent] of dirents.entries()) {
      const abs = join(absDir, dirent.name);
      const rel = relOf(dirent.name);
      if (dirent.isDirectory()) {
        if (!admit(rel, { isDirectory: true })) continue;
        entries.push({ path: rel, kind: 'dir', source: abs, size: 0, executable: true });
        await walk(abs, rel);
      } else if (dirent.isFile()) {
        const st = stats[i];
        if (st === undefined) continue;
        entries.push({ path: rel, kind: 'file', source: abs, size: st.size, executable: (st.mode & 0o111) !== 0 });
      } else if (dirent.isSymbolicLink()) {
        if (admit(rel, { isDirectory: false })) await resolveLink(abs, rel);
      } else {
        skipped.push({ path: rel, reason: 'not a regular file, directory or symlink' });
      }
    }
  };
  await walk(srcDir, '');
  entries.sort(byteOrder);
  return { entries, skipped };
}

function headerBlocks(entry: PlannedEntry): Buffer {
  const path = entry.kind === 'dir' ? `${entry.path}/` : entry.path;
  const header = new Header({
    path,
    mode: entry.kind === 'dir' || entry.executable ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    size: entry.kind === 'dir' ? 0 : entry.size,
    mtime: ARCHIVE_MTIME,
    type: entry.kind === 'dir' ? 'Directory' : 'File',
    uname: '',
    gname: '',
  });
  const block = Buffer.alloc(BLOCK);
  // A path that does not fit the ustar fields gets a PAX header carrying only the path.
  if (!header.encode(block)) return block;
  const pax = new Pax({ path, size: entry.size > 0o77777777777 ? entry.size : undefined });
  return Buffer.concat([pax.encode(), block]);
}

function isSmallFile(entry: PlannedEntry): boolean {
  return entry.kind === 'file' && entry.size > 0 && entry.size <= SMALL_FILE;
}

async function* tarBlocks(entries: readonly PlannedEntry[]): AsyncGenerator<Buffer> {
  // Small files are read a few ahead of the one being archived: the reads overlap instead of waiting on each other.
  const contents = inOrderAhead(entries, FILE_CONCURRENCY, (entry) => (isSmallFile(entry) ? readFile(entry.source) : Promise.resolve(undefined)));
  for (const entry of entries) {
    const { value: content } = await contents.next();
    yield headerBlocks(entry);
    if (entry.kind !== 'file' || entry.size === 0) continue;
    const pad = Buffer.alloc((BLOCK - (entry.size % BLOCK)) % BLOCK);
    if (content !== undefined) {
      // Typical manifests: one read, one chunk with its padding (a stream per file costs more than the file).
      if (content.length !== entry.size) throw new Error(`${entry.path} changed size while it was being archived`);
      yield Buffer.concat([content, pad]);
      continue;
    }
    let read = 0;
    for await (const chunk of createReadStream(entry.source, { start: 0, end: entry.size - 1 }) as AsyncIterable<Buffer>) {
      read += chunk.length;
      yield chunk;
    }
    if (read !== entry.size) throw new Error(`${entry.path} changed size while it was being archived`);
    if (pad.length > 0) yield pad;
  }
  yield Buffer.alloc(2 * BLOCK); // end-of-archive marker
}

/**
 * The blocks gathered into chunks of at least {@link GZIP_CHUNK} bytes. The gzip
 * stream sends each chunk written to it to libuv's thread pool and waits for the
 * answer before the next: a header and a small file at a time, a tree of
 * thousands of files spent most of its packing in those round trips. Deflate's
 * output does not depend on how its input is cut, so the archive's bytes do not
 * change.
 */
async function* gathered(blocks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let size = 0;
  for await (const block of blocks) {
    parts.push(block);
    size += block.length;
    if (size < GZIP_CHUNK) continue;
    yield Buffer.concat(parts, size);
    parts = [];
    size = 0;
  }
  if (size > 0) yield Buffer.concat(parts, size);
}

/**
 * Writes `srcDir` as a deterministic tar.gz to `destFile` (see the module comment
 * for the exact normalization) and returns its sha256 digest and size. On error
 * `destFile` is removed.
 */
export async function createDeterministicTarGz(srcDir: string, destFile: string,
  opts: CreateArchiveOptions = {}): Promise<ArchiveResult> {
  const { entries, skipped } = await planEntries(srcDir, opts.filter);
  const hash = createHash('sha256');
  let size = 0;
  const digestAndFixHeader = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (size <= 9 && size + chunk.length > 9) {
        chunk = Buffer.from(chunk);
        chunk[9 - size] = GZIP_OS_UNKNOWN;
      }
      size += chunk.length;
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipelineAsync(Readable.from(gathered(tarBlocks(entries))), createGzip({ level: GZIP_LEVEL }), digestAndFixHeader,
      createWriteStream(destFile));
  } catch (err) {
    await rm(destFile, { force: true });
    throw err;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size, entries: entries.length, skipped };
}

export {
  DEFAULT_EXTRACT_LIMITS, UnsafeArchiveError, extractTarGz,
  type ExtractLimits, type ExtractResult, type UnsafeArchiveReason,
} from './archive-extract.ts';
