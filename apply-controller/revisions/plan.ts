/**
 * What a new PackageRevision will look like, decided before anything is
 * written: a small revision keeps its objects inline (one write, and a list of
 * revisions stays cheap); a large one names content-addressed RevisionSlices,
 * of which only those not stored yet have to be written. Either way the total
 * is capped. No API calls.
 */
import { createHash } from 'node:crypto';
import type { PackageRevisionPhaseRecord, RevisionSliceRef } from '../api.ts';
import { chunkPhase, DEFAULT_SLICE_SIZE_LIMIT } from './chunk.ts';
import {
  contentHashOfTexts, DEFAULT_REVISION_SIZE_LIMIT, encodePhases, keyedContentHash, RevisionTooLargeError, type PhaseTexts, type RevisionPhase,
} from './encode.ts';
import type { RevisionKey } from './keys.ts';

/** The default largest compressed size of a revision that keeps its objects inline. */
export const DEFAULT_INLINE_LIMIT = 32 * 1024;

/**
 * Phases whose canonical JSON exceeds this multiple of the inline limit are not
 * even tried inline: configuration text rarely compresses better than 10:1.
 */
const INLINE_PROBE_FACTOR = 32;

/** Above this much JSON of slice references the revision itself would crowd etcd's object limit. */
const MAX_REFERENCES_JSON = 1_000_000;

/** How a revision is recorded. */
export interface RecordOptions {
  /** The key every blob is sealed with and every hash keyed with (keys.ts). */
  readonly key: RevisionKey;
  /** Largest compressed size of everything a revision records (default {@link DEFAULT_REVISION_SIZE_LIMIT}). */
  readonly sizeLimit?: number | undefined;
  /** Largest compressed size of one RevisionSlice (default {@link DEFAULT_SLICE_SIZE_LIMIT}). */
  readonly sliceSizeLimit?: number | undefined;
  /** Largest compressed size of a revision kept inline (default {@link DEFAULT_INLINE_LIMIT}). */
  readonly inlineLimit?: number | undefined;
}

/** A slice the revision needs that is not stored yet. */
export interface NewSlice {
  readonly name: string;
  readonly digest: string;
  readonly count: number;
  /** The canonical JSON array compressed and sealed with the revision key (encode.ts). */
  readonly compressed: Buffer;
}

/** The spec parts of a new revision, and the slices to store first. */
export interface RecordPlan {
  readonly phases: PackageRevisionPhaseRecord[];
  /** Compressed bytes recorded, inline and in slices. */
  readonly size: number;
  readonly contentHash: string;
  /** Slices to create before the revision (empty for an inline revision). */
  readonly newSlices: NewSlice[];
}

/**
 * `<package>-<first 40 hex of the digest>`: the name of a slice of a Package.
 * A package name too long for that (names stop at 253) is cut and followed by
 * a hash of itself, so two long names with the same beginning stay apart.
 */
export function sliceName(packageName: string, digest: string): string {
  const id = digest.replace(/^sha256:/, '').slice(0, 40);
  if (packageName.length + 1 + id.length <= 253) return `${packageName}-${id}`;
  const tag = createHash('sha256').update(packageName).digest('hex').slice(0, 8);
  const prefix = packageName.slice(0, 253 - id.length - tag.length - 2).replace(/[-.]+$/, '');
  return `${prefix}-${tag}-${id}`;
}

/**
 * Plans the record of `phases` for Package `packageName`: inline when it fits
 * the inline limit ({@link planInline}), else in slices ({@link planSliced}).
 */
export async function planRecord(packageName: string, phases: readonly RevisionPhase[], opts: RecordOptions,
  known: ReadonlyMap<string, RevisionSliceRef> = new Map()): Promise<RecordPlan> {
  return planInline(phases, opts) ?? await planSliced(packageName, phases, opts, known);
}

/** The inline record when it fits the inline limit, else undefined (without compressing what cannot fit). */
export function planInline(phases: readonly RevisionPhase[], opts: RecordOptions): RecordPlan | undefined {
  const limit = Math.min(opts.inlineLimit ?? DEFAULT_INLINE_LIMIT, opts.sizeLimit ?? DEFAULT_REVISION_SIZE_LIMIT);
  let bytes = 0;
  for (const phase of phases) {
    // The canonical texts when the caller has them; else JSON.stringify, as long (only the key order differs) and native-fast.
    bytes += phase.texts ? phase.texts.reduce((n, text) => n + text.length + 1, 1) : JSON.stringify(phase.objects).length;
    if (bytes > limit * INLINE_PROBE_FACTOR) return undefined;
  }
  try {
    const encoded = encodePhases(phases, opts.key, limit);
    return { phases: encoded.phases, size: encoded.size, contentHash: encoded.contentHash, newSlices: [] };
  } catch (err) {
    if (err instanceof RevisionTooLargeError) return undefined;
    throw err;
  }
}

/**
 * The record of `phases` in slices. `known` lists the slices stored already
 * (digest -> reference, from the Package's revisions): they are named again,
 * not compressed or written again. Throws {@link RevisionTooLargeError} past
 * the size limit.
 */
export async function planSliced(packageName: string, phases: readonly RevisionPhase[], opts: RecordOptions,
  known: ReadonlyMap<string, RevisionSliceRef> = new Map()): Promise<RecordPlan> {
  const sizeLimit = opts.sizeLimit ?? DEFAULT_REVISION_SIZE_LIMIT;
  const sliceSizeLimit = opts.sliceSizeLimit ?? DEFAULT_SLICE_SIZE_LIMIT;
  const sizes = new Map([...known].map(([digest, ref]) => [digest, ref.size]));
  const newSlices = new Map<string, NewSlice>();
  const texts: PhaseTexts<Buffer>[] = [];
  let size = 0;
  const records: PackageRevisionPhaseRecord[] = [];
  for (const phase of phases) {
    const chunks = await chunkPhase(phase.objects, { key: opts.key, sliceSizeLimit, known: sizes }, phase.texts);
    texts.push({ name: phase.name, texts: chunks.map((c) => c.bytes) });
    const slices = chunks.map((chunk): RevisionSliceRef => {
      const name = known.get(chunk.digest)?.name ?? sliceName(packageName, chunk.digest);
      if (chunk.compressed) newSlices.set(chunk.digest, { name, digest: chunk.digest, count: chunk.count, compressed: chunk.compressed });
      size += chunk.size;
      return { name, digest: chunk.digest, count: chunk.count, size: chunk.size };
    });
    records.push({ name: phase.name, count: phase.objects.length, slices });
  }
  if (size > sizeLimit) throw new RevisionTooLargeError(size, sizeLimit);
  if (JSON.stringify(records).length > MAX_REFERENCES_JSON) {
    const count = records.reduce((n, r) => n + (r.slices?.length ?? 0), 0);
    throw new RevisionTooLargeError(size, sizeLimit,
      `the package's objects need ${count} RevisionSlices, more than one PackageRevision can name; split the package into smaller ones`);
  }
  return { phases: records, size, contentHash: keyedContentHash(opts.key, contentHashOfTexts(texts)), newSlices: [...newSlices.values()] };
}
