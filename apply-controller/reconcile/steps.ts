/**
 * The ordered steps of one Package reconcile, after the skeleton (package.ts)
 * fetched the object and handled deletion and suspend. Each step reads and
 * extends one {@link PackageRun}; it returns nothing to go on, or the outcome
 * that ends the reconcile; a failure is a thrown {@link PackageFailure} (the
 * one failure model), which also ends it:
 *
 *  1. `dependencies`  Ready at their latest revision          (Ready=False DependencyNotReady)
 *  2. `history`       the revisions, and everything the Package may have in the cluster
 *  3. `pin`           `spec.rollback.revision`: re-apply that revision and finish (rollback/pin.ts)
 *  4. `source`        the source's artifact                   (ArtifactNotReady, SourceNotFound, CrossNamespaceRefNotAllowed)
 *  5. `content`       values (read as the Package's account), then the bundle read and validated, or kept from
 *                     the last reconcile; a tenant's reach outside its namespace checked
 *                                                             (ValuesNotFound, ValuesForbidden, InvalidValues, AccessDenied,
 *                                                              ArtifactFailed: every bundle reason)
 *  6. `observe`       drift modes `ignore` / `warn` on an applied, healthy revision: nothing, or a diff (DriftDetected)
 *  7. `hold`          after an automatic rollback, the failed state is not tried again (RolledBack)
 *  8. `record`        the PackageRevision, written before any object (ArtifactFailed: RevisionTooLarge)
 *  9. `apply`         phase by phase through the engine; health checked once per phase, the worker
 *                     released while it is not there yet (Progressing); a failure rolls back with
 *                     `rollback.onFailure`                  (ApplyFailed, HealthCheckFailed, RolledBack)
 * 10. `prune`         what the Package had and the revision does not (ApplyFailed: PruneFailed)
 * 11. `finish`        the revision Available (the shared tail, also a pin's), history trimmed
 *
 * Everything learned on the way is recorded in the {@link RunRecord} the
 * skeleton turns into the one status patch, so the status never claims more
 * than happened: `lastAppliedRevision` is set only by `finish`.
 */
import { ConditionType, setCondition } from '../../runtime/conditions.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { Logger } from '../../runtime/logging.ts';
import { statusInventory, type InventoryEntry, type Package, type PackageRevision } from '../api.ts';
import type { ArtifactCache } from '../artifact.ts';
import { combineHealthChecks, type HealthChecks } from '../health/checks.ts';
import { inventoryAfterFailure, inventoryOf, staleEntries, unionInventory } from '../inventory.ts';
import { contentHashOf, keyedContentHash, withObjectTexts } from '../revisions/encode.ts';
import type { RevisionKey, RevisionKeys } from '../revisions/keys.ts';
import { keyedHash } from '../revisions/seal.ts';
import { newestAvailable, unfinishedInventory } from '../revisions/history.ts';
import { findRevisionFor, getRevision, listRevisions, recordsSame, setRevisionStatus, writeRevision } from '../revisions/store.ts';
import { holdsAfterRollback, heldFailure, rollBack } from '../rollback/automatic.ts';
import { applyPinned } from '../rollback/pin.ts';
import { restoreRevision, restoreVerification } from '../rollback/restore.ts';
import type { ChangeSet } from '../ssa/change-set.ts';
import { targetOf } from '../ssa/objects.ts';
import type { EngineContext } from '../ssa/options.ts';
import { packageLabels } from '../ssa/options.ts';
import { applyPhases, describeDrift, detectDrift, phasesOf, pruneStale, type PhaseObjects } from './apply.ts';
import { readPackageBundle, type KindScopes } from './bundle.ts';
import { PackageFailure, toPackageFailure } from './failure.ts';
import type { PackageSettings, TenancyFlags } from './settings.ts';
import { checkDependencies, resolveSource, type ObjectReads } from './source.ts';
import { persistedRolloutStart, readyForGeneration, waitingForHealth, type PackageOutcome } from './status.ts';
import { readValuesFrom } from './values.ts';
import { checkReach } from './reach.ts';
import { failedOnTerminatingNamespace, namespaceTerminating } from './namespace-state.ts';
import { restoreContext, type EngineMemory } from './engine.ts';
import { collisionOf } from './collision.ts';
import { finishRevision } from './finish.ts';
import type { ResolvedSource } from './source.ts';
import type { RevisionCache } from '../revisions/cache.ts';
import type { Values } from '../bundle/values.ts';
import type { ReadBundleSuccess } from '../bundle/read.ts';
import type { RevisionPhase } from '../revisions/encode.ts';


