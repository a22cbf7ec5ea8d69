/**
 * `historyLimit`: how many PackageRevisions a Package keeps. The oldest go
 * first, but two are never collected whatever the limit: the revision the
 * cluster runs (`status.currentRevision`) and the newest Available one (what
 * an automatic rollback returns to). A revision newer than the current one
 * that never finished (no phase: a rollout in flight, or one a crash cut
 * short) is the write-ahead record of objects that may exist, so it stays too.
 *
 * The RevisionSlices that only collected revisions named go after them: the
 * revisions are deleted first, the Package's history is listed again, and only
 * slices no remaining revision names are deleted — so a delete that failed, or
 * a revision written in between, keeps every slice it needs.
 */
import type { KubeClient } from '../../runtime/kube.ts';
import type { Logger } from '../../runtime/logging.ts';
import { packageRevisionResource, type PackageRevision } from '../api.ts';
import { deleteSlices, sliceNamesOf } from '../revisions/slices.ts';
import { listRevisions } from '../revisions/store.ts';

/** The default of `spec.historyLimit`. */
export const DEFAULT_HISTORY_LIMIT = 10;

/** The revisions to delete so at most `limit` remain (oldest first), sparing the protected ones. Pure. */
export function revisionsToCollect(revisions: readonly PackageRevision[], limit: number, current: number | undefined): PackageRevision[] {
  const sorted = [...revisions].sort((a, b) => a.spec.revision - b.spec.revision);
  const newestAvailable = sorted.filter((r) => r.status?.phase === 'Available').at(-1)?.spec.revision;
  const inFlight = (r: PackageRevision): boolean => r.status?.phase === undefined && r.spec.revision > (current ?? 0);
  const protectedOnes = (r: PackageRevision): boolean => r.spec.revision === current || r.spec.revision === newestAvailable || inFlight(r);
  let excess = sorted.length - Math.max(1, limit);
  const out: PackageRevision[] = [];
  for (const rev of sorted) {
    if (excess <= 0) break;
    if (protectedOnes(rev)) continue;
    out.push(rev);
    excess -= 1;
  }
  return out;
}

/**
 * Deletes what {@link revisionsToCollect} picks, then the slices no remaining
 * revision names; a failed delete is logged and retried at the next rollout.
 * Resolves with the revision numbers deleted.
 */
export async function collectRevisions(client: KubeClient, revisions: readonly PackageRevision[], limit: number,
  current: number | undefined, log: Logger): Promise<number[]> {
  const deleted: PackageRevision[] = [];
  for (const rev of revisionsToCollect(revisions, limit, current)) {
    try {
      await client.delete({
        apiVersion: packageRevisionResource.apiVersion, kind: packageRevisionResource.kind,
        namespace: rev.metadata.namespace ?? '', name: rev.metadata.name ?? '',
      });
      deleted.push(rev);
    } catch (err) {
      log.warn({ err, revision: rev.spec.revision }, 'could not delete an old PackageRevision');
    }
  }
  await collectSlices(client, deleted, log);
  return deleted.map((r) => r.spec.revision);
}

/** Deletes the slices the `deleted` revisions named that no revision of their Package still names. */
async function collectSlices(client: KubeClient, deleted: readonly PackageRevision[], log: Logger): Promise<void> {
  const first = deleted[0];
  const candidates = sliceNamesOf(deleted);
  if (!first || candidates.size === 0) return;
  const namespace = first.metadata.namespace ?? '';
  try {
    // Listed again after the deletes: what is still there is what must stay readable.
    const kept = sliceNamesOf(await listRevisions(client, namespace, first.spec.packageName));
    await deleteSlices(client, namespace, [...candidates].filter((name) => !kept.has(name)), log);
  } catch (err) {
    log.warn({ err }, 'could not collect the RevisionSlices of deleted revisions');
  }
}
