/**
 * Reading a PackageRevision's objects back, inline or from its RevisionSlices,
 * with proof that they are what was written: every slice must hash to the
 * digest the revision names, and all phases together to the revision's content
 * hash. A missing slice, a changed slice or a changed inline record is a
 * {@link CorruptRevisionError} — a rollback never applies objects nobody
 * recorded (issue 14: forged revisions).
 *
 * Only the readers that need the objects call this (rollback, a pin, the
 * unfinished inventory, uninstall); listing revisions never reads slices.
 */
import type { KubeClient } from '../../runtime/kube.ts';
import type { PackageRevision, PackageRevisionPhaseRecord, RevisionSlice } from '../api.ts';
import { mapBounded } from '../ssa/_async.ts';
import { contentHashOfTexts, CorruptRevisionError, gunzipBase64, parseObjects, type PhaseTexts, type RevisionPhase } from './encode.ts';
import { CONTENT_HASH_ANNOTATION } from './labels.ts';
import { SLICE_CONCURRENCY, sliceRef, verifiedSliceText } from './slices.ts';

/** What {@link readRevisionPhases} needs of a client: reading one object. */
export type SliceReader = Pick<KubeClient, 'get'>;

/** True when the revision keeps (some of) its objects in RevisionSlices. */
export function isSliced(rev: PackageRevision): boolean {
  return rev.spec.phases.some((p) => p.objects === undefined && (p.slices ?? []).length > 0);
}

/**
 * The phases of `rev` with their objects, as they were applied. Slices are
 * read through `client` (a few at a time) and verified before anything is
 * returned; throws {@link CorruptRevisionError} when any part is missing or
 * differs from what the revision recorded.
 */
export async function readRevisionPhases(client: SliceReader, rev: PackageRevision): Promise<RevisionPhase[]> {
  const what = `PackageRevision ${rev.metadata.namespace ?? ''}/${rev.metadata.name ?? ''}`;
  const expected = rev.metadata.annotations?.[CONTENT_HASH_ANNOTATION];
  if (expected === undefined) throw new CorruptRevisionError(`${what} has no ${CONTENT_HASH_ANNOTATION} annotation; its objects cannot be verified`);
  const texts = await fetchTexts(client, rev, what);
  const actual = contentHashOfTexts(texts);
  if (actual !== expected) {
    throw new CorruptRevisionError(`${what} was changed after it was written: its objects hash to ${actual}, not ${expected}`);
  }
  return rev.spec.phases.map((record, i) => {
    const phaseTexts = texts[i]?.texts ?? [];
    const objects = phaseTexts.flatMap((text, j) => parseObjects(text, countOf(record, j), `${what} phase ${record.name}`));
    if (objects.length !== record.count) throw new CorruptRevisionError(`${what} phase ${record.name}: expected ${record.count} objects, found ${objects.length}`);
    return { name: record.name, objects };
  });
}

/** Objects in the `j`th text of a phase: the inline count, or the count of its `j`th slice. */
function countOf(record: PackageRevisionPhaseRecord, j: number): number {
  return record.objects !== undefined ? record.count : (record.slices?.[j]?.count ?? 0);
}

/** Each phase's canonical JSON texts: inline ones decompressed, sliced ones fetched and verified. */
async function fetchTexts(client: SliceReader, rev: PackageRevision, what: string): Promise<PhaseTexts[]> {
  const namespace = rev.metadata.namespace ?? '';
  const refs = rev.spec.phases.flatMap((p) => (p.objects === undefined ? p.slices ?? [] : []));
  const byRefName = new Map(refs.map((ref) => [ref.name, ref]));
  const fetched = await mapBounded([...byRefName.values()], SLICE_CONCURRENCY, async (ref) => {
    const slice = await client.get<RevisionSlice>(sliceRef(namespace, ref.name));
    if (!slice) throw new CorruptRevisionError(`${what} names RevisionSlice ${namespace}/${ref.name}, which does not exist`);
    return [ref.name, verifiedSliceText(slice, ref, rev.spec.packageName)] as const;
  });
  const byName = new Map(fetched);
  return rev.spec.phases.map((record) => {
    if (record.objects !== undefined) return { name: record.name, texts: [gunzipBase64(record.objects, `${what} phase ${record.name}`)] };
    // A slice named twice with different digests was verified against only one of them; insist on both.
    const texts = (record.slices ?? []).map((ref) => {
      const text = byName.get(ref.name) ?? '';
      if (byRefName.get(ref.name)?.digest !== ref.digest) {
        throw new CorruptRevisionError(`${what} names RevisionSlice ${ref.name} with two different digests`);
      }
      return text;
    });
    return { name: record.name, texts };
  });
}