/** What the steps need besides the Package. */
export interface StepDeps {
  /** The controller's own client: sources, dependencies, values, revisions. */
  readonly client: KubeClient;
  /** Reads of sources and dependencies from the controller's informers (default: the client). */
  readonly reads?: ObjectReads | undefined;
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
  /** The watched PackageRevisions; without it (or before it synced) the history is listed. */
  readonly revisionCache?: RevisionCache | undefined;
  /** The keys revisions are sealed and signed with (revisions/keys.ts). */
  readonly revisionKeys: RevisionKeys;
  /**
   * Told before the first object of a rollout is written (a new revision, or one
   * not Available yet), so the status can say what is under way before it happens.
   */
  readonly onRolloutStart?: ((revision: PackageRevision, sourceRevision: string) => Promise<void>) | undefined;
  /** Told when a new bundle was read (not when the engine kept it), so what it skipped can be announced. */
  readonly onBundleRead?: ((bundle: ReadBundleSuccess) => Promise<void>) | undefined;
  /** Told before a drift correction re-creates objects of the current revision that are missing or being deleted. */
  readonly onCorrectionStart?: ((message: string) => Promise<void>) | undefined;
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
  /** The checks the health of a rollout left waiting is judged by (set only then). */
  healthChecks?: HealthChecks;
  /** When the background verification's next batch is due (ms from now), set when this reconcile took part in it. */
  verifyInMs?: number;
}

/** One reconcile in progress: the Package, what the steps need, and what they learned so far. */
export interface PackageRun {
  readonly pkg: Package;
  readonly deps: StepDeps;
  /** What the status and the Event are made of. */
  readonly record: RunRecord;
  revisions?: PackageRevision[];
  /** Everything that may be in the cluster: the inventory, plus what a rollout cut short by a crash wrote. */
  managed?: InventoryEntry[];
  source?: ResolvedSource;
  content?: RevisionContent;
  /** The revision the status names as current, if it still exists. */
  current?: PackageRevision | undefined;
  /** The current revision records exactly this source, content and values. */
  sameAsCurrent?: boolean;
  /** The revision this reconcile applies, once recorded. */
  revision?: PackageRevision;
  /**
   * The content's record with each object's canonical text, when this reconcile
   * read the bundle: computed once for the content hash and kept for the
   * revision's slices (then released), but not with the content the engine remembers.
   */
  recordTexts?: RevisionPhase[];
}

/** A step: undefined to go on, or the outcome that ends the reconcile; throws a PackageFailure to stop it. */
export type PackageStep = (run: PackageRun) => Promise<PackageOutcome | undefined>;

/** Reads a field a previous step set; a missing one is a bug in the order of the steps. */
function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`step order: ${what} is not known yet`);
  return value;
}

const awaitDependencies: PackageStep = async ({ pkg, deps }) => {
  await checkDependencies(deps.reads ?? deps.client, pkg, deps.flags);
  return undefined;
};

