/**
 * The Package reconciler: keeps the cluster equal to the revision a Package
 * names. A fixed skeleton around the ordered steps of reconcile/steps.ts:
 *
 * 1. take the informer's copy of the Package, or read it fresh while a write of
 *    ours has not come back through the watch (or after a failed attempt);
 * 2. deletion: the finalizer removes the package's objects, last phase first
 *    (unless `prune: false`), then lets the Package go;
 * 3. add the finalizer; leave a suspended Package alone;
 * 4. run the steps, which record what they learned;
 * 5. one status patch at the end, only when the status changed, and an Event
 *    when something happened (`3 created, 1 configured, 2 pruned`);
 * 6. turn the outcome into what the work queue does next, by the failure model
 *    both controllers share (runtime/failure.ts): requeue at `interval`, retry
 *    up to `retryInterval`, back off, or stall.
 *
 * A reconcile with no new source revision, no values change and no drift writes
 * nothing and sends no request for the package's objects: the engine plans from
 * its cache and records (reconcile/engine.ts, ssa/state.ts), the revision exists,
 * the status is equal, and no Event is recorded. A reconcile whose signal aborted
 * (a newer generation, a lost lease, shutdown) writes no status either.
 */
import { ConditionType, getCondition } from '../runtime/conditions.ts';
import type { ReconcileContext, Reconciler } from '../runtime/controller.ts';
import { isNotFound } from '../runtime/kube-transport.ts';
import { WaitingError, type ReconcileResult } from '../runtime/errors.ts';
import { FailureCounts, nextAfterFailure, nextAfterSuccess } from '../runtime/failure.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { KubeClient } from '../runtime/kube.ts';
import type { Logger } from '../runtime/logging.ts';
import type { ObjectRef } from '../runtime/object.ts';
import { REQUESTED_AT_ANNOTATION } from '../runtime/predicates.ts';
import { errorMessage } from '../runtime/redact.ts';
import { packageResource, statusInventory, type InventoryEntry, type Package, type PackageRevision, type PackageStatus } from './api.ts';
import type { ArtifactCache } from './artifact.ts';
import { announceSkippedFiles } from './bundle/notes.ts';
import { parseObjectId } from './bundle/object-id.ts';
import { inventoryOfRecord, unionInventory } from './inventory.ts';
import { KindScopes } from './reconcile/bundle.ts';
import { RolledBackFailure, toPackageFailure } from './reconcile/failure.ts';
import { namespacesGoing, namespaceTerminating } from './reconcile/namespace-state.ts';
import { matchesLabelSelector, settingsOf, type PackageSettings, type TenancyFlags } from './reconcile/settings.ts';
import { mergePatch } from '../runtime/merge-patch.ts';
import { correctionStartStatus, rolloutStartStatus, rolloutUnderWay, retryingSameAttempt, summarizeStatus, type PackageOutcome } from './reconcile/status.ts';
import { guardRevisionSpecs } from './revisions/guard.ts';
import { runSteps, type RunRecord } from './reconcile/steps.ts';
import { readRevisionPhases } from './revisions/read.ts';
import { listRevisions } from './revisions/store.ts';
import { deleteObjects } from './ssa/delete.ts';
import { restoreContext, type EngineMemory } from './reconcile/engine.ts';
import type { OwnWrites } from './reconcile/own-writes.ts';
import type { ObjectReads } from './reconcile/source.ts';
import type { RevisionCache } from './revisions/cache.ts';
import type { RevisionKeys } from './revisions/keys.ts';
import { packageLabels } from './ssa/options.ts';

/** The finalizer that removes a Package's objects before the Package goes. */
export const PACKAGE_FINALIZER = 'apply.trellis.dev/finalizer';

