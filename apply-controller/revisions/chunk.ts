/**
 * Content-defined chunking of one phase's objects into the runs that
 * RevisionSlices hold. The aim is reuse: when a package changes a little, the
 * next revision should cut its objects into mostly the same runs, so that most
 * slices are already stored and only the runs around a change are written.
 *
 * Where a run ends depends only on each object itself, never on its position:
 * after every object we draw a number from the hash of its identity
 * (`<ns>_<name>_<group>_<kind>`) and end the run when that number falls below
 * `bytes / targetBytes`. Runs therefore average `targetBytes` of canonical JSON
 * whatever the objects' sizes, and changing, adding or removing one object can
 * only move the boundary right after that object: the runs on either side of
 * it stay byte-for-byte the same (a fixed count per run would shift every
 * later boundary instead).
 *
 * A run whose compressed size exceeds the slice limit is halved (by object
 * count, recursively) — again a rule that looks only at the run's own content.
 * Runs already stored can be named through `known` (digest → compressed size)
 * so that they are not compressed again; the result is the same as without.
 * No API calls; the runs are compressed a few at a time on libuv's thread pool,
 * which keeps the event loop free and uses a second core for a large revision.
 */
import { createHash } from 'node:crypto';
import type { KubeObject } from '../bundle/object.ts';
import { canonicalJSON } from '../bundle/canonical.ts';
import { objectId } from '../bundle/object-id.ts';
import { mapBounded } from '../../runtime/concurrency.ts';
import { RevisionTooLargeError, sealUtf8Async, sha256Of } from './encode.ts';
import type { RevisionKey } from './keys.ts';
import { keyedHash } from './seal.ts';

/** The default largest compressed size of one slice: far below etcd's 1.5 MiB per object, base64 included. */
export const DEFAULT_SLICE_SIZE_LIMIT = 256 * 1024;

/**
 * The compressed size a single object may take in a slice of its own when it
 * alone exceeds the slice limit: 1 MB is 1.33 MB of base64, still under etcd's
 * request limit. An object larger than this cannot be recorded.
 */
export const MAX_SINGLE_OBJECT_SLICE = 1_000_000;

/** Runs compressed at once: as many as libuv's thread pool has threads by default. */
const COMPRESS_CONCURRENCY = 4;

/** Options of {@link chunkPhase}. */
export interface ChunkOptions {
  /** The revision key: chunks are sealed with it, and their digests are keyed with it. */
  readonly key: RevisionKey;
  /** Largest compressed bytes of one chunk (a single object larger than this gets a chunk of its own). */
  readonly sliceSizeLimit: number;
  /** Average canonical JSON bytes of a chunk before compression (default: `sliceSizeLimit`). */
  readonly targetBytes?: number;
  /** Chunks already stored: digest -> compressed size. Their bytes are not compressed again. */
  readonly known?: ReadonlyMap<string, number>;
}

/** One run of objects of a phase. */
export interface Chunk {
  /** The canonical JSON array of the objects, as UTF-8: exactly what a slice stores, compressed. */
  readonly bytes: Buffer;
  /** The keyed digest of `bytes` (an HMAC, in the shape `sha256:<hex>`). */
  readonly digest: string;
  readonly count: number;
  /** Stored bytes (compressed and sealed). */
  readonly size: number;
  /** The compressed, sealed text; absent for a chunk that `known` said is stored already. */
  readonly compressed?: Buffer;
}

/** What identifies an object for boundary decisions: its inventory id, or the hash of its text when it has none. */
function identityOf(object: KubeObject, text: string): string {
  const ok = typeof object.apiVersion === 'string' && typeof object.kind === 'string' && typeof object.metadata?.name === 'string';
  return ok ? objectId(object) : sha256Of(text);
}

/**
 * True when a run ends after this object. The probability is `bytes / target`
 * (capped at 1), drawn from the identity's hash so the same object always
 * decides the same way, and a small edit rarely changes the decision.
 */