const readHistory: PackageStep = async (run) => {
  const { pkg, deps } = run;
  const namespace = pkg.metadata.namespace ?? '';
  const name = pkg.metadata.name ?? '';
  run.revisions = deps.revisionCache?.list(namespace, name) ?? await listRevisions(deps.client, namespace, name);
  const unfinished = await unfinishedInventory(deps.client, run.revisions, pkg.status?.currentRevision, deps.revisionKeys,
    { packageUid: pkg.metadata.uid });
  run.managed = unionInventory(statusInventory(pkg.status), unfinished);
  run.current = run.revisions.find((r) => r.spec.revision === pkg.status?.currentRevision);
  return undefined;
};

const applyPin: PackageStep = async (run) => {
  if (run.deps.settings.pinnedRevision === undefined) return undefined;
  return applyPinned(run.pkg, run.deps, run.record, need(run.revisions, 'the history'), need(run.managed, 'the managed objects'));
};

const resolveArtifact: PackageStep = async (run) => {
  run.source = await resolveSource(run.deps.reads ?? run.deps.client, run.pkg, run.deps.flags);
  run.record.attempted = { revision: run.source.artifact.revision };
  return undefined;
};

const renderContent: PackageStep = async (run) => {
  const { pkg, deps } = run;
  const { artifact } = need(run.source, 'the source');
  // Read as the Package's account: a tenant names only what it may read itself.
  const valuesFrom = await readValuesFrom(deps.objectsClient, pkg);
  const content = await loadRevisionContent(pkg, deps, artifact, valuesFrom, (texts) => { run.recordTexts = texts; });
  run.content = keyedContent(content, await deps.revisionKeys.hashingKey());
  run.record.attempted = { revision: artifact.revision, valuesHash: run.content.bundle.valuesHash };
  run.sameAsCurrent = run.current !== undefined
    && recordsSame(run.current, run.content.contentHash, sourceRecordOf(need(run.source, 'the source')), run.content.bundle.valuesHash);
  return undefined;
};

/** What a PackageRevision records about its source. */
function sourceRecordOf(source: ResolvedSource): { kind: ResolvedSource['kind']; name: string; namespace: string; revision: string; digest: string } {
  return { kind: source.kind, name: source.name, namespace: source.namespace, revision: source.artifact.revision, digest: source.artifact.digest };
}

const observeOnly: PackageStep = async (run) => {
  const { pkg, deps, current } = run;
  const { settings } = deps;
  const { artifact } = need(run.source, 'the source');
  const upToDate = run.sameAsCurrent === true && current?.status?.phase === 'Available'
    && readyForGeneration(pkg.status, pkg.metadata.generation) && pkg.status?.lastAppliedRevision === artifact.revision;
  run.record.upToDate = upToDate;
  if (!upToDate || settings.driftMode === 'correct') return undefined;
  // Nothing is corrected in these modes, so nothing is verified in the background either.
  deps.engine?.verification.forget(keyOf(pkg, deps));
  if (settings.driftMode === 'warn') {
    const drifted = await detectDrift(deps.objectsClient, need(run.content, 'the content').phases, {
      labels: labelsOf(pkg), ignore: settings.ignore, ...(deps.signal ? { signal: deps.signal } : {}),
    });
    run.record.drift = drifted.length > 0 ? describeDrift(drifted) : null;
  }
  return { kind: 'ready', message: `Applied revision ${current?.spec.revision ?? 0}: ${artifact.revision}` };
};

const holdAfterRollback: PackageStep = async (run) => {
  const { pkg, deps, current } = run;
  const content = need(run.content, 'the content');
  const source = need(run.source, 'the source');
  const revisions = need(run.revisions, 'the history');
  // One record per distinct state: a state applied before (a retry, a source moving back) keeps its number.
  const existing = run.sameAsCurrent ? current : findRevisionFor(revisions, content.contentHash, sourceRecordOf(source), content.bundle.valuesHash);
  if (existing) run.revision = existing;
  if (!existing || !current || !deps.settings.rollbackOnFailure
    || !holdsAfterRollback(pkg, existing, source.artifact.revision, content.bundle.valuesHash)) return undefined;
  return holdRolledBack(pkg, deps, run.record, existing, current, need(run.managed, 'the managed objects'));
};

