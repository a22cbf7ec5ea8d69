/**
 * `historyLimit`: how many PackageRevisions a Package keeps. The oldest go
 * first, but two are never collected whatever the limit: the revision the
 * cluster runs (`status.currentRevision`) and the newest Available one (what
 * an automatic rollback returns to). A revision newer than the current one
 * that never finished (no phase: a rollout in flight, or one a crash cut
 * short) is the write-ahead record of objects that may exist, so it stays too.
 */
import type { KubeClient } from '../../runtime/kube.ts';
import type { Logger } from '../../runtime/logging.ts';
import { packageRevisionResource, type PackageRevision } from '../api.ts';

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

/** Deletes what {@link revisionsToCollect} picks; a failed delete is logged and retried at the next rollout. */
export async function collectRevisions(client: KubeClient, revisions: readonly PackageRevision[], limit: number,
  current: number | undefined, log: Logger): Promise<number[]> {
  const deleted: number[] = [];
  for (const rev of revisionsToCollect(revisions, limit, current)) {
    try {
      await client.delete({
        apiVersion: packageRevisionResource.apiVersion, kind: packageRevisionResource.kind,
        namespace: rev.metadata.namespace ?? '', name: rev.metadata.name ?? '',
      });
      deleted.push(rev.spec.revision);
    } catch (err) {
      log.warn({ err, revision: rev.spec.revision }, 'could not delete an old PackageRevision');
    }
  }
  return deleted;
}