/** Options of {@link packageReconciler}. */
export interface PackageReconcilerOptions extends TenancyFlags {
  /** The controller's client. */
  readonly client: KubeClient;
  readonly events: Pick<EventRecorder, 'normal' | 'warning'>;
  readonly artifacts: ArtifactCache;
  /** Only Packages whose labels match are reconciled (`--watch-label-selector`). */
  readonly watchLabelSelector?: string | undefined;
  /** Delay before looking at a dependency again (default 10 s; dependencies also wake their dependents). */
  readonly dependencyRequeueMs?: number | undefined;
  /** First delay between health polls (default 500 ms). */
  readonly healthPollIntervalMs?: number | undefined;
  /** Largest compressed size of what one PackageRevision records, inline and in slices (default 64 MB). */
  readonly revisionSizeLimit?: number | undefined;
  /** Told the inventory after each reconcile that computed one (the drift watcher watches its kinds). */
  readonly onInventory?: ((key: string, inventory: readonly InventoryEntry[]) => void) | undefined;
  /** When a drift event for the key was seen last (for the log line that says how long correction took). */
  readonly driftSeenAt?: Map<string, number> | undefined;
  /** The engine's memory (managed-object cache, applied records); without it every object is read and dry-run. */
  readonly engine?: EngineMemory | undefined;
  /** The watched PackageRevisions; without it the history is listed on every reconcile. */
  readonly revisionCache?: RevisionCache | undefined;
  /** The keys PackageRevisions are sealed and signed with (revisions/keys.ts). */
  readonly revisionKeys: RevisionKeys;
  readonly logger?: Logger | undefined;
  /** The controller's writes of Packages not seen back yet; with it a reconcile starts from the informer's copy. */
  readonly ownWrites?: OwnWrites | undefined;
  /** Reads of sources and dependencies (the controller's informers, falling back to the client); default the client. */
  readonly reads?: ObjectReads | undefined;
}

function refOfPackage(namespace: string | undefined, name: string): ObjectRef {
  return { apiVersion: packageResource.apiVersion, kind: packageResource.kind, name, ...(namespace ? { namespace } : {}) };
}

/** The client a Package's objects are read and written through: the service account's when it has one. */
export function objectsClientFor(client: KubeClient, pkg: Package, serviceAccount: string | undefined): KubeClient {
  return serviceAccount === undefined ? client : client.impersonate(pkg.metadata.namespace ?? '', serviceAccount);
}