const recordRevision: PackageStep = async (run) => {
  const { pkg, deps } = run;
  const content = need(run.content, 'the content');
  const source = need(run.source, 'the source');
  const revisions = need(run.revisions, 'the history');
  refuseEmpty(pkg, content, need(run.managed, 'the managed objects'));
  deps.signal?.throwIfAborted();
  if (!run.revision) {
    // A namespace being deleted refuses the record's creates. Its objects going away wake the Package again and again
    // (drift), and each attempt would chunk and compress the whole package first: one read ends it instead.
    const namespace = pkg.metadata.namespace ?? '';
    if (await namespaceTerminating(deps.client, namespace)) {
      throw new PackageFailure(undefined, 'NamespaceTerminating', `namespace ${namespace} is being deleted: no new revision is recorded or applied`, 'stall');
    }
    // Sealed with the current key, read again when old: a rotation takes effect at the next revision written.
    const key = await deps.revisionKeys.current();
    const keyed = key.id === content.key?.id ? content : keyedContent(content, key);
    run.content = keyed;
    run.record.attempted = { revision: source.artifact.revision, valuesHash: keyed.bundle.valuesHash };
    // The write-ahead record: what is about to be applied, before the first write.
    run.revision = await writeRevision(deps.client, {
      pkg, revision: (revisions.at(-1)?.spec.revision ?? 0) + 1, source: sourceRecordOf(source), valuesHash: keyed.bundle.valuesHash,
      // Each object's canonical text once for the size estimate, the encoding and the slices; not kept with the content.
      phases: run.recordTexts ?? withObjectTexts(keyed.record),
    }, { key, history: revisions, ...(deps.revisionSizeLimit === undefined ? {} : { sizeLimit: deps.revisionSizeLimit }) });
  }
  // Needed for the record only: not held through the apply (megabytes for a large package).
  run.recordTexts = undefined;
  const { revision } = run;
  deps.revisionCache?.remember(revision);
  run.record.currentRevision = revision.spec.revision;
  const isRollout = revision.spec.revision !== pkg.status?.currentRevision || revision.status?.phase !== 'Available';
  if (isRollout) await deps.onRolloutStart?.(revision, source.artifact.revision);
  return undefined;
};

