/**
 * `deleteObjects`: deletes the objects of an inventory that still belong to the
 * caller, last-applied first.
 *
 * Ownership is the Package's labels: an object that no longer carries them was
 * taken over by someone else (another Package, a person) and is `skipped`. The
 * label check and the delete are tied together with a resourceVersion
 * precondition, so an object relabelled between the read and the delete is not
 * deleted (the check is made again).
 *
 * Order: the list is walked backwards (the caller passes it in apply order), one
 * kind at a time; objects of the same kind that follow each other are deleted
 * concurrently. So custom resources go before their CRD and namespaced objects
 * before their Namespace, as the bundle's ordering put them the other way round.
 *
 * Some objects are kept (`skipped`, with the reason in `kept`): one annotated
 * `apply.trellis.dev/prune: disabled`; a Namespace that holds objects that are
 * not the caller's; a CRD with custom resources that are not the caller's
 * (deleting either would delete those; see foreign-objects.ts), unless
 * `crdDeletion` is `Always`; and every CRD with `crdDeletion: Never`.
 *
 * An object that is already gone, already being deleted, or whose kind is no
 * longer served counts as `deleted`. Any other failure is listed in `failures`
 * and nothing else stops: the caller keeps the survivors in its inventory and
 * tries again later.
 */
import { UnknownKindError } from '../../runtime/discovery.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import { isConflict } from '../../runtime/kube-transport.ts';
import type { KubeObject as ClusterObject, ObjectRef } from '../../runtime/object.ts';
import { parseObjectId } from '../bundle/object-id.ts';
import { mapBounded } from '../../runtime/concurrency.ts';
import { sleep } from './_async.ts';
import { ChangeSet, type ChangeSetEntry } from './change-set.ts';
import { foreignCustomResources, foreignObjectsIn } from './foreign-objects.ts';
import { refOfEntry, subjectOfEntry, type InventoryEntry } from './objects.ts';
import { carriesLabels, resolveDeleteOptions, type DeleteObjectsOptions, type ResolvedDeleteOptions } from './options.ts';

/** An object that could not be deleted and still exists (as far as is known). */
export interface DeleteFailure {
  readonly id: string;
  readonly subject: string;
  readonly message: string;
}

/** An object left in place on purpose. */
export interface KeptObject {
  readonly id: string;
  readonly subject: string;
  readonly reason: string;
}

/** What {@link deleteObjects} did. */
export interface DeleteResult {
  /** `deleted` and `skipped` entries, in the order the objects were handled. */
  readonly changeSet: ChangeSet;
  /** Objects that could not be deleted; keep them in the inventory. */
  readonly failures: readonly DeleteFailure[];
  /** Objects that still carried the labels and were kept on purpose (annotation, a Namespace with others' objects). */
  readonly kept: readonly KeptObject[];
}

/** The annotation that keeps an object when it leaves its Package (prune) and when the Package is deleted. */
export const PRUNE_ANNOTATION = 'apply.trellis.dev/prune';
/** The value of {@link PRUNE_ANNOTATION} that keeps the object. */
export const PRUNE_DISABLED = 'disabled';

type Outcome = { readonly action: 'deleted' | 'skipped'; readonly kept?: string } | { readonly failure: string };

/** Why `live` must not be deleted although it carries the labels, or undefined. */
async function reasonToKeep(client: KubeClient, ref: ObjectRef, live: ClusterObject, opts: ResolvedDeleteOptions): Promise<string | undefined> {
  if (live.metadata?.annotations?.[PRUNE_ANNOTATION] === PRUNE_DISABLED) return `annotated ${PRUNE_ANNOTATION}: ${PRUNE_DISABLED}`;
  if (ref.kind === 'Namespace' && ref.apiVersion === 'v1') {
    const { foreign, unreadable } = await foreignObjectsIn(client, ref.name, opts.labels);
    if (foreign.length > 0) return `it holds objects this Package does not manage (${foreign.join(', ')})`;
    if (unreadable.length > 0) return `it may hold objects of others: could not list ${unreadable.slice(0, 5).join(', ')} in it`;
  }
  if (ref.kind === 'CustomResourceDefinition' && ref.apiVersion.startsWith('apiextensions.k8s.io/')) {
    if (opts.crdDeletion === 'Never') return 'CRDs are kept (crdDeletion: Never)';
    if (opts.crdDeletion === 'Always') return undefined;
    let foreign: string[];
    try {
      foreign = await foreignCustomResources(client, live, opts.labels);
    } catch (err) {
      return `could not list its custom resources to make sure none is someone else's (${err instanceof Error ? err.message : String(err)})`;
    }
    if (foreign.length > 0) {
      return `custom resources this Package did not create still exist (${foreign.join(', ')}); delete them first, or set crdDeletion: Always`;
    }
  }
  return undefined;
}

