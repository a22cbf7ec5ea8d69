/**
 * The shared tail of every rollout that ends well — a revision from the source
 * or a pinned one: the revision becomes Available (the previous one
 * Superseded), the status may say what was applied, and the history is trimmed
 * to `historyLimit`.
 */
import type { Logger } from '../../runtime/logging.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { PackageRevision } from '../api.ts';
import type { RevisionCache } from '../revisions/cache.ts';
import { markAvailable } from '../revisions/history.ts';
import { listRevisions } from '../revisions/store.ts';
import { collectRevisions } from '../rollback/gc.ts';
import type { PackageSettings } from './settings.ts';
import type { PackageOutcome } from './status.ts';

/** What {@link finishRevision} needs of the reconcile. */
export interface FinishDeps {
  readonly client: KubeClient;
  readonly settings: Pick<PackageSettings, 'historyLimit'>;
  readonly log: Logger;
  /** Told about the revision's new status, so the next reconcile sees it before the watch does. */
  readonly revisionCache?: RevisionCache | undefined;
}

/** Where the tail records what was applied. */
export interface FinishRecord {
  appliedRevision?: string;
}

/**
 * Marks `revision` Available (superseding the others of `history`, the
 * Package's revisions as the reconcile read them) and trims the history when it
 * exceeds the limit; returns the ready outcome with `message` (and `reason`,
 * e.g. `Pinned`).
 */
export async function finishRevision(deps: FinishDeps, record: FinishRecord, revision: PackageRevision,
  history: readonly PackageRevision[], sourceRevision: string, message: string, reason?: string): Promise<PackageOutcome> {
  record.appliedRevision = revision.spec.source.revision;
  const changed = await markAvailable(deps.client, revision, `Applied and healthy: ${sourceRevision}`, deps.log, history);
  for (const rev of changed) deps.revisionCache?.remember(rev);
  const historyLength = history.length + (history.some((r) => r.spec.revision === revision.spec.revision) ? 0 : 1);
  if (historyLength > deps.settings.historyLimit) {
    const namespace = revision.metadata.namespace ?? '';
    await collectRevisions(deps.client, await listRevisions(deps.client, namespace, revision.spec.packageName),
      deps.settings.historyLimit, revision.spec.revision, deps.log);
  }
  return { kind: 'ready', message, ...(reason === undefined ? {} : { reason }) };
}