const applyRevision: PackageStep = async (run) => {
  const { pkg, deps, record } = run;
  const { settings } = deps;
  const content = need(run.content, 'the content');
  const revision = need(run.revision, 'the revision');
  const managed = need(run.managed, 'the managed objects');
  const { artifact } = need(run.source, 'the source');
  const inventory = inventoryOf(content.phases.flatMap((p) => p.objects));
  const trustLive = run.sameAsCurrent === true && run.current?.status?.phase === 'Available';
  const key = keyOf(pkg, deps);
  let engine = deps.engine ? await deps.engine.contextFor(key, content.phases, managed, trustLive) : undefined;
  if (deps.engine && engine && settings.driftMode === 'correct') {
    // The background verification's batch, when one is due, is checked by dry run (a new revision starts its schedule).
    const verifying = deps.engine.verifying(engine, key, revision.spec.revision, inventory.map((e) => e.id));
    engine = verifying.context;
    record.verifyInMs = verifying.nextInMs;
  }
  if (!record.upToDate && settings.wait) deps.engine?.expectHealth(key);
  const startedAt = deps.engine?.rolloutStart(key, revision.spec.revision, persistedRolloutStart(pkg.status, revision.spec.revision)) ?? Date.now();
  // A correction, or a retry after a namespace was found going away: what the cache says is missing is re-created, unless
  // its namespace is being deleted (then the step fails at once instead of waiting for objects that will not come back).
  if (engine && (record.upToDate || failedOnTerminatingNamespace(pkg.status))) {
    const missing = missingObjects(engine, content.phases);
    if (missing.length > 0) await refuseTerminatingNamespaces(deps.client, missing);
    if (missing.length > 0 && record.upToDate && deps.onCorrectionStart) {
      const shown = missing.slice(0, 5).map((m) => m.subject).join(', ') + (missing.length > 5 ? `, and ${missing.length - 5} more` : '');
      await deps.onCorrectionStart(`${missing.length} object(s) of revision ${revision.spec.revision} are missing or being deleted (${shown}); re-creating them`);
    }
  }
  const healthChecks = combineHealthChecks(settings.healthChecks, content.bundle.manifest?.healthChecks);
  const outcome = await applyPhases(deps.objectsClient, content.phases, {
    labels: labelsOf(pkg), ignore: settings.ignore, force: settings.force, wait: settings.wait, timeoutMs: settings.timeoutMs,
    ...(deps.healthPollIntervalMs === undefined ? {} : { pollIntervalMs: deps.healthPollIntervalMs }),
    ...(deps.signal ? { signal: deps.signal } : {}),
    ...(engine ? { engine, checkHealthOnce: true, startedAt } : {}),
    collision: collisionOf(pkg, deps.client, managed),
    healthChecks,
  });
  record.applied = outcome.changeSet;
  if (engine?.verify !== undefined) {
    const corrected = outcome.changeSet.entries.filter((e) => engine.verify?.has(e.id) === true && e.action !== 'unchanged' && e.action !== 'skipped');
    deps.log.debug({ checked: engine.verify.size, corrected: corrected.map((e) => e.subject) }, 'background verification: objects checked by dry run');
  }
  if (outcome.pending) {
    // Applied, not healthy yet: release the worker; a change of one of the objects (or the deadline) brings it back.
    record.inventory = inventoryAfterFailure(managed, inventory, outcome.changeSet);
    // Until the rollout ends the previous revision stays current: an automatic rollback returns to it.
    delete record.currentRevision;
    record.healthChecks = healthChecks;
    return waitingForHealth(`Applying revision ${revision.spec.revision}: ${artifact.revision}`, outcome.pending, startedAt, settings.timeoutMs);
  }
  if (outcome.error === undefined) return undefined;
  record.inventory = inventoryAfterFailure(managed, inventory, outcome.changeSet);
  const failure = toPackageFailure(outcome.error);
  // The revision is not at fault, and a rollback could create nothing there either.
  if (failure.reason === 'NamespaceTerminating') throw failure;
  await markFailed(run, failure);
  const listed = settings.rollbackOnFailure && revision.spec.revision !== pkg.status?.currentRevision
    ? newestAvailable(need(run.revisions, 'the history'), revision.spec.revision) : undefined;
  // As a pin's: the record to return to is judged as the apiserver holds it now, not as the history's watch last saw it.
  const good = listed && await getRevision(deps.client, pkg.metadata.namespace ?? '', pkg.metadata.name ?? '', listed.spec.revision);
  if (!good) throw failure;
  deps.log.warn({ failed: revision.spec.revision, restoring: good.spec.revision, reason: failure.reason }, 'rolling back');
  // The restore is a rollout of its own: its health deadline counts from now, and no worker waits for it.
  const back = await rollBack(deps.objectsClient, revision, failure, good, {
    recordsClient: deps.client, verify: restoreVerification(pkg, deps.revisionKeys, deps.scopes, settings),
    ...(engine ? { engine: { ...engine, trustLive: false }, checkHealthOnce: { startedAt: deps.engine?.rolloutStart(key, good.spec.revision) ?? Date.now() } } : {}),
    managed: record.inventory, labels: labelsOf(pkg), settings, pollIntervalMs: deps.healthPollIntervalMs, signal: deps.signal,
  });
  record.applied.append(back.restore.applied);
  if (back.restore.pruned) record.pruned = back.restore.pruned;
  record.inventory = back.restore.inventory;
  if (back.restore.error === undefined) {
    // Restored (or restoring: its objects are applied and the held reconciles finish it).
    record.currentRevision = good.spec.revision;
    if (back.restore.pending === undefined) record.appliedRevision = good.spec.source.revision;
  }
  throw back.failure;
};