/** Builds the reconciler for the Package controller. */
export function packageReconciler(opts: PackageReconcilerOptions): Reconciler<Package> {
  // Every write of the controller goes through the guard: a PackageRevision's spec can be created, never changed.
  const client = guardRevisionSpecs(opts.client);
  const scopes = new KindScopes(client);
  const flags: TenancyFlags = { defaultServiceAccount: opts.defaultServiceAccount, allowCrossNamespaceRefs: opts.allowCrossNamespaceRefs };
  // Consecutive `retry` and `backoff` failures per Package, for their exponential delays.
  const failures = new FailureCounts();

  return async (key: string, ctx: ReconcileContext<Package>): Promise<ReconcileResult | void> => {
    const ref = refOfPackage(ctx.namespace, ctx.name);
    // The informer's copy, unless a write of ours has not come back through the watch yet: then a fresh read.
    // (A copy: the reconcile changes its status as it goes, and the informer's object is shared.) After a failed
    // attempt (a conflict: the copy was older than the object) the Package is read fresh.
    // A Package being deleted is read fresh too: its uninstall runs once, and a copy may not know it is done.
    const useCached = ctx.cached !== undefined && ctx.cached.metadata.deletionTimestamp === undefined && ctx.failures === 0
      && opts.ownWrites?.settled(key) === true;
    const pkg = useCached ? structuredClone(ctx.cached) : await client.get<Package>(ref);
    if (!pkg || !matchesLabelSelector(opts.watchLabelSelector, pkg.metadata.labels)) {
      failures.reset(key);
      return;
    }
    if (pkg.metadata.deletionTimestamp) return finalize(pkg, ref, ctx.log);
    if (!(pkg.metadata.finalizers ?? []).includes(PACKAGE_FINALIZER)) {
      const answer = await client.patch<Package>(ref, {
        metadata: { finalizers: [...(pkg.metadata.finalizers ?? []), PACKAGE_FINALIZER], resourceVersion: pkg.metadata.resourceVersion },
      });
      opts.ownWrites?.wrote(key, answer.metadata.resourceVersion);
    }
    if (pkg.spec.suspend) {
      ctx.log.debug('suspended');
      return;
    }
    const driftAt = opts.driftSeenAt?.get(key);
    opts.driftSeenAt?.delete(key);
    const run: RunRecord = {};
    let settings: PackageSettings | undefined;
    let outcome: PackageOutcome;
    // The status as last written: the rollout-start patch moves it, and the final patch is computed against it.
    let written = pkg.status;
    /** Patches the status from `from` to `to` (nothing when equal), noting the write so the next reconcile waits for it. */
    const patchStatus = async (from: PackageStatus | undefined, to: PackageStatus): Promise<void> => {
      const patch = mergePatch(from ?? {}, to);
      if (patch !== undefined) opts.ownWrites?.wrote(key, (await client.patchStatus<Package>(ref, patch)).metadata.resourceVersion);
    };
    /** Writes a status that says what is under way before it happens. */
    const announceStart = async (next: PackageStatus): Promise<void> => {
      written = next;
      await patchStatus(pkg.status, written);
      pkg.status = written;
    };
    const onRolloutStart = async (revision: PackageRevision, sourceRevision: string): Promise<void> => {
      // A rollout waiting for health comes back many times: its status already says it is under way.
      if (rolloutUnderWay(written, pkg.metadata.generation, revision.spec.revision, sourceRevision)) return;
      if (retryingSameAttempt(written, pkg.metadata.generation, sourceRevision)) return;
      await announceStart(rolloutStartStatus(written, pkg.metadata.generation, revision.spec.revision, sourceRevision));
    };
    const onCorrectionStart = (message: string): Promise<void> =>
      announceStart(correctionStartStatus(written, pkg.metadata.generation, message));
    const before = pkg.status;
    try {
      settings = settingsOf(pkg, flags);
      outcome = await runSteps(pkg, {
        client, reads: opts.reads, objectsClient: objectsClientFor(client, pkg, settings.serviceAccount), artifacts: opts.artifacts, scopes, flags,
        settings, log: ctx.log, healthPollIntervalMs: opts.healthPollIntervalMs, revisionSizeLimit: opts.revisionSizeLimit, onRolloutStart, onCorrectionStart,
        onBundleRead: (bundle) => announceSkippedFiles(opts.events, pkg, bundle),
        key, engine: opts.engine, revisionCache: opts.revisionCache, signal: ctx.signal, revisionKeys: opts.revisionKeys,
      }, run);
    } catch (err) {
      outcome = { kind: 'failed', failure: toPackageFailure(err) };
    }
    if (ctx.signal?.aborted) {
      // Stale (a newer generation) or no longer ours to write (a lost lease, shutdown): the status is left to the next attempt.
      ctx.log.info({ reason: errorMessage(ctx.signal.reason) }, 'reconcile cancelled; status not written');
      return;
    }
    const awaitingHealth = waitsForHealth(outcome);
    if (opts.engine) {
      const applied = opts.engine.rolloutChanges(key, run.applied, awaitingHealth);
      if (applied) run.applied = applied;
    }
    const status = summarizeStatus({
      previous: written, generation: pkg.metadata.generation, outcome,
      ...(run.attempted ? { attempted: run.attempted } : {}),
      ...(run.appliedRevision !== undefined ? { appliedRevision: run.appliedRevision } : {}),
      ...(run.currentRevision !== undefined ? { currentRevision: run.currentRevision } : {}),
      ...(run.inventory ? { inventory: run.inventory } : {}),
      ...(run.drift !== undefined ? { drift: run.drift } : {}),
      requestedAt: pkg.metadata.annotations?.[REQUESTED_AT_ANNOTATION],
    });
    await patchStatus(written, status);
    opts.onInventory?.(key, statusInventory(status));
    opts.engine?.settle(key, awaitingHealth, run.healthChecks);
    await announce(pkg, before, status, outcome, run, ctx.log, driftAt);
    return resultOf(key, outcome, settings, run.verifyInMs);
  };

  /** Records an Event and a log line for what this reconcile did; nothing when nothing happened. */
  async function announce(pkg: Package, before: PackageStatus | undefined, after: PackageStatus, outcome: PackageOutcome,
    run: RunRecord, log: Logger, driftAt: number | undefined): Promise<void> {
    const readyBefore = getCondition(before?.conditions, ConditionType.Ready);
    const readyAfter = getCondition(after.conditions, ConditionType.Ready);
    if (outcome.kind === 'progressing') {
      const counts = changeCounts(run);
      // Said once per rollout: later wake-ups while waiting write nothing new.
      const first = getCondition(before?.conditions, ConditionType.Reconciling)?.message !== getCondition(after.conditions, ConditionType.Reconciling)?.message
        && readyBefore?.reason !== 'Progressing';
      if (counts !== undefined && first) await opts.events.normal(pkg, 'Progressing', `revision ${run.currentRevision ?? after.currentRevision ?? 0}: ${counts}; waiting for health`);
      return;
    }
    if (outcome.kind === 'failed') {
      if (readyBefore?.reason === readyAfter?.reason && readyBefore?.message === readyAfter?.message) return;
      const { failure } = outcome;
      const announced = getCondition(before?.conditions, ConditionType.RolledBack);
      if (failure instanceof RolledBackFailure && announced?.status === 'True' && announced.message.startsWith(failure.rollbackMessage)) {
        // The rollback was announced when it happened; while its restore becomes healthy only the end is worth an Event.
        if (failure.restoring === undefined) await opts.events.normal(pkg, 'Restored', `rolled back to revision ${failure.restoredRevision}, which is healthy again`);
        return;
      }
      await opts.events.warning(pkg, failure.reason, failure.message);
      return;
    }
    const counts = changeCounts(run);
    const driftBefore = getCondition(before?.conditions, ConditionType.DriftDetected);
    const driftAfter = getCondition(after.conditions, ConditionType.DriftDetected);
    if (driftAfter && driftAfter.message !== driftBefore?.message) {
      await opts.events.warning(pkg, 'DriftDetected', driftAfter.message);
    }
    const becameReady = readyBefore?.status !== 'True' || readyBefore.message !== readyAfter?.message;
    if (counts === undefined && !becameReady) return;
    const summary = counts ?? 'no changes';
    const corrected = run.upToDate === true && counts !== undefined;
    const reason = corrected ? 'DriftCorrected' : 'Applied';
    const note = `revision ${after.currentRevision ?? 0} (${after.lastAppliedRevision ?? ''}): ${summary}${corrected ? ` (${correctedSubjects(run)})` : ''}`;
    log.info({ reason, revision: after.currentRevision, ...(corrected && driftAt ? { sinceDriftEventMs: Date.now() - driftAt } : {}) }, note);
    await opts.events.normal(pkg, reason, note);
  }

  /** The finalizer: deletes the inventory last-applied first (unless prune is off), then releases the Package. */
  async function finalize(pkg: Package, ref: ObjectRef, log: Logger): Promise<void> {
    const finalizers = pkg.metadata.finalizers ?? [];
    if (!finalizers.includes(PACKAGE_FINALIZER)) return;
    const namespace = pkg.metadata.namespace ?? '';
    if (pkg.spec.prune !== false && !pkg.spec.suspend) {
      // The latest revision records what the last attempt applied, even if its status never said so (a crash).
      const inventory = unionInventory(statusInventory(pkg.status), await recordedInventory(pkg, log));
      // Objects in a namespace being deleted go with it (a Package whose own namespace goes, most often).
      const going = await namespacesGoing(client, inventory);
      const toDelete = inventory.filter((e) => !going.has(parseObjectId(e.id).namespace));
      const sa = pkg.spec.serviceAccountName ?? opts.defaultServiceAccount;
      const engine = await restoreContext(opts.engine, `${namespace}/${pkg.metadata.name ?? ''}`, inventory);
      const result = await deleteObjects(objectsClientFor(client, pkg, sa), toDelete, {
        labels: packageLabels(pkg.metadata.name ?? '', namespace), ...(pkg.spec.crdDeletion ? { crdDeletion: pkg.spec.crdDeletion } : {}),
        ...(engine ? { cache: engine.cache } : {}),
      });
      if (result.failures.length > 0) {
        const message = `could not delete ${result.failures.length} object(s): ${result.failures.map((f) => `${f.subject}: ${f.message}`).join('; ')}`;
        // In a namespace being deleted the objects go with it, and the account may already be gone.
        // Read again unless already known to be going (a namespace's deletion does not turn back).
        if (!going.has(namespace) && !await namespaceTerminating(client, namespace)) {
          await opts.events.warning(pkg, 'UninstallFailed', message);
          throw new WaitingError('UninstallFailed', message, { retryAfterMs: 5_000 });
        }
        log.warn({ failures: result.failures.length }, `${message}; releasing the Package as its namespace is being deleted`);
      }
      const deleted = result.changeSet.count('deleted');
      const withNamespaces = inventory.length - toDelete.length;
      log.info({ deleted, kept: result.kept.length, withNamespaces }, 'uninstalled');
      const kept = result.kept.length === 0 ? '' : `; kept ${result.kept.slice(0, 5).map((k) => `${k.subject} (${k.reason})`).join('; ')}`
        + (result.kept.length > 5 ? `; and ${result.kept.length - 5} more` : '');
      const left = withNamespaces === 0 ? '' : `; ${withNamespaces} go with namespace(s) being deleted (${[...going].join(', ')})`;
      if (inventory.length > 0) await opts.events.normal(pkg, 'Uninstalled', `${deleted} pruned${left}${kept}`);
    }
    await client.patch(ref, {
      metadata: { finalizers: finalizers.filter((f) => f !== PACKAGE_FINALIZER), resourceVersion: pkg.metadata.resourceVersion },
    }).catch((err: unknown) => {
      // Gone already: another attempt released it.
      if (!isNotFound(err)) throw err;
    });
  }

  /** The objects the Package's latest PackageRevision records (none when it cannot be read). */
  async function recordedInventory(pkg: Package, log: Logger): Promise<InventoryEntry[]> {
    try {
      const latest = (await listRevisions(client, pkg.metadata.namespace ?? '', pkg.metadata.name ?? '')).at(-1);
      return latest ? inventoryOfRecord(await readRevisionPhases(client, latest, opts.revisionKeys, { packageUid: pkg.metadata.uid })) : [];
    } catch (err) {
      log.warn({ err }, 'cannot read the latest PackageRevision; uninstalling what the status lists');
      return [];
    }
  }

  /** What the queue does next: the shared result builder of `runtime/failure.ts`. */
  function resultOf(key: string, outcome: PackageOutcome, settings: PackageSettings | undefined, verifyInMs: number | undefined): ReconcileResult {
    const intervalMs = settings?.intervalMs ?? DEFAULT_INTERVAL_MS;
    // The background verification's next batch may be due before the interval (drift/verify.ts).
    if (outcome.kind === 'ready') return nextAfterSuccess(key, Math.min(intervalMs, verifyInMs ?? intervalMs), failures);
    if (outcome.kind === 'progressing') return nextAfterSuccess(key, outcome.recheckAfterMs, failures);
    if (outcome.failure instanceof RolledBackFailure && outcome.failure.restoring) {
      return nextAfterSuccess(key, outcome.failure.restoring.recheckAfterMs, failures);
    }
    return nextAfterFailure(key, outcome.failure, {
      intervalMs, retryIntervalMs: settings?.retryIntervalMs ?? intervalMs, dependencyDelayMs: opts.dependencyRequeueMs,
    }, failures);
  }
}

