/**
 * The ordered steps of one Package reconcile, after the skeleton (package.ts)
 * fetched the object and handled deletion and suspend:
 *
 * 1. dependencies Ready at their latest revision   (Ready=False DependencyNotReady)
 *    — a pin (`spec.rollback.revision`) stops here and re-applies that revision's
 *    recorded objects instead (rollback/pin.ts; Ready reason Pinned, RevisionNotFound)
 * 2. the source's artifact                        (ArtifactNotReady, SourceNotFound, CrossNamespaceRefNotAllowed)
 * 3. values from ConfigMaps and Secrets            (ValuesNotFound, InvalidValues)
 * 4. download, verify, unpack; read and validate   (ArtifactFailed: DigestMismatch, UnsafeArchive, every bundle reason)
 * 5. drift modes `ignore` / `warn` when this exact revision is applied and healthy: nothing, or a diff (DriftDetected)
 * 6. the PackageRevision, written before anything else is (ArtifactFailed: RevisionTooLarge);
 *    a state recorded before reuses its revision; the status says Reconciling
 *    with the revision number before the first object is written
 * 7. apply phase by phase, waiting for health     (ApplyFailed, HealthCheckFailed);
 *    with `rollback.onFailure` a failed new revision is replaced by the newest
 *    Available one (rollback/automatic.ts: RolledBack, Stalled) and held back
 * 8. prune what the previous inventory had        (ApplyFailed: PruneFailed)
 * 9. mark the revision Available (the previous one Superseded); trim the history to `historyLimit`
 *
 * The first failure stops the list. Everything learned on the way is recorded in
 * a {@link RunRecord} that the skeleton turns into the one status patch, so the
 * status never claims more than happened: `lastAppliedRevision` is set only by
 * step 8 succeeding.
 */
import { setCondition } from '../../runtime/conditions.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { Logger } from '../../runtime/logging.ts';
import type { InventoryEntry, Package, PackageRevision } from '../api.ts';
import type { ArtifactCache } from '../artifact.ts';
import { inventoryAfterFailure, inventoryOf, staleEntries, unionInventory } from '../inventory.ts';
import { contentHashOf } from '../revisions/encode.ts';
import { markAvailable, newestAvailable, unfinishedInventory } from '../revisions/history.ts';
import { findRevisionFor, listRevisions, recordsSame, setRevisionStatus, writeRevision } from '../revisions/store.ts';
import { holdsAfterRollback, heldFailure, rollBack } from '../rollback/automatic.ts';
import { collectRevisions } from '../rollback/gc.ts';
import { applyPinned } from '../rollback/pin.ts';
import { restoreRevision } from '../rollback/restore.ts';
import type { ChangeSet } from '../ssa/change-set.ts';
import { packageLabels } from '../ssa/options.ts';
import { applyPhases, describeDrift, detectDrift, phasesOf, pruneStale, type PhaseObjects } from './apply.ts';
import { readPackageBundle, type KindScopes } from './bundle.ts';
import { PackageFailure, toPackageFailure } from './failure.ts';
import type { PackageSettings, TenancyFlags } from './settings.ts';
import { checkDependencies, resolveSource } from './source.ts';
import { readyForGeneration, type PackageOutcome } from './status.ts';
import { readValuesFrom } from './values.ts';
import { restoreContext, type EngineMemory } from './engine.ts';
import type { Values } from '../bundle/values.ts';
import type { ReadBundleSuccess } from '../bundle/read.ts';
import type { RevisionPhase } from '../revisions/encode.ts';

/** Longest sleep of a Package waiting for health: the cache normally wakes it much sooner. */
const HEALTH_RECHECK_MS = 10_000;

/** What the steps need besides the Package. */
export interface StepDeps {
  /** The controller's own client: sources, dependencies, values, revisions. */
  readonly client: KubeClient;
  /** The client for the package's objects (impersonating the service account when there is one). */
  readonly objectsClient: KubeClient;
  readonly artifacts: ArtifactCache;
  readonly scopes: KindScopes;
  readonly flags: TenancyFlags;
  readonly settings: PackageSettings;
  readonly log: Logger;
  readonly healthPollIntervalMs?: number | undefined;
  readonly revisionSizeLimit?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** The Package's key (`namespace/name`). */
  readonly key?: string | undefined;
  /** The engine's memory (cache, records, bundles, rollout clocks); without it every object is read and dry-run. */
  readonly engine?: EngineMemory | undefined;
  /**
   * Told before the first object of a rollout is written (a new revision, or one
   * not Available yet), so the status can say what is under way before it happens.
   */
  readonly onRolloutStart?: ((revision: PackageRevision, sourceRevision: string) => Promise<void>) | undefined;
}

