/**
 * A PackageRevision's own objects, read back (and verified) in the shape the
 * apply engine takes: phases of bundle objects, and the inventory they make.
 * This is what makes a rollback independent of the source — the registry, the
 * Git server and the artifact server are never asked; only the apiserver, for
 * the slices of a large revision.
 */
import type { InventoryEntry, PackageRevision } from '../api.ts';
import { objectId } from '../bundle/object-id.ts';
import type { BundleObject } from '../bundle/object.ts';
import { inventoryOf } from '../inventory.ts';
import type { PhaseObjects } from '../reconcile/apply.ts';
import type { RevisionKeys } from '../revisions/keys.ts';
import { readRevisionPhases, type RevisionExpectation, type SliceReader } from '../revisions/read.ts';

/**
 * The phases a revision recorded, as bundle objects named after the revision
 * (`PackageRevision web-3`, document = index), opened with `keys`. Slices are
 * read through `client`; a record that does not verify is a
 * CorruptRevisionError (RevisionTamperedError when it was changed).
 */
export async function recordedPhases(client: SliceReader, rev: PackageRevision, keys: RevisionKeys,
  expect: RevisionExpectation = {}): Promise<PhaseObjects[]> {
  return (await readRevisionPhases(client, rev, keys, expect)).map((phase) => ({
    name: phase.name,
    objects: phase.objects.map((object, document): BundleObject => ({
      id: objectId(object), object, source: { file: `PackageRevision ${rev.metadata.name ?? rev.spec.revision}`, document },
    })),
  }));
}

/** The inventory of a revision's objects, in apply order. */
export function recordedInventory(phases: readonly PhaseObjects[]): InventoryEntry[] {
  return inventoryOf(phases.flatMap((p) => p.objects));
}

/** `3 (1.4.0@sha256:0123456789ab)`: a revision as people read it in conditions and events. */
export function describeRevision(rev: PackageRevision): string {
  const source = rev.spec.source.revision;
  const at = source.indexOf('@sha256:');
  return `${rev.spec.revision} (${at < 0 ? source : source.slice(0, at + 20)})`;
}