/** An object of the revision the cache knows to be absent or being deleted. */
interface MissingObject {
  /** `Kind/namespace/name`. */
  readonly subject: string;
  /** Undefined for a cluster-scoped object. */
  readonly namespace: string | undefined;
}

/** The objects of the revision the cache knows to be absent or being deleted. */
function missingObjects(engine: EngineContext, phases: readonly PhaseObjects[]): MissingObject[] {
  const missing: MissingObject[] = [];
  for (const phase of phases) {
    for (const o of phase.objects) {
      const target = targetOf(o.object);
      const found = engine.cache.lookup(target.ref);
      if (found.known && (found.object === undefined || found.object.metadata?.deletionTimestamp)) {
        missing.push({ subject: target.subject, namespace: target.ref.namespace });
      }
    }
  }
  return missing;
}

/**
 * Fails with `NamespaceTerminating` when a namespace the missing objects live in
 * is being deleted (or is gone): nothing can be re-created there, and waiting for
 * objects the namespace controller is removing would hold the worker. One read
 * per namespace, only when a correction would re-create something. Retried on
 * the backoff; the namespace's removals do not wake the Package (controller.ts).
 */
async function refuseTerminatingNamespaces(client: KubeClient, missing: readonly MissingObject[]): Promise<void> {
  const namespaces = new Set(missing.flatMap((m) => (m.namespace === undefined ? [] : [m.namespace])));
  for (const namespace of namespaces) {
    if (!await namespaceTerminating(client, namespace)) continue;
    const count = missing.filter((m) => m.namespace === namespace).length;
    throw new PackageFailure(ConditionType.ApplyFailed, 'NamespaceTerminating',
      `namespace ${namespace} is being deleted or is gone: ${count} missing object(s) cannot be re-created there`, 'retry');
  }
}

/** Marks the revision Failed with the failure's condition; a retry that fails alike writes nothing (setCondition keeps the time). */
async function markFailed(run: PackageRun, failure: PackageFailure): Promise<void> {
  const revision = need(run.revision, 'the revision');
  const conditions = failure.condition === undefined ? undefined : setCondition(
    revision.status?.conditions?.filter((c) => c.type === failure.condition),
    { type: failure.condition, status: 'True', reason: failure.reason, message: failure.message },
  );
  await setRevisionStatus(run.deps.client, revision, { phase: 'Failed', message: failure.message, ...(conditions ? { conditions } : {}) })
    .then(() => run.deps.revisionCache?.remember(revision))
    .catch((err: unknown) => run.deps.log.warn({ err }, 'could not mark the revision Failed'));
}

const pruneLeftovers: PackageStep = async (run) => {
  const { pkg, deps, record } = run;
  const inventory = inventoryOf(need(run.content, 'the content').phases.flatMap((p) => p.objects));
  record.inventory = inventory;
  if (!deps.settings.prune) return undefined;
  deps.signal?.throwIfAborted();
  const stale = staleEntries(need(run.managed, 'the managed objects'), inventory);
  if (stale.length === 0) return undefined;
  const pruned = await pruneStale(deps.objectsClient, stale, {
    labels: labelsOf(pkg), signal: deps.signal, crdDeletion: pkg.spec.crdDeletion, cache: deps.engine?.cache,
  });
  record.pruned = pruned.changeSet;
  for (const kept of pruned.kept) deps.log.info({ object: kept.subject, reason: kept.reason }, 'kept instead of pruned');
  if (pruned.failures.length === 0) return undefined;
  const survivors = new Set(pruned.failures.map((f) => f.id));
  record.inventory = unionInventory(inventory, stale.filter((e) => survivors.has(e.id)));
  const list = pruned.failures.map((f) => `${f.subject}: ${f.message}`).join('; ');
  throw new PackageFailure('ApplyFailed', 'PruneFailed', `could not prune ${pruned.failures.length} object(s): ${list}`, 'retry');
};