/** What a reconcile learned and did, for the status and the Event. */
export interface RunRecord {
  attempted?: { revision: string; valuesHash?: string };
  appliedRevision?: string;
  currentRevision?: number;
  inventory?: InventoryEntry[];
  /** Drift message (mode warn), null when none was found, undefined when not looked for. */
  drift?: string | null;
  /** Objects applied (including unchanged). */
  applied?: ChangeSet;
  /** Objects pruned. */
  pruned?: ChangeSet;
  /** True when the revision applied was already applied and healthy: changes were drift corrections. */
  upToDate?: boolean;
}

/** Runs the steps; returns the outcome (never throws). */
export async function runSteps(pkg: Package, deps: StepDeps, run: RunRecord): Promise<PackageOutcome> {
  try {
    return await steps(pkg, deps, run);
  } catch (err) {
    return { kind: 'failed', failure: toPackageFailure(err) };
  }
}

async function steps(pkg: Package, deps: StepDeps, run: RunRecord): Promise<PackageOutcome> {
  const { client, objectsClient, settings } = deps;
  const namespace = pkg.metadata.namespace ?? '';
  const name = pkg.metadata.name ?? '';
  const previous = pkg.status;
  await checkDependencies(client, pkg, deps.flags);
  const revisions = await listRevisions(client, namespace, name);
  // Everything that may be in the cluster: the inventory, plus what a rollout cut short by a crash wrote.
  const managed = unionInventory(previous?.inventory ?? [], await unfinishedInventory(client, revisions, previous?.currentRevision));
  if (settings.pinnedRevision !== undefined) return applyPinned(pkg, deps, run, revisions, managed);

  const source = await resolveSource(client, pkg, deps.flags);
  const { artifact } = source;
  run.attempted = { revision: artifact.revision };
  const valuesFrom = await readValuesFrom(client, pkg);
  const { bundle, phases, record, contentHash } = await loadRevisionContent(pkg, deps, artifact, valuesFrom);
  run.attempted = { revision: artifact.revision, valuesHash: bundle.valuesHash };
  const sourceRecord = { kind: source.kind, name: source.name, namespace: source.namespace, revision: artifact.revision, digest: artifact.digest };
  const inventory = inventoryOf(phases.flatMap((p) => p.objects));
  const current = revisions.find((r) => r.spec.revision === previous?.currentRevision);
  const sameAsCurrent = current !== undefined && recordsSame(current, contentHash, sourceRecord, bundle.valuesHash);
  const upToDate = sameAsCurrent && current.status?.phase === 'Available'
    && readyForGeneration(previous, pkg.metadata.generation) && previous?.lastAppliedRevision === artifact.revision;
  run.upToDate = upToDate;
  const labels = packageLabels(name, namespace);
  const ready: PackageOutcome = { kind: 'ready', message: `Applied revision ${current?.spec.revision ?? 0}: ${artifact.revision}` };

  if (upToDate && settings.driftMode === 'ignore') return ready;
  if (upToDate && settings.driftMode === 'warn') {
    const drifted = await detectDrift(objectsClient, phases, { labels, ignore: settings.ignore, ...(deps.signal ? { signal: deps.signal } : {}) });
    run.drift = drifted.length > 0 ? describeDrift(drifted) : null;
    return ready;
  }

  // One record per distinct state: a state applied before (a retry, a source moving back) keeps its number.
  const existing = sameAsCurrent ? current : findRevisionFor(revisions, contentHash, sourceRecord, bundle.valuesHash);
  if (existing && current && settings.rollbackOnFailure && holdsAfterRollback(pkg, existing, artifact.revision, bundle.valuesHash)) {
    return holdRolledBack(pkg, deps, run, existing, current, managed);
  }
  // The write-ahead record: what is about to be applied, before the first write.
  const revision = existing ?? await writeRevision(client, {
    pkg, revision: (revisions.at(-1)?.spec.revision ?? 0) + 1, source: sourceRecord, valuesHash: bundle.valuesHash, phases: record,
  }, { history: revisions, ...(deps.revisionSizeLimit === undefined ? {} : { sizeLimit: deps.revisionSizeLimit }) });
  run.currentRevision = revision.spec.revision;
  const isRollout = revision.spec.revision !== previous?.currentRevision || revision.status?.phase !== 'Available';
  if (isRollout) await deps.onRolloutStart?.(revision, artifact.revision);

  const trustLive = current !== undefined && sameAsCurrent && current.status?.phase === 'Available';
  const key = deps.key ?? `${namespace}/${name}`;
  const engine = deps.engine ? await deps.engine.contextFor(key, phases, managed, trustLive) : undefined;
  const outcome = await applyPhases(objectsClient, phases, {
    labels, ignore: settings.ignore, force: settings.force, wait: settings.wait, timeoutMs: settings.timeoutMs,
    ...(deps.healthPollIntervalMs === undefined ? {} : { pollIntervalMs: deps.healthPollIntervalMs }),
    ...(deps.signal ? { signal: deps.signal } : {}),
    ...(engine && deps.engine ? { engine, checkHealthOnce: true, startedAt: deps.engine.rolloutStart(key, revision.spec.revision) } : {}),
  });
  run.applied = outcome.changeSet;
  if (outcome.pending) {
    // Applied, not healthy yet: release the worker; a change of one of the objects (or the deadline) brings it back.
    run.inventory = inventoryAfterFailure(managed, inventory, outcome.changeSet);
    // Until the rollout ends the previous revision stays current: an automatic rollback returns to it.
    delete run.currentRevision;
    const { unhealthy } = outcome.pending;
    const shown = unhealthy.slice(0, 3).map((u) => `${u.subject}: ${u.message}`).join('; ');
    const more = unhealthy.length > 3 ? `; and ${unhealthy.length - 3} more` : '';
    const left = (deps.engine?.rolloutStart(key, revision.spec.revision) ?? Date.now()) + settings.timeoutMs - Date.now();
    return {
      kind: 'progressing',
      message: `Applying revision ${revision.spec.revision}: ${artifact.revision}; waiting for ${unhealthy.length} object(s) of phase ${outcome.pending.phase} to become healthy: ${shown}${more}`,
      recheckAfterMs: Math.max(100, Math.min(left + 50, HEALTH_RECHECK_MS)),
    };
  }
  if (outcome.error !== undefined) {
    run.inventory = inventoryAfterFailure(managed, inventory, outcome.changeSet);
    const failure = toPackageFailure(outcome.error);
    // setCondition keeps the transition time of an unchanged condition, so a retry that fails alike writes nothing.
    const conditions = failure.condition === undefined ? undefined : setCondition(
      revision.status?.conditions?.filter((c) => c.type === failure.condition),
      { type: failure.condition, status: 'True', reason: failure.reason, message: failure.message },
    );
    await setRevisionStatus(client, revision, { phase: 'Failed', message: failure.message, ...(conditions ? { conditions } : {}) })
      .catch((err: unknown) => deps.log.warn({ err }, 'could not mark the revision Failed'));
    const good = settings.rollbackOnFailure && revision.spec.revision !== previous?.currentRevision
      ? newestAvailable(revisions, revision.spec.revision) : undefined;
    if (!good) throw failure;
    deps.log.warn({ failed: revision.spec.revision, restoring: good.spec.revision, reason: failure.reason }, 'rolling back');
    const back = await rollBack(objectsClient, revision, failure, good, {
      recordsClient: client,
      ...(engine ? { engine: { ...engine, trustLive: false } } : {}),
      managed: run.inventory, labels, settings, pollIntervalMs: deps.healthPollIntervalMs, signal: deps.signal,
    });
    run.applied.append(back.restore.applied);
    if (back.restore.pruned) run.pruned = back.restore.pruned;
    run.inventory = back.restore.inventory;
    if (back.restore.error === undefined) {
      run.currentRevision = good.spec.revision;
      run.appliedRevision = good.spec.source.revision;
    }
    throw back.failure;
  }

  if (settings.prune) {
    const stale = staleEntries(managed, inventory);
    if (stale.length > 0) {
      const pruned = await pruneStale(objectsClient, stale, labels, deps.signal);
      run.pruned = pruned.changeSet;
      if (pruned.failures.length > 0) {
        const survivors = new Set(pruned.failures.map((f) => f.id));
        run.inventory = unionInventory(inventory, stale.filter((e) => survivors.has(e.id)));
        const list = pruned.failures.map((f) => `${f.subject}: ${f.message}`).join('; ');
        throw new PackageFailure('ApplyFailed', 'PruneFailed', `could not prune ${pruned.failures.length} object(s): ${list}`, 'retry');
      }
    }
  }
  run.inventory = inventory;
  run.appliedRevision = artifact.revision;
  run.drift = null;
  await markAvailable(client, revision, `Applied and healthy: ${artifact.revision}`, deps.log);
  if (revisions.length + (existing ? 0 : 1) > settings.historyLimit) {
    await collectRevisions(client, await listRevisions(client, namespace, name), settings.historyLimit, revision.spec.revision, deps.log);
  }
  return { kind: 'ready', message: `Applied revision ${revision.spec.revision}: ${artifact.revision}` };
}

