/**
 * How a PackageRevision holds its objects. Per phase, the exact objects applied
 * form a canonical JSON array; a small revision keeps it gzip-compressed and
 * base64-encoded inline (`spec.phases[].objects`), a large one in
 * RevisionSlices (plan.ts decides, chunk.ts cuts). A content hash over the
 * phases lets the controller tell whether a revision already records what it is
 * about to apply, and lets a reader check that what it read back is exactly
 * what was written. Pure; no API calls.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { PackageRevisionPhaseRecord } from '../api.ts';
import { canonicalJSON } from '../bundle/canonical.ts';
import type { KubeObject } from '../bundle/object.ts';

/** The objects of one phase, in apply order. */
export interface RevisionPhase {
  readonly name: string;
  readonly objects: readonly KubeObject[];
}

/** Phases encoded inline for `spec.phases`, with their total compressed size and content hash. */
export interface EncodedPhases {
  readonly phases: PackageRevisionPhaseRecord[];
  /** Total compressed bytes (before base64). */
  readonly size: number;
  /** `sha256:<hex>` of the canonical JSON of the phases' names and objects. */
  readonly contentHash: string;
}

/**
 * The default cap on what one PackageRevision records, inline and in slices
 * together: 64 MB compressed. Far beyond a sensible package; it keeps one
 * runaway package from filling etcd.
 */
export const DEFAULT_REVISION_SIZE_LIMIT = 64_000_000;

/** zlib's default level: level 9 costs several times the CPU on large repetitive text for a few percent. */
const GZIP_LEVEL = 6;

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

/** A PackageRevision (or one of its slices) that cannot be read back, or reads back other than it was written. */
export class CorruptRevisionError extends Error {
  override readonly name = 'CorruptRevisionError';
}

/** `sha256:<hex>` of a text or bytes. */
export function sha256Of(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** gzip of a text, at the level every record uses. */
export function gzipText(text: string): Buffer {
  return gzipSync(Buffer.from(text), { level: GZIP_LEVEL });
}

/** The text inside base64 of gzip; `what` names it in the {@link CorruptRevisionError}. */
export function gunzipBase64(data: string, what: string): string {
  try {
    return gunzipSync(Buffer.from(data, 'base64')).toString('utf8');
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

/** `sha256:<hex>` of what a revision records: phase names and objects, in order. */
export function contentHashOf(phases: readonly RevisionPhase[]): string {
  return sha256Of(canonicalJSON(phases.map((p) => ({ name: p.name, objects: p.objects }))));
}

/** One phase as canonical JSON array texts, in order (a phase stored in several slices has several). */
export interface PhaseTexts {
  readonly name: string;
  readonly texts: readonly string[];
}

/**
 * The same hash as {@link contentHashOf}, computed from the canonical JSON
 * arrays as stored: the objects are never serialized again. The canonical text
 * of `{name, objects}` is `{"name":…,"objects":[…]}` (keys sorted), and the
 * objects of consecutive arrays join with a comma.
 */
export function contentHashOfTexts(phases: readonly PhaseTexts[]): string {
  const hash = createHash('sha256');
  hash.update('[');
  phases.forEach((phase, i) => {
    hash.update(`${i > 0 ? ',' : ''}{"name":${JSON.stringify(phase.name)},"objects":[`);
    let first = true;
    for (const text of phase.texts) {
      const inner = text.slice(1, -1);
      if (inner === '') continue;
      hash.update(first ? inner : `,${inner}`);
      first = false;
    }
    hash.update(']}');
  });
  hash.update(']');
  return `sha256:${hash.digest('hex')}`;
}

/** Compresses each phase inline; throws {@link RevisionTooLargeError} beyond `limit` compressed bytes. */
export function encodePhases(phases: readonly RevisionPhase[], limit = DEFAULT_REVISION_SIZE_LIMIT): EncodedPhases {
  let size = 0;
  const texts: PhaseTexts[] = [];
  const records = phases.map((phase) => {
    // Canonical JSON: the same objects always give the same bytes.
    const text = canonicalJSON(phase.objects);
    texts.push({ name: phase.name, texts: [text] });
    const compressed = gzipText(text);
    size += compressed.length;
    return { name: phase.name, objects: compressed.toString('base64'), count: phase.objects.length };
  });
  if (size > limit) throw new RevisionTooLargeError(size, limit);
  return { phases: records, size, contentHash: contentHashOfTexts(texts) };
}

/**
 * The phases of an inline revision with their objects, as they were applied.
 * A revision stored in RevisionSlices cannot be read without the apiserver:
 * use `readRevisionPhases` (read.ts), which also verifies what it reads.
 */
export function decodePhases(records: readonly PackageRevisionPhaseRecord[]): RevisionPhase[] {
  return records.map((record) => {
    if (record.objects === undefined) {
      if (record.count === 0 && (record.slices ?? []).length === 0) return { name: record.name, objects: [] };
      throw new CorruptRevisionError(`phase ${record.name}: the objects are in RevisionSlices; read them with readRevisionPhases`);
    }
    return { name: record.name, objects: parseObjects(gunzipBase64(record.objects, `phase ${record.name}`), record.count, `phase ${record.name}`) };
  });
}
