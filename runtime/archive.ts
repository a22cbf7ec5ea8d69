/**
 * Deterministic tar.gz archives and their safe extraction. Generic: it knows
 * directories, files and limits, nothing of Git, OCI or packages.
 *
 * Writing: the same tree gives byte-identical output, whatever the files' mtimes,
 * owners, creation order or the machine. Entries are sorted by path (byte order),
 * mtime is fixed at 1980-01-01T00:00:00Z, uid/gid are 0 with no user/group names,
 * modes are 0755 for directories and executables and 0644 for every other file,
 * and the gzip header carries no name, no mtime and a fixed OS byte.
 *
 * Symlinks are never stored as links (the extractor, ours and the apply
 * controller's, refuses them anyway). A symlink whose real target is a regular
 * file inside the tree, and which the filter admits under both its own and its
 * target's path, is stored as a copy of that file; every other symlink (pointing
 * outside the tree, to a directory, dangling, or at a filtered-out path such as
 * `.git/config`) is skipped and reported in `skipped`. Sockets and FIFOs are skipped.
 *
 * Reading: see {@link extractTarGz}; all work is streamed, no archive is held in memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { Readable, Transform, pipeline } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { Header, Pax } from 'tar';

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
const GZIP_LEVEL = 6;
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
    for (const dirent of await readdir(absDir, { withFileTypes: true })) {
      const abs = join(absDir, dirent.name);
      const rel = relDir === '' ? dirent.name : `${relDir}/${dirent.name}`;
      if (dirent.isDirectory()) {
        if (!admit(rel, { isDirectory: true })) continue;
        entries.push({ path: rel, kind: 'dir', source: abs, size: 0, executable: true });
        await walk(abs, rel);
      } else if (dirent.isFile()) {
        if (!admit(rel, { isDirectory: false })) continue;
        const st = await lstat(abs);
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

async function* tarBlocks(entries: readonly PlannedEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield headerBlocks(entry);
    if (entry.kind !== 'file' || entry.size === 0) continue;
    let read = 0;
    for await (const chunk of createReadStream(entry.source, { start: 0, end: entry.size - 1 }) as AsyncIterable<Buffer>) {
      read += chunk.length;
      yield chunk;
    }
    if (read !== entry.size) throw new Error(`${entry.path} changed size while it was being archived`);
    const pad = (BLOCK - (entry.size % BLOCK)) % BLOCK;
    if (pad > 0) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(2 * BLOCK); // end-of-archive marker
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
      if (size === 0 && chunk.length > 9) {
        chunk = Buffer.from(chunk);
        chunk[9] = GZIP_OS_UNKNOWN;
      }
      size += chunk.length;
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipelineAsync(Readable.from(tarBlocks(entries)), createGzip({ level: GZIP_LEVEL }), digestAndFixHeader,
      createWriteStream(destFile));
  } catch (err) {
    await rm(destFile, { force: true });
    throw err;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size, entries: entries.length, skipped };
}

// ---------------------------------------------------------------------------
// Extraction

/** Why {@link extractTarGz} refused an archive. */
export type UnsafeArchiveReason =
  | 'absolute-path' | 'path-traversal' | 'invalid-path' | 'link' | 'device' | 'fifo' | 'unsupported-type'
  | 'duplicate-entry' | 'too-large' | 'too-many-entries' | 'decompression-bomb' | 'malformed';

/** An archive refused by {@link extractTarGz}; nothing of it is left on disk. */
export class UnsafeArchiveError extends Error {
  override readonly name = 'UnsafeArchiveError';
  readonly reason: UnsafeArchiveReason;
  /** The offending entry's path as written in the archive, when one is to blame. */
  readonly entry: string | undefined;

  constructor(reason: UnsafeArchiveReason, detail: string, entry?: string) {
    super(entry === undefined ? `unsafe archive (${reason}): ${detail}` : `unsafe archive (${reason}): entry ${JSON.stringify(entry)}: ${detail}`);
    this.reason = reason;
    this.entry = entry;
  }
}

/** Limits for {@link extractTarGz}. */
export interface ExtractLimits {
  /** Maximum total size of the extracted files' contents. Default 256 MiB. */
  readonly maxBytes?: number;
  /** Maximum number of entries (files and directories). Default 20 000. */
  readonly maxEntries?: number;
}

/** What {@link extractTarGz} wrote. */
export interface ExtractResult {
  readonly files: number;
  readonly directories: number;
  readonly bytes: number;
}

