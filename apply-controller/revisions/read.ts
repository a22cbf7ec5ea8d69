/**
 * Reading a PackageRevision's objects back, inline or from its RevisionSlices,
 * with proof that they are what the controller wrote: the revision's signature
 * (an HMAC with the revision key over its identity, its Package's uid and its
 * records) must match, every blob must authenticate with the key, every slice
 * must hash to the keyed digest the revision names, and all phases together to
 * the revision's keyed content hash. A changed revision or slice is a
 * RevisionTamperedError, a missing slice a {@link CorruptRevisionError} — a
 * rollback never applies objects nobody recorded (issue 14: forged
 * revisions), even when written by someone allowed to patch revisions.
 *
 * Only the readers that need the objects call this (rollback, a pin, the
 * unfinished inventory, uninstall); listing revisions never reads slices.
 */
import type { KubeClient } from '../../runtime/kube.ts';
import type { PackageRevision, PackageRevisionPhaseRecord, RevisionSlice } from '../api.ts';
import { mapBounded } from '../../runtime/concurrency.ts';
import { contentHashOfTexts, CorruptRevisionError, keyedContentHash, openText, parseObjects, type PhaseTexts, type RevisionPhase } from './encode.ts';
import type { RevisionKey, RevisionKeys } from './keys.ts';
import { CONTENT_HASH_ANNOTATION, REVISION_KEY_ANNOTATION } from './labels.ts';
import { RevisionTamperedError, verifySignature } from './seal.ts';
import { SLICE_CONCURRENCY, sliceRef, verifiedSliceText } from './slices.ts';

/** What {@link readRevisionPhases} needs of a client: reading one object. */
export type SliceReader = Pick<KubeClient, 'get'>;

/** True when the revision keeps (some of) its objects in RevisionSlices. */
export function isSliced(rev: PackageRevision): boolean {
  return rev.spec.phases.some((p) => p.objects === undefined && (p.slices ?? []).length > 0);
}

/** What a reader expects of a revision besides its signature. */
export interface RevisionExpectation {
  /** The uid of the Package reading it: a revision signed for another Package (or an earlier one of the same name) is refused. */
  readonly packageUid?: string | undefined;
}

/**
 * The key `rev` was sealed with, once its signature is checked; throws
 * RevisionTamperedError for an unsigned or changed revision, or one recorded
 * for another Package, and RevisionKeyMissingError for a key no longer kept.
 */
export async function verifiedKeyOf(keys: RevisionKeys, rev: PackageRevision, expect: RevisionExpectation = {}): Promise<RevisionKey> {
  const what = `PackageRevision ${rev.metadata.namespace ?? ''}/${rev.metadata.name ?? ''}`;
  const id = rev.metadata.annotations?.[REVISION_KEY_ANNOTATION];
  if (id === undefined) throw new RevisionTamperedError(`${what} has no ${REVISION_KEY_ANNOTATION} annotation: it is not sealed and signed, so it cannot be verified`);
  const key = await keys.byId(id);
  verifySignature(key, rev, what);
  const owner = rev.metadata.ownerReferences?.find((o) => o.controller === true);
  if (expect.packageUid !== undefined && owner?.uid !== expect.packageUid) {
    throw new RevisionTamperedError(`${what} was recorded for another Package ${rev.spec.packageName} (uid ${owner?.uid ?? 'none'}), not this one`);
  }
  return key;
}

/**
 * The phases of `rev` with their objects, as they were applied. The signature
 * is checked first; slices are read through `client` (a few at a time) and
 * verified before anything is returned; throws {@link CorruptRevisionError}
 * (RevisionTamperedError for a change) when any part is missing or differs
 * from what the revision recorded.
 */
export async function readRevisionPhases(client: SliceReader, rev: PackageRevision, keys: RevisionKeys,
  expect: RevisionExpectation = {}): Promise<RevisionPhase[]> {
  const what = `PackageRevision ${rev.metadata.namespace ?? ''}/${rev.metadata.name ?? ''}`;
  const key = await verifiedKeyOf(keys, rev, expect);
  const expected = rev.metadata.annotations?.[CONTENT_HASH_ANNOTATION];
  if (expected === undefined) throw new RevisionTamperedError(`${what} has no ${CONTENT_HASH_ANNOTATION} annotation; its objects cannot be verified`);
  const texts = await fetchTexts(client, rev, what, key);
  if (keyedContentHash(key, contentHashOfTexts(texts)) !== expected) {
    throw new RevisionTamperedError(`${what} was changed after it was written: its objects do not hash to its content hash`);
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
async function fetchTexts(client: SliceReader, rev: PackageRevision, what: string, key: RevisionKey): Promise<PhaseTexts[]> {
  const namespace = rev.metadata.namespace ?? '';
  const refs = rev.spec.phases.flatMap((p) => (p.objects === undefined ? p.slices ?? [] : []));
  const byRefName = new Map(refs.map((ref) => [ref.name, ref]));
  const fetched = await mapBounded([...byRefName.values()], SLICE_CONCURRENCY, async (ref) => {
    const slice = await client.get<RevisionSlice>(sliceRef(namespace, ref.name));
    if (!slice) throw new CorruptRevisionError(`${what} names RevisionSlice ${namespace}/${ref.name}, which does not exist`);
    return [ref.name, verifiedSliceText(slice, ref, rev.spec.packageName, key)] as const;
  });
  const byName = new Map(fetched);
  return rev.spec.phases.map((record) => {
    if (record.objects !== undefined) return { name: record.name, texts: [openText(key, record.objects, `${what} phase ${record.name}`)] };
    // A slice named twice with different digests was verified against only one of them; insist on both.
    const texts = (record.slices ?? []).map((ref) => {
      const text = byName.get(ref.name) ?? '';
      if (byRefName.get(ref.name)?.digest !== ref.digest) {
        throw new RevisionTamperedError(`${what} names RevisionSlice ${ref.name} with two different digests`);
      }
      return text;
    });
    return { name: record.name, texts };
  });
}
