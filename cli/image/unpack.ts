/**
 * Unpacking image layers into a root filesystem the way a container runtime does:
 * layers in order, each entry over what the lower layers left, with the OCI
 * whiteouts honoured — `.wh.<name>` removes `<name>` of the lower layers,
 * `.wh..wh..opq` empties its directory of the lower layers' entries — and with
 * owners, modes and symlinks as recorded (run as root to keep owners).
 *
 * Paths never leave the root: absolute and `..` paths are refused, and so is an
 * entry that would be written through a symlink. Device nodes and FIFOs are refused.
 */
import { createReadStream } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, readdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Header, Pax } from 'tar';

/** An entry the unpacker refuses; nothing after it is unpacked. */
export class UnpackError extends Error {
  override readonly name = 'UnpackError';
}

const BLOCK = 512;
const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** Reads exact byte counts from a stream of chunks. */
class ChunkReader {
  readonly #source: AsyncIterator<Buffer>;
  #buffered: Buffer[] = [];
  #length = 0;

  constructor(source: AsyncIterable<Buffer>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /** Up to `max` bytes (fewer only at the end of the stream; empty at its end). */
  async readSome(max: number): Promise<Buffer> {
    if (this.#length === 0) {
      const next = await this.#source.next();
      if (next.done) return Buffer.alloc(0);
      this.#buffered.push(next.value);
      this.#length += next.value.length;
    }
    const all = this.#buffered.length === 1 ? this.#buffered[0]! : Buffer.concat(this.#buffered);
    const out = all.subarray(0, max);
    const rest = all.subarray(out.length);
    this.#buffered = rest.length > 0 ? [rest] : [];
    this.#length = rest.length;
    return out;
  }

  /** Exactly `n` bytes; `undefined` at a clean end of stream, an error in the middle of a block. */
  async read(n: number): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const part = await this.readSome(n - got);
      if (part.length === 0) {
        if (got === 0) return undefined;
        throw new UnpackError('the layer ends in the middle of an entry');
      }
      parts.push(part);
      got += part.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}

/** The layer's entries' relative paths checked: no absolute paths, no `..`. */
export function entryPath(raw: string): string {
  const trimmed = raw.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (raw.startsWith('/')) throw new UnpackError(`absolute path ${JSON.stringify(raw)} in a layer`);
  if (trimmed === '' || trimmed === '.') return '';
  const segments = trimmed.split('/');
  if (segments.some((s) => s === '..' || s === '' || s === '.' || s.includes('\0'))) {
    throw new UnpackError(`path ${JSON.stringify(raw)} leaves the root or is not normalized`);
  }
  return trimmed;
}

/** Creates the parents of `rel` inside `root` (0755), refusing to go through a symlink or a file. */
async function ensureParents(root: string, rel: string): Promise<void> {
  const segments = rel.split('/').slice(0, -1);
  let current = root;
  for (const segment of segments) {
    current = join(current, segment);
    const st = await lstat(current).catch(() => undefined);
    if (st === undefined) {
      await mkdir(current, { mode: 0o755 });
    } else if (st.isSymbolicLink()) {
      throw new UnpackError(`${rel}: would be written through the symlink ${current.slice(root.length)}`);
    } else if (!st.isDirectory()) {
      throw new UnpackError(`${rel}: ${current.slice(root.length)} is not a directory`);
    }
  }
}

interface LayerState {
  readonly root: string;
  /** Paths this layer has written so far: whiteouts only remove what lower layers left. */
  readonly written: Set<string>;
}

async function applyWhiteout(state: LayerState, rel: string): Promise<void> {
  const slash = rel.lastIndexOf('/');
  const dir = slash < 0 ? '' : rel.slice(0, slash);
  const name = rel.slice(slash + 1);
  await ensureParents(state.root, rel);
  if (name === OPAQUE) {
    const abs = join(state.root, dir);
    for (const child of await readdir(abs)) {
      const childRel = dir === '' ? child : `${dir}/${child}`;
      if (!state.written.has(childRel)) await rm(join(abs, child), { recursive: true, force: true });
    }
    return;
  }
  const target = `${dir === '' ? '' : `${dir}/`}${name.slice(WHITEOUT.length)}`;
  if (target.endsWith('/') || name.length === WHITEOUT.length) throw new UnpackError(`whiteout ${rel} names nothing`);
  if (!state.written.has(target)) await rm(join(state.root, target), { recursive: true, force: true });
}

/** Removes what is at `abs` unless it is a directory and a directory is wanted. */
async function clearFor(abs: string, wantDirectory: boolean): Promise<boolean> {
  const st = await lstat(abs).catch(() => undefined);
  if (st === undefined) return false;
  if (wantDirectory && st.isDirectory()) return true;
  await rm(abs, { recursive: true, force: true });
  return false;
}

async function writeFileEntry(reader: ChunkReader, abs: string, size: number): Promise<void> {
  const handle = await open(abs, 'wx', 0o600);
  try {
    let left = size;
    while (left > 0) {
      const chunk = await reader.readSome(left);
      if (chunk.length === 0) throw new UnpackError(`${abs}: the layer ends inside the file`);
      await handle.write(chunk);
      left -= chunk.length;
    }
  } finally {
    await handle.close();
  }
}

async function skipBytes(reader: ChunkReader, n: number): Promise<void> {
  let left = n;
  while (left > 0) {
    const chunk = await reader.readSome(left);
    if (chunk.length === 0) throw new UnpackError('the layer ends inside an entry');
    left -= chunk.length;
  }
}

/** Unpacks one layer (gzip-compressed or plain tar) over `root`. */
export async function unpackLayer(root: string, layerFile: string): Promise<{ entries: number }> {
  await mkdir(root, { recursive: true });
  const head = await readHead(layerFile);
  const stream = createReadStream(layerFile);
  const source: AsyncIterable<Buffer> = head[0] === 0x1f && head[1] === 0x8b ? stream.pipe(createGunzip()) : stream;
  const reader = new ChunkReader(source);
  const state: LayerState = { root, written: new Set() };
  let pax: Pax | undefined;
  let entries = 0;
  for (;;) {
    const block = await reader.read(BLOCK);
    if (block === undefined || block.every((b) => b === 0)) break;
    const header = new Header(block, 0, pax);
    if (!header.cksumValid) throw new UnpackError('a tar header has a bad checksum');
    const size = header.size ?? 0;
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (header.type === 'ExtendedHeader') {
      const body = await reader.read(padded);
      pax = Pax.parse((body ?? Buffer.alloc(0)).subarray(0, size).toString('utf8'), pax);
      continue;
    }
    if (header.type === 'GlobalExtendedHeader') {
      await skipBytes(reader, padded);
      continue;
    }
    pax = undefined;
    entries += 1;
    const rel = entryPath(header.path ?? '');
    const base = rel.slice(rel.lastIndexOf('/') + 1);
    if (base.startsWith(WHITEOUT)) {
      await applyWhiteout(state, rel);
      await skipBytes(reader, padded);
      continue;
    }
    if (rel === '') {
      await skipBytes(reader, padded);
      continue;
    }
    await ensureParents(root, rel);
    const abs = join(root, rel);
    const mode = (header.mode ?? 0o644) & 0o7777;
    const mtime = header.mtime ?? new Date(0);
    switch (header.type) {
      case 'Directory':
        if (!(await clearFor(abs, true))) await mkdir(abs, { mode: 0o700 });
        break;
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        await clearFor(abs, false);
        await writeFileEntry(reader, abs, size);
        await skipBytes(reader, padded - size);
        break;
      case 'SymbolicLink':
        await clearFor(abs, false);
        await symlink(header.linkpath ?? '', abs);
        break;
      case 'Link': {
        const target = join(root, entryPath(header.linkpath ?? ''));
        await clearFor(abs, false);
        await link(target, abs);
        break;
      }
      default:
        throw new UnpackError(`${rel}: entries of type ${header.type ?? 'unknown'} are not supported`);
    }
    if (header.type !== 'File' && header.type !== 'OldFile' && header.type !== 'ContiguousFile') await skipBytes(reader, padded);
    await lchown(abs, header.uid ?? 0, header.gid ?? 0);
    if (header.type !== 'SymbolicLink') await chmod(abs, mode);
    await lutimes(abs, mtime, mtime);
    state.written.add(rel);
  }
  return { entries };
}

async function readHead(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(2);
    await handle.read(buf, 0, 2, 0);
    return buf;
  } finally {
    await handle.close();
  }
}

/** Unpacks `layers` in order into `root` (created when missing). */
export async function unpackImage(root: string, layers: readonly string[]): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const layer of layers) await unpackLayer(root, layer);
}