/** The limits used when {@link ExtractLimits} leaves one out. */
export const DEFAULT_EXTRACT_LIMITS = { maxBytes: 256 * 1024 * 1024, maxEntries: 20_000 } as const;

const MAX_META_BYTES = 1024 * 1024;
/** Entries that describe the next entry rather than being one. A long link path only ever precedes a (refused) link. */
const METADATA_TYPES: ReadonlySet<string> = new Set(['ExtendedHeader', 'GlobalExtendedHeader', 'NextFileHasLongPath',
  'OldGnuLongPath', 'NextFileHasLongLinkpath']);

/** Reads exact byte counts from an async iterable of buffers. */
class ByteReader {
  readonly #source: AsyncIterator<Buffer>;
  #buffer: Buffer = Buffer.alloc(0);
  #ended = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    if (this.#ended) return false;
    const next = await this.#source.next();
    if (next.done) {
      this.#ended = true;
      return false;
    }
    this.#buffer = this.#buffer.length === 0 ? next.value : Buffer.concat([this.#buffer, next.value]);
    return true;
  }

  /** Exactly `n` bytes, or undefined at a clean end of input; throws when the input ends midway. */
  async exact(n: number): Promise<Buffer | undefined> {
    while (this.#buffer.length < n) {
      if (!(await this.#fill())) {
        if (this.#buffer.length === 0) return undefined;
        throw new UnsafeArchiveError('malformed', 'archive is truncated');
      }
    }
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    return out;
  }

  /** Between 1 and `max` bytes; throws when the input ends. */
  async upTo(max: number): Promise<Buffer> {
    if (this.#buffer.length === 0 && !(await this.#fill())) throw new UnsafeArchiveError('malformed', 'archive is truncated');
    const out = this.#buffer.subarray(0, Math.min(max, this.#buffer.length));
    this.#buffer = this.#buffer.subarray(out.length);
    return out;
  }
}

/** Validates an entry path and returns its segments (empty for the root itself). */
function safeSegments(path: string): string[] {
  if (path.includes('\0') || path.includes('\\')) throw new UnsafeArchiveError('invalid-path', 'path contains NUL or a backslash', path);
  if (path.startsWith('/')) throw new UnsafeArchiveError('absolute-path', 'absolute paths are not allowed', path);
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw new UnsafeArchiveError('path-traversal', '".." segments are not allowed', path);
  return segments;
}

const REFUSED_TYPES: Readonly<Record<string, [UnsafeArchiveReason, string]>> = {
  Link: ['link', 'hard links are not allowed'],
  SymbolicLink: ['link', 'symbolic links are not allowed'],
  CharacterDevice: ['device', 'character devices are not allowed'],
  BlockDevice: ['device', 'block devices are not allowed'],
  FIFO: ['fifo', 'FIFOs are not allowed'],
};

async function* countDecompressed(source: AsyncIterable<Buffer>, max: number): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (total > max) throw new UnsafeArchiveError('decompression-bomb', `decompressed stream exceeds ${max} bytes`);
    yield chunk;
  }
}

