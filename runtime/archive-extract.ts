/**
 * Safe extraction of tar.gz archives (re-exported by runtime/archive.ts): only
 * regular files and directories, every path checked, size and entry caps, a cap on
 * the inflated stream itself, and all-or-nothing on disk. The tar stream is read
 * here, header by header, rather than by a general-purpose unpacker, so that every
 * unexpected entry is an error instead of a warning and gzip is inflated exactly once.
 */
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Header, Pax } from 'tar';
import { FILE_CONCURRENCY, TaskPool } from './concurrency.ts';

const BLOCK = 512;

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

/** Files up to this size are read from the stream whole and written in the background; larger ones are streamed. */
const SMALL_FILE = 1024 * 1024;

async function writeEntries(reader: ByteReader, root: string, maxBytes: number, maxEntries: number): Promise<ExtractResult> {
  const writes = new TaskPool(FILE_CONCURRENCY);
  try {
    const result = await readEntries(reader, root, maxBytes, maxEntries, writes);
    await writes.settle();
    return result;
  } catch (err) {
    // The caller removes the folder next: no write may still be under way.
    await writes.settle().catch(() => undefined);
    throw err;
  }
}

/** Writes `body` to the new file `target` (created exclusively) with exactly `mode`; its folder exists. */
async function writeSmallFile(target: string, body: Buffer, mode: number, name: string): Promise<void> {
  await writeFile(target, body, { flag: 'wx', mode }).catch((err: unknown) => { throw conflict(err, name); });
  await chmod(target, mode); // the umask must not decide
}

async function readEntries(reader: ByteReader, root: string, maxBytes: number, maxEntries: number, writes: TaskPool): Promise<ExtractResult> {
  const result = { files: 0, directories: 0, bytes: 0 };
  const seen = new Set<string>();
  /** Folders made by this extraction (a file's folder is made once, before its first file is written). */
  const folders = new Set<string>();
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
    const mode = ((header.mode ?? 0o644) & 0o111) !== 0 ? 0o755 : 0o644;
    if (size <= SMALL_FILE) {
      const body = size === 0 ? Buffer.alloc(0) : await reader.exact(padded);
      if (body === undefined || body.length < padded) throw new UnsafeArchiveError('malformed', 'archive is truncated');
      // Copied out of the stream's buffer: the write happens while the next entries are read.
      const content = Buffer.from(body.subarray(0, size));
      const folder = dirname(target);
      if (!folders.has(folder)) {
        await mkdir(folder, { recursive: true, mode: 0o755 }).catch((err: unknown) => { throw conflict(err, name); });
        folders.add(folder);
      }
      await writes.run(() => writeSmallFile(target, content, mode, name));
      result.files += 1;
      result.bytes += size;
      continue;
    }
    await mkdir(dirname(target), { recursive: true, mode: 0o755 }).catch((err: unknown) => { throw conflict(err, name); });
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