/**
 * The source still asks for the revision a rollback moved away from: keep the
 * restored revision applied (drift is still corrected) and end as rolled back
 * again, writing nothing new.
 */
async function holdRolledBack(pkg: Package, deps: StepDeps, run: RunRecord, failed: PackageRevision, restored: PackageRevision,
  managed: readonly InventoryEntry[]): Promise<PackageOutcome> {
  const { settings } = deps;
  const labels = packageLabels(pkg.metadata.name ?? '', pkg.metadata.namespace ?? '');
  const engine = await restoreContext(deps.engine, deps.key, managed);
  const result = await restoreRevision(deps.objectsClient, restored, {
    recordsClient: deps.client,
    ...(engine ? { engine } : {}),
    managed, labels, settings, pollIntervalMs: deps.healthPollIntervalMs, signal: deps.signal,
  });
  run.upToDate = true;
  run.applied = result.applied;
  if (result.pruned) run.pruned = result.pruned;
  run.inventory = result.inventory;
  run.currentRevision = restored.spec.revision;
  if (result.error !== undefined) throw toPackageFailure(result.error);
  throw heldFailure(pkg, failed);
}

/** A revision's content: the validated bundle, its phases, the record the PackageRevision keeps, and its hash. */
interface RevisionContent {
  readonly bundle: ReadBundleSuccess;
  readonly phases: PhaseObjects[];
  readonly record: RevisionPhase[];
  readonly contentHash: string;
}