const finish: PackageStep = async (run) => {
  const revision = need(run.revision, 'the revision');
  const { artifact } = need(run.source, 'the source');
  run.record.drift = null;
  return finishRevision(run.deps, run.record, revision, need(run.revisions, 'the history'), artifact.revision,
    `Applied revision ${revision.spec.revision}: ${artifact.revision}`);
};

/** The steps of a Package reconcile, in order (see the module comment). */
export const PACKAGE_STEPS: readonly { readonly name: string; readonly run: PackageStep }[] = [
  { name: 'dependencies', run: awaitDependencies },
  { name: 'history', run: readHistory },
  { name: 'pin', run: applyPin },
  { name: 'source', run: resolveArtifact },
  { name: 'content', run: renderContent },
  { name: 'observe', run: observeOnly },
  { name: 'hold', run: holdAfterRollback },
  { name: 'record', run: recordRevision },
  { name: 'apply', run: applyRevision },
  { name: 'prune', run: pruneLeftovers },
  { name: 'finish', run: finish },
];

/** Runs the steps in order until one ends the reconcile; returns the outcome (never throws). */
export async function runSteps(pkg: Package, deps: StepDeps, record: RunRecord, steps = PACKAGE_STEPS): Promise<PackageOutcome> {
  const run: PackageRun = { pkg, deps, record };
  try {
    for (const step of steps) {
      const startedAt = performance.now();
      const outcome = await step.run(run);
      deps.log.debug({ step: step.name, durationMs: Math.round(performance.now() - startedAt) }, 'step done');
      if (outcome !== undefined) return outcome;
    }
    throw new Error('the steps ended without an outcome');
  } catch (err) {
    return { kind: 'failed', failure: toPackageFailure(err) };
  }
}

/** The Package's key (`namespace/name`). */
function keyOf(pkg: Package, deps: Pick<StepDeps, 'key'>): string {
  return deps.key ?? `${pkg.metadata.namespace ?? ''}/${pkg.metadata.name ?? ''}`;
}

/**
 * A revision without objects would prune everything the Package has: most
 * likely a wrong path or an emptied repository, not a wish. Refused (before
 * anything is recorded) unless `spec.allowEmpty` says it is meant, or there is
 * nothing to prune anyway.
 */
function refuseEmpty(pkg: Package, content: RevisionContent, managed: readonly InventoryEntry[]): void {
  if (pkg.spec.allowEmpty === true || managed.length === 0) return;
  if (content.phases.some((p) => p.objects.length > 0)) return;
  throw new PackageFailure('ArtifactFailed', 'EmptyRevision',
    `the revision has no objects and would prune all ${managed.length} the Package manages; set spec.allowEmpty to allow it`, 'stall');
}

/** The labels every object of the Package carries. */
function labelsOf(pkg: Package): Record<string, string> {
  return packageLabels(pkg.metadata.name ?? '', pkg.metadata.namespace ?? '');
}

/**
 * The source still asks for the revision a rollback moved away from: keep the
 * restored revision applied (drift is still corrected) and end as rolled back
 * again, writing nothing new.
 */