/**
 * Attempts of get-then-delete when the object keeps changing in between (a new
 * Deployment's controller writes its status several times in its first second),
 * with a growing pause between them.
 */
const ATTEMPTS = 6;
const FIRST_PAUSE_MS = 50;

async function deleteOne(client: KubeClient, ref: ObjectRef, opts: ResolvedDeleteOptions): Promise<Outcome> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    let live: ClusterObject | undefined;
    // First from the cache when it holds the object: the precondition below catches a stale copy.
    const cached = attempt === 1 ? opts.cache?.lookup(ref).object : undefined;
    try {
      live = cached ?? await client.get<ClusterObject>(ref);
    } catch (err) {
      if (err instanceof UnknownKindError) return { action: 'deleted' };
      throw err;
    }
    if (live === undefined || live.metadata?.deletionTimestamp) return { action: 'deleted' };
    if (!carriesLabels(live, opts.labels)) return { action: 'skipped' };
    const kept = await reasonToKeep(client, ref, live, opts);
    if (kept !== undefined) return { action: 'skipped', kept };
    const uid = live.metadata?.uid;
    const resourceVersion = live.metadata?.resourceVersion;
    try {
      await client.delete(ref, {
        propagationPolicy: opts.propagation,
        ...(uid && resourceVersion ? { preconditions: { uid, resourceVersion } } : {}),
      });
      return { action: 'deleted' };
    } catch (err) {
      // 409: it changed since the read (maybe relabelled): read it again.
      if (!isConflict(err)) throw err;
    }
    if (attempt < ATTEMPTS) await sleep(FIRST_PAUSE_MS * 2 ** (attempt - 1), opts.signal);
  }
  return { failure: `it kept changing during ${ATTEMPTS} attempts to delete it` };
}

function kindOf(entry: InventoryEntry): string {
  try {
    const parts = parseObjectId(entry.id);
    return `${parts.group}/${parts.kind}`;
  } catch {
    return '';
  }
}

/** Splits a list into runs of consecutive entries of the same kind. */
function runsOfKind(entries: readonly InventoryEntry[]): InventoryEntry[][] {
  const runs: InventoryEntry[][] = [];
  for (const entry of entries) {
    const last = runs[runs.length - 1];
    if (last && kindOf(last[0] as InventoryEntry) === kindOf(entry)) last.push(entry);
    else runs.push([entry]);
  }
  return runs;
}

/**
 * Deletes the objects of `entries` (given in apply order) that still carry
 * `options.labels`, in reverse order. Never rejects for one object's failure;
 * rejects only when the signal aborts or the options are invalid.
 */
export async function deleteObjects(client: KubeClient, entries: readonly InventoryEntry[],
  options: DeleteObjectsOptions): Promise<DeleteResult> {
  const opts = resolveDeleteOptions(options);
  const changeSet = new ChangeSet();
  const failures: DeleteFailure[] = [];
  const kept: KeptObject[] = [];
  for (const run of runsOfKind([...entries].reverse())) {
    const outcomes = await mapBounded(run, opts.concurrency, async (entry): Promise<Outcome> => {
      opts.signal?.throwIfAborted();
      try {
        return await deleteOne(client, refOfEntry(entry), opts);
      } catch (err) {
        return { failure: err instanceof Error ? err.message : String(err) };
      }
    });
    run.forEach((entry, i) => {
      const outcome = outcomes[i] as Outcome;
      let subject: string;
      try {
        subject = subjectOfEntry(entry);
      } catch {
        subject = entry.id;
      }
      if ('failure' in outcome) failures.push({ id: entry.id, subject, message: outcome.failure });
      else changeSet.add({ id: entry.id, subject, action: outcome.action } satisfies ChangeSetEntry);
      if ('kept' in outcome && outcome.kept !== undefined) kept.push({ id: entry.id, subject, reason: outcome.kept });
    });
  }
  return { changeSet, failures, kept };
}