async function writeEntries(reader: ByteReader, root: string, maxBytes: number, maxEntries: number): Promise<ExtractResult> {
  const result = { files: 0, directories: 0, bytes: 0 };
  const seen = new Set<string>();
  let pax: Pax | undefined;
  let longName: string | undefined;
  for (;;) {
    const block = await reader.exact(BLOCK);
    if (block === undefined) throw new UnsafeArchiveError('malformed', 'archive ends without an end-of-archive marker');
    // PAX fields are applied here, not by Header: its decode prefixes the ustar prefix to a PAX path.
    const header = new Header(block);
    if (header.nullBlock) break;
    if (!header.cksumValid) throw new UnsafeArchiveError('malformed', 'tar header checksum mismatch');
    const type = header.type;
    const isMeta = METADATA_TYPES.has(type);
    const size = (isMeta ? undefined : pax?.size) ?? header.size ?? 0;
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (isMeta) {
      if (size > MAX_META_BYTES) throw new UnsafeArchiveError('malformed', `metadata entry of ${size} bytes`);
      const body = (await reader.exact(padded)) ?? Buffer.alloc(0);
      if (body.length < padded) throw new UnsafeArchiveError('malformed', 'archive is truncated');
      const text = body.subarray(0, size).toString('utf8');
      // Global headers are read past: letting them change later entries' sizes or paths only invites confusion.
      if (type === 'ExtendedHeader') pax = Pax.parse(text, pax);
      else if (type === 'NextFileHasLongPath' || type === 'OldGnuLongPath') longName = text.replace(/\0.*$/s, '');
      continue;
    }
    const name = pax?.path ?? longName ?? header.path ?? '';
    pax = undefined;
    longName = undefined;
    const refused = REFUSED_TYPES[type];
    if (refused) throw new UnsafeArchiveError(refused[0], refused[1], name);
    const isFile = type === 'File' || type === 'OldFile' || type === 'ContiguousFile';
    if (!isFile && type !== 'Directory') throw new UnsafeArchiveError('unsupported-type', `entry type ${type} is not supported`, name);
    const segments = safeSegments(name);
    if (result.files + result.directories + 1 > maxEntries) {
      throw new UnsafeArchiveError('too-many-entries', `more than ${maxEntries} entries`, name);
    }
    if (segments.length === 0) {
      if (isFile) throw new UnsafeArchiveError('invalid-path', 'a file entry needs a name', name);
      continue;
    }
    const target = join(root, ...segments);
    if (type === 'Directory') {
      await mkdir(target, { recursive: true, mode: 0o755 }).catch((err: unknown) => { throw conflict(err, name); });
      result.directories += 1;
      continue;
    }
    if (result.bytes + size > maxBytes) throw new UnsafeArchiveError('too-large', `contents exceed ${maxBytes} bytes`, name);
    const key = segments.join('/');
    if (seen.has(key)) throw new UnsafeArchiveError('duplicate-entry', 'the same path appears twice', name);
    seen.add(key);
    await mkdir(dirname(target), { recursive: true, mode: 0o755 }).catch((err: unknown) => { throw conflict(err, name); });
    const mode = ((header.mode ?? 0o644) & 0o111) !== 0 ? 0o755 : 0o644;
    const handle = await open(target, 'wx', mode).catch((err: unknown) => { throw conflict(err, name); });
    try {
      let remaining = size;
      while (remaining > 0) {
        const chunk = await reader.upTo(remaining);
        await handle.write(chunk);
        remaining -= chunk.length;
      }
      await handle.chmod(mode); // the umask must not decide
    } finally {
      await handle.close();
    }
    if (padded > size && (await reader.exact(padded - size)) === undefined) throw new UnsafeArchiveError('malformed', 'archive is truncated');
    result.files += 1;
    result.bytes += size;
  }
  return result;
}

function conflict(err: unknown, name: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
    return new UnsafeArchiveError('duplicate-entry', 'a file and a directory share this path', name);
  }
  return err instanceof Error ? err : new Error(String(err));
}

async function isMissingOrEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/**
 * Extracts a tar.gz into `destDir`, which must not exist or be an empty directory.
 * Only regular files and directories are accepted; any entry with `..` segments,
 * an absolute path, a link (hard or symbolic), a device or a FIFO, or an archive
 * whose contents exceed `maxBytes` or `maxEntries` (or whose gzip stream inflates
 * beyond what those limits allow) is refused with an {@link UnsafeArchiveError}.
 * Extraction happens in a temporary directory next to `destDir` that is renamed
 * into place only on success and removed on any failure, so a refused archive
 * leaves nothing behind. File modes are normalized to 0644 / 0755; owners and
 * mtimes are not restored.
 */
export async function extractTarGz(file: string, destDir: string, limits: ExtractLimits = {}): Promise<ExtractResult> {
  const maxBytes = limits.maxBytes ?? DEFAULT_EXTRACT_LIMITS.maxBytes;
  const maxEntries = limits.maxEntries ?? DEFAULT_EXTRACT_LIMITS.maxEntries;
  if (!(await isMissingOrEmptyDir(destDir))) throw new Error(`extraction target ${destDir} is not empty`);
  // Headers, PAX records and padding on top of the contents; anything beyond is a bomb.
  const maxStream = maxBytes + (maxEntries + 4) * 3 * BLOCK + MAX_META_BYTES;
  const tmp = await mkdtemp(join(dirname(destDir), `.${basename(destDir)}.extract-`));
  const source = pipeline(createReadStream(file), createGunzip(), () => undefined);
  try {
    const reader = new ByteReader(countDecompressed(source as AsyncIterable<Buffer>, maxStream));
    let result: ExtractResult;
    try {
      result = await writeEntries(reader, tmp, maxBytes, maxEntries);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (typeof code === 'string' && code.startsWith('Z_')) throw new UnsafeArchiveError('malformed', `not a valid gzip stream (${code})`);
      throw err;
    }
    await rename(tmp, destDir); // replaces an empty directory, fails on a non-empty one
    return result;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    source.destroy();
  }
}
