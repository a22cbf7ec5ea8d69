/**
 * RevisionSlices in the cluster: stored before the revision that names them
 * (the revision is the write-ahead record, so whatever it names must exist
 * first), shared by every revision that records the same run of objects, and
 * deleted only when no kept revision names them.
 *
 * A slice is named after its Package and digest, labelled with the Package
 * (`apply.trellis.dev/package`) and owned by it, so it goes with the Package.
 * Its spec is written once: a create that finds the name taken keeps the
 * stored slice when it holds exactly these bytes, and refuses otherwise.
 */
import type { KubeClient } from '../../runtime/kube.ts';
import { isConflict } from '../../runtime/kube-transport.ts';
import type { Logger } from '../../runtime/logging.ts';
import { packageResource, revisionSliceResource, type Package, type PackageRevision, type RevisionSlice, type RevisionSliceRef } from '../api.ts';
import { mapBounded } from '../../runtime/concurrency.ts';
import { CorruptRevisionError, openText } from './encode.ts';
import type { RevisionKey } from './keys.ts';
import { keyedHash, RevisionTamperedError } from './seal.ts';
import { REVISION_PACKAGE_LABEL } from './labels.ts';
import type { NewSlice } from './plan.ts';

/**
 * Slice requests in flight at once. The slices are written before the first
 * object is applied, so they wait on nothing else: as many at once as the apply
 * itself sends (a 1,000-ConfigMap revision has about ten).
 */
export const SLICE_CONCURRENCY = 16;

/** The reference to a slice of `namespace` by name. */
export function sliceRef(namespace: string, name: string): { apiVersion: string; kind: string; namespace: string; name: string } {
  return { apiVersion: revisionSliceResource.apiVersion, kind: revisionSliceResource.kind, namespace, name };
}

/** Every slice the revisions name, by digest. */
export function sliceRefsOf(revisions: readonly PackageRevision[]): Map<string, RevisionSliceRef> {
  const out = new Map<string, RevisionSliceRef>();
  for (const rev of revisions) {
    for (const phase of rev.spec.phases) for (const ref of phase.slices ?? []) out.set(ref.digest, ref);
  }
  return out;
}

/** The names of every slice the revisions name. */
export function sliceNamesOf(revisions: readonly PackageRevision[]): Set<string> {
  return new Set([...sliceRefsOf(revisions).values()].map((ref) => ref.name));
}

/**
 * Throws {@link CorruptRevisionError} unless `slice` is the slice `ref` names
 * for Package `packageName`: same digest and count, bytes that `key` sealed,
 * and a text whose keyed digest is the one named (RevisionTamperedError when
 * anything was changed). Returns the canonical JSON text it holds.
 */
export function verifiedSliceText(slice: RevisionSlice, ref: Pick<RevisionSliceRef, 'name' | 'digest' | 'count'>, packageName: string,
  key: RevisionKey): string {
  const what = `RevisionSlice ${slice.metadata.namespace ?? ''}/${ref.name}`;
  if (slice.spec.packageName !== packageName) throw new CorruptRevisionError(`${what} belongs to Package ${slice.spec.packageName}, not ${packageName}`);
  if (slice.spec.digest !== ref.digest || slice.spec.count !== ref.count) {
    throw new RevisionTamperedError(`${what} says it holds ${slice.spec.count} objects with digest ${slice.spec.digest}; the revision expects ${ref.count} with ${ref.digest}`);
  }
  const text = openText(key, slice.spec.objects, what);
  if (keyedHash(key, 'slice', text) !== ref.digest) throw new RevisionTamperedError(`${what} was changed after it was written: its objects do not hash to ${ref.digest}`);
  return text;
}

/**
 * Creates the slices (a few at a time), owned by `pkg`. A name already taken
 * by the same bytes counts as stored (a retry after a lost answer, or a run
 * another revision stored); taken by anything else, it is refused.
 * Resolves with the number of slices created.
 */
export async function storeSlices(client: KubeClient, pkg: Package, slices: readonly NewSlice[], fieldManager: string,
  key: RevisionKey): Promise<number> {
  const namespace = pkg.metadata.namespace ?? '';
  const packageName = pkg.metadata.name ?? '';
  const uid = pkg.metadata.uid;
  if (!uid) throw new TypeError('the Package must have been read from the cluster (it has no uid)');
  const created = await mapBounded(slices, SLICE_CONCURRENCY, async (slice): Promise<boolean> => {
    const body: RevisionSlice = {
      apiVersion: revisionSliceResource.apiVersion,
      kind: revisionSliceResource.kind,
      metadata: {
        name: slice.name, namespace, labels: { [REVISION_PACKAGE_LABEL]: packageName },
        ownerReferences: [{ apiVersion: packageResource.apiVersion, kind: packageResource.kind, name: packageName, uid, controller: true }],
      },
      spec: { packageName, digest: slice.digest, count: slice.count, objects: slice.compressed.toString('base64') },
    };
    try {
      await client.create(body, { fieldManager });
      return true;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    const existing = await client.get<RevisionSlice>(sliceRef(namespace, slice.name));
    // Gone again between the two requests: only a deletion of the Package does that, so do not resurrect it.
    if (!existing) throw new CorruptRevisionError(`RevisionSlice ${namespace}/${slice.name} disappeared while it was being written`);
    try {
      verifiedSliceText(existing, slice, packageName, key);
    } catch (err) {
      if (!(err instanceof CorruptRevisionError)) throw err;
      // Never overwritten, even to repair it: a person has to look, and deleting it lets the next attempt write it again.
      throw new CorruptRevisionError(`${err.message}; it is never overwritten — delete it to let the controller store it again`);
    }
    return false;
  });
  return created.filter(Boolean).length;
}

/** Deletes the named slices; a failed delete is logged (the slice stays until the Package goes). Resolves with the names deleted. */
export async function deleteSlices(client: KubeClient, namespace: string, names: readonly string[], log: Logger): Promise<string[]> {
  const deleted = await mapBounded(names, SLICE_CONCURRENCY, async (name): Promise<string | undefined> => {
    try {
      await client.delete(sliceRef(namespace, name));
      return name;
    } catch (err) {
      log.warn({ err, slice: name }, 'could not delete a RevisionSlice no revision uses');
      return undefined;
    }
  });
  return deleted.filter((name): name is string => name !== undefined);
}
