/**
 * How a PackageRevision holds its objects: per phase, a JSON array of the exact
 * objects applied, gzip-compressed and base64-encoded (`spec.phases[].objects`).
 * A content hash over the phases lets the controller tell whether a revision
 * already records what it is about to apply, without comparing compressed bytes.
 * Pure; no API calls.
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

/** Phases encoded for `spec.phases`, with their total compressed size and content hash. */
export interface EncodedPhases {
  readonly phases: PackageRevisionPhaseRecord[];
  /** Total compressed bytes (before base64). */
  readonly size: number;
  /** `sha256:<hex>` of the canonical JSON of the phases' names and objects. */
  readonly contentHash: string;
}

/**
 * The default limit of {@link encodePhases}: 1 MB of compressed objects is about
 * 1.33 MB of base64, which keeps a PackageRevision under etcd's 1.5 MiB request limit.
 */
export const DEFAULT_REVISION_SIZE_LIMIT = 1_000_000;

/** A package whose objects do not fit in one PackageRevision. */
export class RevisionTooLargeError extends Error {
  override readonly name = 'RevisionTooLargeError';
  /** Compressed bytes the objects take. */
  readonly size: number;
  /** The limit they exceed. */
  readonly limit: number;

  constructor(size: number, limit: number) {
    super(`the package's objects take ${size} bytes compressed, more than the ${limit} bytes a PackageRevision can record; split the package into smaller ones`);
    this.size = size;
    this.limit = limit;
  }
}

/** A PackageRevision whose `spec.phases` cannot be read back. */
export class CorruptRevisionError extends Error {
  override readonly name = 'CorruptRevisionError';
}

/** `sha256:<hex>` of what a revision records: phase names and objects, in order. */
export function contentHashOf(phases: readonly RevisionPhase[]): string {
  const text = canonicalJSON(phases.map((p) => ({ name: p.name, objects: p.objects })));
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** Compresses the phases; throws {@link RevisionTooLargeError} beyond `limit` compressed bytes. */
export function encodePhases(phases: readonly RevisionPhase[], limit = DEFAULT_REVISION_SIZE_LIMIT): EncodedPhases {
  let size = 0;
  const records = phases.map((phase) => {
    // Canonical JSON: the same objects always give the same bytes.
    const compressed = gzipSync(Buffer.from(canonicalJSON(phase.objects)), { level: 9 });
    size += compressed.length;
    return { name: phase.name, objects: compressed.toString('base64'), count: phase.objects.length };
  });
  if (size > limit) throw new RevisionTooLargeError(size, limit);
  return { phases: records, size, contentHash: contentHashOf(phases) };
}

/** The phases of a revision with their objects, as they were applied. */
export function decodePhases(records: readonly PackageRevisionPhaseRecord[]): RevisionPhase[] {
  return records.map((record) => {
    let objects: unknown;
    try {
      objects = JSON.parse(gunzipSync(Buffer.from(record.objects, 'base64')).toString('utf8'));
    } catch (err) {
      throw new CorruptRevisionError(`phase ${record.name}: the objects cannot be decoded: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!Array.isArray(objects) || objects.length !== record.count) {
      throw new CorruptRevisionError(`phase ${record.name}: expected ${record.count} objects`);
    }
    return { name: record.name, objects: objects as KubeObject[] };
  });
}