async function holdRolledBack(pkg: Package, deps: StepDeps, run: RunRecord, failed: PackageRevision, restored: PackageRevision,
  managed: readonly InventoryEntry[]): Promise<PackageOutcome> {
  const { settings } = deps;
  const engine = await restoreContext(deps.engine, deps.key, managed);
  // A restore still becoming healthy is looked at once per reconcile; its deadline counts from the rollback.
  const startedAt = deps.engine?.rolloutStart(keyOf(pkg, deps), restored.spec.revision, persistedRolloutStart(pkg.status, restored.spec.revision)) ?? Date.now();
  const result = await restoreRevision(deps.objectsClient, restored, {
    recordsClient: deps.client, verify: restoreVerification(pkg, deps.revisionKeys, deps.scopes, settings),
    ...(engine ? { engine, checkHealthOnce: { startedAt } } : {}),
    managed, labels: labelsOf(pkg), settings, pollIntervalMs: deps.healthPollIntervalMs, signal: deps.signal,
  });
  run.upToDate = true;
  run.applied = result.applied;
  if (result.pruned) run.pruned = result.pruned;
  run.inventory = result.inventory;
  run.currentRevision = restored.spec.revision;
  if (result.error !== undefined) throw toPackageFailure(result.error);
  if (result.pending === undefined) run.appliedRevision = restored.spec.source.revision;
  throw heldFailure(failed, restored, result.pending && { pending: result.pending, startedAt, timeoutMs: settings.timeoutMs });
}

/** A revision's content: the validated bundle, its phases, the record the PackageRevision keeps, and its hash. */
interface RevisionContent {
  readonly bundle: ReadBundleSuccess;
  readonly phases: PhaseObjects[];
  readonly record: RevisionPhase[];
  readonly contentHash: string;
  /** The revision key its hashes are keyed with (set by {@link keyedContent}). */
  readonly key?: RevisionKey;
  /** The hashes before they were keyed (set by {@link keyedContent}, so the content can be keyed again). */
  readonly plain?: { readonly contentHash: string; readonly valuesHash: string };
}

/**
 * The content with its content and values hashes keyed with the revision key:
 * a plain hash of values or objects (Secret-sourced ones included) would let
 * anyone who reads a status or a revision confirm a guessed secret.
 */
function keyedContent(content: RevisionContent, key: RevisionKey): RevisionContent {
  const plain = content.plain ?? { contentHash: content.contentHash, valuesHash: content.bundle.valuesHash };
  return {
    ...content, key, plain, contentHash: keyedContentHash(key, plain.contentHash),
    bundle: { ...content.bundle, valuesHash: keyedHash(key, 'values', plain.valuesHash) },
  };
}

/**
 * Reads and validates the bundle, unless the engine kept it from a reconcile
 * with the same artifact, path, values and tenancy (then nothing is read).
 * `onTexts` gets the record with its objects' canonical texts when the bundle was read.
 */
function loadRevisionContent(pkg: Package, deps: StepDeps, artifact: { readonly digest: string; readonly revision: string; readonly url: string },
  valuesFrom: Values[], onTexts: (record: RevisionPhase[]) => void): Promise<RevisionContent> {
  const load = async (): Promise<RevisionContent> => {
    const bundle = await deps.artifacts.withArtifact(artifact, (dir) => readPackageBundle(dir, pkg, deps.scopes, {
      values: pkg.spec.values, valuesFrom, restricted: deps.settings.confinedToNamespace,
    }));
    await deps.onBundleRead?.(bundle);
    const phases = phasesOf(bundle.phases);
    const record = phases.map((p) => ({ name: p.name, objects: p.objects.map((o) => o.object) }));
    // A tenant's reach outside its namespace is its account's to grant: asked before the revision is recorded.
    await checkReach(deps.objectsClient, pkg.metadata.namespace ?? '', record.flatMap((p) => p.objects));
    const withTexts = withObjectTexts(record);
    onTexts(withTexts);
    return { bundle, phases, record, contentHash: contentHashOf(withTexts) };
  };
  if (!deps.engine) return load();
  const inputs = {
    digest: artifact.digest, path: pkg.spec.path, values: pkg.spec.values, valuesFrom, namespace: pkg.metadata.namespace,
    targetNamespace: pkg.spec.targetNamespace, restricted: deps.settings.confinedToNamespace, serviceAccount: deps.settings.serviceAccount,
  };
  return deps.engine.memo(keyOf(pkg, deps), inputs, load);
}

