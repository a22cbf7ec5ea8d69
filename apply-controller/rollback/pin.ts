/**
 * A pin (`spec.rollback.revision: N`): the Package holds PackageRevision N's
 * own objects and stops following its source. The source is not read at all —
 * a pin works with the registry, the Git server and the artifact server down.
 * Everything else the Package may have in the cluster is pruned (what newer
 * revisions added), and what they deleted or changed comes back. Ready says
 * `Pinned` and to which revision; removing the pin resumes the source. A
 * revision that does not verify, or whose objects a fresh revision could not
 * hold now, is refused before anything is applied (restore.ts).
 */
import type { InventoryEntry, Package, PackageRevision } from '../api.ts';
import { PackageFailure, toPackageFailure } from '../reconcile/failure.ts';
import { collisionOf } from '../reconcile/collision.ts';
import { restoreContext } from '../reconcile/engine.ts';
import { finishRevision } from '../reconcile/finish.ts';
import type { RunRecord, StepDeps } from '../reconcile/steps.ts';
import { persistedRolloutStart, readyForGeneration, waitingForHealth, type PackageOutcome } from '../reconcile/status.ts';
import { getRevision } from '../revisions/store.ts';
import { packageLabels } from '../ssa/options.ts';
import { describeRevision } from './recorded.ts';
import { restoreRevision, restoreVerification } from './restore.ts';

/** Applies and holds the pinned revision; `revisions` is the Package's history, `managed` what may exist. */
export async function applyPinned(pkg: Package, deps: StepDeps, run: RunRecord, revisions: readonly PackageRevision[],
  managed: readonly InventoryEntry[]): Promise<PackageOutcome> {
  const { settings } = deps;
  const number = settings.pinnedRevision ?? 0;
  const name = pkg.metadata.name ?? '';
  const namespace = pkg.metadata.namespace ?? '';
  const listed = revisions.find((r) => r.spec.revision === number);
  const previous = pkg.status;
  const isCurrent = previous?.currentRevision === number && listed?.status?.phase === 'Available';
  // A restore reads the revision as the apiserver holds it now: the history comes from a watch that may not have seen
  // its latest change yet, and a record changed since must be judged (and refused) as it is, not as it was.
  const rev = isCurrent || !listed ? listed : await getRevision(deps.client, namespace, name, number);
  if (!rev) {
    const known = revisions.map((r) => r.spec.revision).join(', ');
    throw new PackageFailure(undefined, 'RevisionNotFound',
      `spec.rollback.revision is ${number}, but ${name} has no PackageRevision ${number} (revisions: ${known || 'none'})`, 'stall');
  }
  run.upToDate = isCurrent && readyForGeneration(previous, pkg.metadata.generation);
  run.currentRevision = number;
  if (!isCurrent) await deps.onRolloutStart?.(rev, `${rev.spec.source.revision} (pinned)`);
  let engine = await restoreContext(deps.engine, deps.key, managed);
  const key = deps.key ?? `${namespace}/${name}`;
  if (deps.engine && engine && settings.driftMode === 'correct') {
    // Verified like a followed revision: a webhook added while the Package is pinned is found too. Until the pin is
    // applied its inventory may still name what it prunes; the schedule of a revision it has not seen starts empty.
    const verifying = deps.engine.verifying(engine, key, number, managed.map((e) => e.id));
    engine = verifying.context;
    run.verifyInMs = verifying.nextInMs;
  }
  if (!run.upToDate && settings.wait) deps.engine?.expectHealth(key);
  const startedAt = deps.engine?.rolloutStart(key, number, persistedRolloutStart(previous, number)) ?? Date.now();
  const result = await restoreRevision(deps.objectsClient, rev, {
    ...(engine ? { engine, checkHealthOnce: { startedAt } } : {}),
    managed, labels: packageLabels(name, namespace), settings, pollIntervalMs: deps.healthPollIntervalMs, signal: deps.signal,
    recordsClient: deps.client, verify: restoreVerification(pkg, deps.revisionKeys, deps.scopes, settings),
    collision: collisionOf(pkg, deps.client, managed),
  });
  run.applied = result.applied;
  if (result.pruned) run.pruned = result.pruned;
  run.inventory = result.inventory;
  if (result.pending) {
    // Applied, not healthy yet: the worker is released; a change of one of the objects (or the deadline) brings it back.
    if (previous?.currentRevision === undefined) delete run.currentRevision;
    else run.currentRevision = previous.currentRevision;
    return waitingForHealth(`Pinning to revision ${describeRevision(rev)}`, result.pending, startedAt, settings.timeoutMs);
  }
  if (result.refused) {
    // Nothing was applied: the status keeps naming what the cluster runs.
    if (previous?.currentRevision === undefined) delete run.currentRevision;
    else run.currentRevision = previous.currentRevision;
  }
  if (result.error !== undefined) throw toPackageFailure(result.error);
  run.drift = null;
  return finishRevision(deps, run, rev, revisions, rev.spec.source.revision,
    `Pinned to revision ${describeRevision(rev)} by spec.rollback.revision; the source is not followed`, 'Pinned');
}