export function endsRun(identity: string, bytes: number, targetBytes: number): boolean {
  const draw = createHash('sha256').update(identity).digest().readUInt32BE(0) / 2 ** 32;
  return draw < Math.min(1, bytes / targetBytes);
}

/** One object as chunking sees it. */
interface Item {
  readonly text: string;
  readonly identity: string;
}

/**
 * Splits the objects of one phase into chunks, in order. A phase without objects
 * has no chunks. `texts`, when given, are the objects' canonical texts, in order.
 * Rejects with the {@link RevisionTooLargeError} of the first run (in order) with
 * an object too large to record.
 */
export async function chunkPhase(objects: readonly KubeObject[], opts: ChunkOptions, texts?: readonly string[]): Promise<Chunk[]> {
  const items = objects.map((object, i): Item => {
    const text = texts?.[i] ?? canonicalJSON(object);
    return { text, identity: identityOf(object, text) };
  });
  const target = Math.max(1, opts.targetBytes ?? opts.sliceSizeLimit);
  const runs: Item[][] = [];
  let start = 0;
  items.forEach((item, i) => {
    if (i === items.length - 1 || endsRun(item.identity, item.text.length + 1, target)) {
      runs.push(items.slice(start, i + 1));
      start = i + 1;
    }
  });
  // Every run is tried, so that the error reported does not depend on which compression finished first.
  const sized = await mapBounded(runs, COMPRESS_CONCURRENCY, (run) => sizedChunks(run, opts).catch((error: unknown) => ({ error })));
  const failed = sized.find((s): s is { error: unknown } => !Array.isArray(s));
  if (failed) throw failed.error;
  return (sized as Chunk[][]).flat();
}

/**
 * The JSON array of the items' texts, as UTF-8, written straight into one
 * buffer: the digest and the compression read the same bytes, and no joined
 * text of the run is made (each one a fresh copy of hundreds of kilobytes).
 */
function arrayBytes(items: readonly Item[]): Buffer {
  let size = 1 + items.length;
  for (const item of items) size += Buffer.byteLength(item.text);
  const bytes = Buffer.allocUnsafe(size);
  let at = bytes.write('[');
  items.forEach((item, i) => {
    if (i > 0) at += bytes.write(',', at);
    at += bytes.write(item.text, at);
  });
  at += bytes.write(']', at);
  // Every byte is written: uninitialised memory must never reach a record.
  if (at !== bytes.length) throw new Error(`internal error: a slice's objects took ${at} bytes, not the ${bytes.length} counted`);
  return bytes;
}

/** One run as a chunk, halved until every part fits the slice limit. */
async function sizedChunks(items: readonly Item[], opts: ChunkOptions): Promise<Chunk[]> {
  const bytes = arrayBytes(items);
  const digest = keyedHash(opts.key, 'slice', bytes);
  const count = items.length;
  const stored = opts.known?.get(digest);
  if (stored !== undefined) return [{ bytes, digest, count, size: stored }];
  const compressed = await sealUtf8Async(opts.key, bytes);
  if (compressed.length <= opts.sliceSizeLimit) return [{ bytes, digest, count, size: compressed.length, compressed }];
  if (count === 1) {
    if (compressed.length > MAX_SINGLE_OBJECT_SLICE) {
      // Named by id only: the object may be a Secret, and this message ends up in a condition.
      throw new RevisionTooLargeError(compressed.length, MAX_SINGLE_OBJECT_SLICE,
        `object ${items[0]?.identity ?? ''} alone takes ${compressed.length} bytes compressed, more than the ${MAX_SINGLE_OBJECT_SLICE} bytes a RevisionSlice can hold`);
    }
    return [{ bytes, digest, count, size: compressed.length, compressed }];
  }
  const half = Math.ceil(count / 2);
  // Both halves settle first, so the error thrown is the first half's whichever failed sooner.
  const halves = await Promise.allSettled([sizedChunks(items.slice(0, half), opts), sizedChunks(items.slice(half), opts)]);
  return halves.flatMap((h) => {
    if (h.status === 'rejected') throw h.reason;
    return h.value;
  });
}
