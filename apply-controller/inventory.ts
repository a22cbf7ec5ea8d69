/**
 * A Package's inventory: the objects it manages, in apply order, as
 * `{id: <ns>_<name>_<group>_<kind>, v: <version>}` (`status.objects` holds one
 * `<id> <version>` string each). Pruning compares the previous inventory with
 * the next one; deleting walks it backwards, so the order kept here is what
 * makes prune and uninstall go in reverse phase order.
 * Pure functions over plain data.
 */
import type { InventoryEntry } from './api.ts';
import { parseInventoryId } from './api.ts';
import type { BundleObject, KubeObject } from './bundle/object.ts';
import { objectId } from './bundle/object-id.ts';
import type { ChangeSet } from './ssa/change-set.ts';

/** The inventory entry of one bundle object. */
export function entryOf(obj: BundleObject): InventoryEntry {
  const apiVersion = obj.object.apiVersion;
  const slash = apiVersion.lastIndexOf('/');
  return { id: obj.id, v: slash < 0 ? apiVersion : apiVersion.slice(slash + 1) };
}

/** The inventory of objects given in apply order (duplicates by id keep their first place). */
export function inventoryOf(objects: readonly BundleObject[]): InventoryEntry[] {
  return dedupe(objects.map(entryOf));
}

/** The inventory of recorded objects (a PackageRevision's phases, in order); objects without a name are skipped. */
export function inventoryOfRecord(phases: readonly { readonly objects: readonly KubeObject[] }[]): InventoryEntry[] {
  const out: InventoryEntry[] = [];
  for (const phase of phases) {
    for (const object of phase.objects) {
      if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || typeof object.metadata?.name !== 'string') continue;
      out.push(entryOf({ id: objectId(object), object, source: { file: '', document: 0 } }));
    }
  }
  return dedupe(out);
}

/** Entries of `previous` whose objects are not in `next`, in `previous`'s (apply) order: what a prune deletes. */
export function staleEntries(previous: readonly InventoryEntry[] | undefined, next: readonly InventoryEntry[]): InventoryEntry[] {
  const keep = new Set(next.map((e) => e.id));
  return (previous ?? []).filter((e) => !keep.has(e.id));
}

/**
 * `next` followed by the entries of `extra` it does not have. Used to keep
 * objects that could not be pruned (they are retried), and, after a failed
 * apply, the objects of the previous inventory next to the ones just written —
 * nothing that may exist in the cluster is ever dropped from the inventory.
 */
export function unionInventory(next: readonly InventoryEntry[], extra: readonly InventoryEntry[]): InventoryEntry[] {
  return dedupe([...next, ...extra]);
}

/**
 * The inventory after an apply that stopped partway: the previous inventory,
 * plus every object of the new revision the change set says was written or
 * found (in the new revision's order, after the previous objects).
 */
export function inventoryAfterFailure(previous: readonly InventoryEntry[] | undefined, attempted: readonly InventoryEntry[],
  changeSet: ChangeSet): InventoryEntry[] {
  const touched = new Set(changeSet.entries.filter((e) => e.action !== 'skipped').map((e) => e.id));
  return unionInventory(previous ?? [], attempted.filter((e) => touched.has(e.id)));
}

/** A kind an inventory holds, with the version it was applied with: what the drift watcher watches. */
export interface InventoryKind {
  readonly apiVersion: string;
  readonly kind: string;
}

/** The distinct kinds of an inventory (first version seen per group and kind); malformed ids are skipped. */
export function kindsOf(entries: readonly InventoryEntry[]): InventoryKind[] {
  const out = new Map<string, InventoryKind>();
  for (const entry of entries) {
    let parts;
    try {
      parts = parseInventoryId(entry.id);
    } catch {
      continue;
    }
    const key = `${parts.group}/${parts.kind}`;
    if (out.has(key)) continue;
    out.set(key, { apiVersion: parts.group === '' ? entry.v : `${parts.group}/${entry.v}`, kind: parts.kind });
  }
  return [...out.values()];
}

function dedupe(entries: readonly InventoryEntry[]): InventoryEntry[] {
  const seen = new Set<string>();
  const out: InventoryEntry[] = [];
  for (const e of entries) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    out.push({ id: e.id, v: e.v });
  }
  return out;
}
