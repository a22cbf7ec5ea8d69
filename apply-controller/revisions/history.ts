/**
 * A Package's history read and moved forward: which revision becomes Available
 * (and which it supersedes), the newest Available one (what an automatic
 * rollback returns to), and the write-ahead reading of a revision that never
 * finished (its objects may exist although no Package status lists them).
 */
import type { KubeClient } from '../../runtime/kube.ts';
import type { Logger } from '../../runtime/logging.ts';
import type { InventoryEntry, PackageRevision } from '../api.ts';
import { inventoryOf } from '../inventory.ts';
import { objectId } from '../bundle/object-id.ts';
import { CorruptRevisionError } from './encode.ts';
import type { RevisionKeys } from './keys.ts';
import { readRevisionPhases, type RevisionExpectation, type SliceReader } from './read.ts';
import { contentHashOfRevision, listRevisions, setRevisionStatus } from './store.ts';

/**
 * Marks the revision Available and, the first time, every other Available
 * revision of the Package Superseded. `history` is the Package's revisions as
 * the reconcile knows them (listed when not given): listing costs the apiserver
 * a read of every revision in the namespace. Returns the revisions it changed.
 */
export async function markAvailable(client: KubeClient, revision: PackageRevision, message: string, log: Logger,
  history?: readonly PackageRevision[]): Promise<PackageRevision[]> {
  const changed = await setRevisionStatus(client, revision, { phase: 'Available', message });
  if (!changed) return [];
  const written = [revision];
  const others = history ?? await listRevisions(client, revision.metadata.namespace ?? '', revision.spec.packageName);
  for (const other of others) {
    if (other.spec.revision === revision.spec.revision || other.status?.phase !== 'Available') continue;
    await setRevisionStatus(client, other, { phase: 'Superseded', message: `Superseded by revision ${revision.spec.revision}` })
      .then(() => written.push(other))
      .catch((err: unknown) => log.warn({ err, revision: other.spec.revision }, 'could not mark a revision Superseded'));
  }
  return written;
}

/** The newest Available revision other than `except`, or undefined. */
export function newestAvailable(revisions: readonly PackageRevision[], except?: number): PackageRevision | undefined {
  return revisions.filter((r) => r.status?.phase === 'Available' && r.spec.revision !== except)
    .sort((a, b) => a.spec.revision - b.spec.revision).at(-1);
}

/**
 * Inventories of unfinished revisions already read, by uid and content hash.
 * A revision's spec never changes, so neither does what it records; without
 * this, every health re-check of a large rollout in flight would fetch and
 * verify all of its slices again. Bounded: the oldest entry goes first.
 */
const unfinishedSeen = new Map<string, InventoryEntry[]>();
const UNFINISHED_SEEN_MAX = 32;

/**
 * The objects of revisions newer than `current` that never got a phase: a
 * rollout the controller did not live to finish (or one still waiting for
 * health). Their objects may be in the cluster without being in
 * `status.objects`, so a prune or a rollback must count them as managed.
 * Their slices are read through `client` only when there is such a revision,
 * and once per revision. Corrupt records (a forged or changed one included)
 * are skipped: they hold nothing usable, and trusting them would let whoever
 * wrote them name objects to prune. A failed read rejects, since a guess could
 * prune too little.
 */
export async function unfinishedInventory(client: SliceReader, revisions: readonly PackageRevision[],
  current: number | undefined, keys: RevisionKeys, expect: RevisionExpectation = {}): Promise<InventoryEntry[]> {
  const out: InventoryEntry[] = [];
  for (const rev of revisions) {
    if (rev.status?.phase !== undefined || rev.spec.revision <= (current ?? 0)) continue;
    const key = rev.metadata.uid === undefined ? undefined : `${rev.metadata.uid}/${contentHashOfRevision(rev) ?? ''}`;
    let entries = key === undefined ? undefined : unfinishedSeen.get(key);
    if (!entries) {
      try {
        const objects = (await readRevisionPhases(client, rev, keys, expect)).flatMap((p) => p.objects);
        entries = inventoryOf(objects.map((object) => ({ id: objectId(object), object, source: { file: '', document: 0 } })));
      } catch (err) {
        if (!(err instanceof CorruptRevisionError)) throw err;
        continue;
      }
      if (key !== undefined) remember(key, entries);
    }
    out.push(...entries);
  }
  return out;
}

function remember(key: string, entries: InventoryEntry[]): void {
  unfinishedSeen.set(key, entries);
  for (const oldest of unfinishedSeen.keys()) {
    if (unfinishedSeen.size <= UNFINISHED_SEEN_MAX) break;
    unfinishedSeen.delete(oldest);
  }
}