/** True while the Package waits for its objects to become healthy: a rollout's, or a rollback's restore. */
function waitsForHealth(outcome: PackageOutcome): boolean {
  return outcome.kind === 'progressing' || (outcome.kind === 'failed' && outcome.failure instanceof RolledBackFailure && outcome.failure.restoring !== undefined);
}

/** A Package's interval when its spec cannot be read (the failure then stalls anyway). */
const DEFAULT_INTERVAL_MS = 600_000;

/** The objects a drift correction wrote, for the Event: `ConfigMap/ns/a, Deployment/ns/web` (at most 5 named). */
function correctedSubjects(run: Pick<RunRecord, 'applied'>): string {
  const written = (run.applied?.entries ?? []).filter((e) => e.action !== 'unchanged' && e.action !== 'skipped');
  const named = written.slice(0, 5).map((e) => e.subject).join(', ');
  return written.length > 5 ? `${named}, and ${written.length - 5} more` : named;
}

/** `3 created, 1 configured, 2 pruned`, or undefined when nothing was written. */
export function changeCounts(run: Pick<RunRecord, 'applied' | 'pruned'>): string | undefined {
  const parts: string[] = [];
  for (const action of ['created', 'recreated', 'configured'] as const) {
    const n = run.applied?.count(action) ?? 0;
    if (n > 0) parts.push(`${n} ${action}`);
  }
  const pruned = run.pruned?.count('deleted') ?? 0;
  if (pruned > 0) parts.push(`${pruned} pruned`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}