/**
 * Reads and validates the bundle, unless the engine kept it from a reconcile
 * with the same artifact, path, values and tenancy (then nothing is read).
 */
function loadRevisionContent(pkg: Package, deps: StepDeps, artifact: { readonly digest: string; readonly revision: string; readonly url: string },
  valuesFrom: Values[]): Promise<RevisionContent> {
  const load = async (): Promise<RevisionContent> => {
    const bundle = await deps.artifacts.withArtifact(artifact, (dir) => readPackageBundle(dir, pkg, deps.scopes, {
      values: pkg.spec.values, valuesFrom, restricted: deps.settings.tenant,
    }));
    const phases = phasesOf(bundle.phases);
    const record = phases.map((p) => ({ name: p.name, objects: p.objects.map((o) => o.object) }));
    return { bundle, phases, record, contentHash: contentHashOf(record) };
  };
  if (!deps.engine) return load();
  const inputs = {
    digest: artifact.digest, path: pkg.spec.path, values: pkg.spec.values, valuesFrom, namespace: pkg.metadata.namespace,
    targetNamespace: pkg.spec.targetNamespace, restricted: deps.settings.tenant,
  };
  return deps.engine.memo(deps.key ?? `${pkg.metadata.namespace ?? ''}/${pkg.metadata.name ?? ''}`, inputs, load);
}

