/**
 * How a PackageRevision holds its objects. Per phase, the exact objects applied
 * form a canonical JSON array; a small revision keeps it compressed (brotli;
 * gzip in records of earlier versions), sealed with the revision key (seal.ts)
 * and base64-encoded inline (`spec.phases[].objects`), a large one in
 * RevisionSlices (plan.ts decides, chunk.ts cuts). A content hash over the
 * phases (keyed: an HMAC) lets the controller tell whether a revision already
 * records what it is about to apply, and lets a reader check that what it read
 * back is exactly what was written. Pure; no API calls.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, brotliCompressSync, brotliDecompressSync, constants as zlibConstants, gunzipSync, type BrotliOptions } from 'node:zlib';
import type { PackageRevisionPhaseRecord } from '../api.ts';
import { canonicalJSON } from '../bundle/canonical.ts';
import type { KubeObject } from '../bundle/object.ts';
import { CorruptRevisionError } from './errors.ts';
import type { RevisionKey } from './keys.ts';
import { keyedHash, openBytes, sealBytes } from './seal.ts';

export { CorruptRevisionError } from './errors.ts';

/** The objects of one phase, in apply order. */
export interface RevisionPhase {
  readonly name: string;
  readonly objects: readonly KubeObject[];
  /**
   * The canonical JSON text of each object, in order, when the caller computed
   * them once ({@link withObjectTexts}): hashing, inline encoding and slicing
   * then read them instead of serializing every object again.
   */
  readonly texts?: readonly string[];
}

/** The canonical JSON text of each object of `phase`, in order. */
export function objectTexts(phase: RevisionPhase): readonly string[] {
  return phase.texts ?? phase.objects.map((object) => canonicalJSON(object));
}

/** `phases` with each object's canonical text computed once, for the steps that hash, encode and slice them. */
export function withObjectTexts(phases: readonly RevisionPhase[]): RevisionPhase[] {
  return phases.map((phase) => ({ name: phase.name, objects: phase.objects, texts: objectTexts(phase) }));
}

/** The canonical JSON array text of a phase's objects. */
function phaseText(phase: RevisionPhase): string {
  return `[${objectTexts(phase).join(',')}]`;
}

/** Phases encoded inline for `spec.phases`, with their total compressed size and content hash. */
export interface EncodedPhases {
  readonly phases: PackageRevisionPhaseRecord[];
  /** Total compressed bytes (before base64). */
  readonly size: number;
  /** The keyed content hash ({@link keyedContentHash}) of the phases' names and objects. */
  readonly contentHash: string;
}

/**
 * The default cap on what one PackageRevision records, inline and in slices
 * together: 64 MB compressed. Far beyond a sensible package; it keeps one
 * runaway package from filling etcd.
 */
export const DEFAULT_REVISION_SIZE_LIMIT = 64_000_000;

/**
 * Brotli at quality 1. A record is compressed on the apply path of every new
 * revision and read back rarely (rollback, recovery, diff). On the bench's
 * ConfigMaps (700 KB runs) quality 1 takes half the CPU of gzip at its fastest
 * level, 11.6 ms against 23.3 ms per 1,000 objects, for output 4 % smaller
 * (0.337 of the text against 0.350), and decompresses as fast. zlib's zstd
 * would be faster still, but Node 24 calls it experimental.
 */
const BROTLI_QUALITY = 1;

/**
 * Brotli's window, fixed so that the first byte of every stream we write is
 * known: with a window of 2^22 its low four bits are 0xb, while a gzip stream
 * starts with 0x1f. That byte tells the records written before brotli from
 * the ones after. (The bytes are authenticated by the seal before they are
 * decompressed, so nobody else picks the decoder.)
 */
const BROTLI_WINDOW_BITS = 22;

/** gzip's first two bytes. */
const GZIP_MAGIC = [0x1f, 0x8b] as const;

/** A package whose objects do not fit in what a PackageRevision may record. */
export class RevisionTooLargeError extends Error {
  override readonly name = 'RevisionTooLargeError';
  /** Compressed bytes the objects take. */
  readonly size: number;
  /** The limit they exceed. */
  readonly limit: number;

  constructor(size: number, limit: number, message?: string) {
    super(message ?? `the package's objects take ${size} bytes compressed, more than the ${limit} bytes a PackageRevision can record; split the package into smaller ones`);
    this.size = size;
    this.limit = limit;
  }
}

/** `sha256:<hex>` of a text or bytes. */
export function sha256Of(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The brotli options every new record is compressed with (see {@link BROTLI_QUALITY}). */
function brotliOptions(size: number): BrotliOptions {
  return {
    params: {
      [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [zlibConstants.BROTLI_PARAM_LGWIN]: BROTLI_WINDOW_BITS,
      [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_TEXT,
      [zlibConstants.BROTLI_PARAM_SIZE_HINT]: size,
    },
  };
}

const brotliCompressAsync = promisify(brotliCompress) as (bytes: Buffer, options: BrotliOptions) => Promise<Buffer>;

/** A text compressed as every new record is (brotli, see {@link BROTLI_QUALITY}). */
export function compressText(text: string): Buffer {
  const bytes = Buffer.from(text);
  return brotliCompressSync(bytes, brotliOptions(bytes.length));
}

/**
 * {@link compressText} on libuv's thread pool: the same bytes, while the
 * event loop goes on (several slices of a large revision compress at once).
 */
export function compressTextAsync(text: string): Promise<Buffer> {
  return compressBytesAsync(Buffer.from(text));
}

/** {@link compressTextAsync} of a text already encoded as UTF-8. */
export function compressBytesAsync(bytes: Buffer): Promise<Buffer> {
  return brotliCompressAsync(bytes, brotliOptions(bytes.length));
}

/** The text of compressed record bytes: gzip (records written before brotli) or brotli, told apart by the first byte. */
export function decompressText(bytes: Buffer): string {
  const gzip = bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
  return (gzip ? gunzipSync(bytes) : brotliDecompressSync(bytes)).toString('utf8');
}

/** A text compressed and sealed with `key`: the bytes a record stores. */
export function sealText(key: RevisionKey, text: string): Buffer {
  return sealBytes(key, compressText(text));
}

/** {@link sealText} of a text already encoded as UTF-8, with the compression on the thread pool ({@link compressBytesAsync}). */
export async function sealUtf8Async(key: RevisionKey, bytes: Buffer): Promise<Buffer> {
  return sealBytes(key, await compressBytesAsync(bytes));
}

/**
 * The text inside base64 of a blob `key` sealed (compressed inside); `what`
 * names it in the error: RevisionTamperedError when it does not authenticate,
 * {@link CorruptRevisionError} when it cannot be decompressed.
 */
export function openText(key: RevisionKey, data: string, what: string): string {
  const compressed = openBytes(key, Buffer.from(data, 'base64'), what);
  try {
    return decompressText(compressed);
  } catch (err) {
    throw new CorruptRevisionError(`${what}: the objects cannot be decoded: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The objects of a canonical JSON array text, checked to be `count` of them. */
export function parseObjects(text: string, count: number, what: string): KubeObject[] {
  let objects: unknown;
  try {
    objects = JSON.parse(text);
  } catch (err) {
    throw new CorruptRevisionError(`${what}: the objects are not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!Array.isArray(objects) || objects.length !== count) throw new CorruptRevisionError(`${what}: expected ${count} objects`);
  return objects as KubeObject[];
}

/**
 * `sha256:<hex>` of what a revision records: phase names and objects, in
 * order. Kept in memory only: what a revision shows is {@link keyedContentHash}.
 */
export function contentHashOf(phases: readonly RevisionPhase[]): string {
  // Object by object: joining a large phase into one text first cost several times the hashing itself.
  return hashPhases(phases.map((phase) => ({ name: phase.name, pieces: objectTexts(phase) })));
}

/** The content hash a revision records: the HMAC of {@link contentHashOf} under the revision key. */
export function keyedContentHash(key: RevisionKey, plainContentHash: string): string {
  return keyedHash(key, 'content', plainContentHash);
}

/**
 * One phase as canonical JSON array texts, in order (a phase stored in several
 * slices has several): strings, or their UTF-8 bytes (`Buffer`).
 */
export interface PhaseTexts<Text extends string | Buffer = string> {
  readonly name: string;
  readonly texts: readonly Text[];
}

/**
 * The same hash as {@link contentHashOf}, computed from the canonical JSON
 * arrays as stored: the objects are never serialized again. The canonical text
 * of `{name, objects}` is `{"name":…,"objects":[…]}` (keys sorted), and the
 * objects of consecutive arrays join with a comma.
 */
export function contentHashOfTexts(phases: readonly PhaseTexts<string | Buffer>[]): string {
  return hashPhases(phases.map((phase) => ({ name: phase.name, pieces: phase.texts.map((text) => (typeof text === 'string' ? text.slice(1, -1) : text.subarray(1, -1))) })));
}

/**
 * `sha256:<hex>` of `[{"name":…,"objects":[…]},…]`, each phase's array written
 * from `pieces`: runs of its objects' canonical texts without the brackets,
 * joined with commas (empty runs add nothing).
 */
function hashPhases(phases: readonly { readonly name: string; readonly pieces: readonly (string | Buffer)[] }[]): string {
  const hash = createHash('sha256');
  hash.update('[');
  phases.forEach((phase, i) => {
    hash.update(`${i > 0 ? ',' : ''}{"name":${JSON.stringify(phase.name)},"objects":[`);
    let first = true;
    for (const piece of phase.pieces) {
      if (piece.length === 0) continue;
      if (!first) hash.update(',');
      hash.update(piece);
      first = false;
    }
    hash.update(']}');
  });
  hash.update(']');
  return `sha256:${hash.digest('hex')}`;
}

/** Compresses and seals each phase inline; throws {@link RevisionTooLargeError} beyond `limit` stored bytes. */
export function encodePhases(phases: readonly RevisionPhase[], key: RevisionKey, limit = DEFAULT_REVISION_SIZE_LIMIT): EncodedPhases {
  let size = 0;
  const texts: PhaseTexts[] = [];
  const records = phases.map((phase) => {
    // Canonical JSON: the same objects always give the same bytes.
    const text = phaseText(phase);
    texts.push({ name: phase.name, texts: [text] });
    const sealed = sealText(key, text);
    size += sealed.length;
    return { name: phase.name, objects: sealed.toString('base64'), count: phase.objects.length };
  });
  if (size > limit) throw new RevisionTooLargeError(size, limit);
  return { phases: records, size, contentHash: keyedContentHash(key, contentHashOfTexts(texts)) };
}

/**
 * The phases of an inline revision with their objects, as they were applied,
 * opened with the key that sealed them. This checks each blob, not the
 * revision: restores use `readRevisionPhases` (read.ts), which verifies the
 * signature and content hash too, and reads RevisionSlices.
 */
export function decodePhases(records: readonly PackageRevisionPhaseRecord[], key: RevisionKey): RevisionPhase[] {
  return records.map((record) => {
    if (record.objects === undefined) {
      if (record.count === 0 && (record.slices ?? []).length === 0) return { name: record.name, objects: [] };
      throw new CorruptRevisionError(`phase ${record.name}: the objects are in RevisionSlices; read them with readRevisionPhases`);
    }
    return { name: record.name, objects: parseObjects(openText(key, record.objects, `phase ${record.name}`), record.count, `phase ${record.name}`) };
  });
}
