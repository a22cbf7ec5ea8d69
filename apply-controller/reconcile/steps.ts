/**
 * The ordered steps of one Package reconcile, after the skeleton (package.ts)
 * fetched the object and handled deletion and suspend:
 *
 * 1. dependencies Ready at their latest revision   (Ready=False DependencyNotReady)
 * 2. the source's artifact                        (ArtifactNotReady, SourceNotFound, CrossNamespaceRefNotAllowed)
 * 3. values from ConfigMaps and Secrets            (ValuesNotFound, InvalidValues)
 * 4. download, verify, unpack; read and validate   (ArtifactFailed: DigestMismatch, UnsafeArchive, every bundle reason)
 * 5. drift modes `ignore` / `warn` when this exact revision is applied and healthy: nothing, or a diff (DriftDetected)
 * 6. the PackageRevision, written before anything else is (ArtifactFailed: RevisionTooLarge)
 * 7. apply phase by phase, waiting for health     (ApplyFailed, HealthCheckFailed)
 * 8. prune what the previous inventory had        (ApplyFailed: PruneFailed)
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
import { getRevision, listRevisions, recordsSame, setRevisionStatus, writeRevision } from '../revisions/store.ts';
import type { ChangeSet } from '../ssa/change-set.ts';
import { packageLabels } from '../ssa/options.ts';
import { applyPhases, describeDrift, detectDrift, phasesOf, pruneStale } from './apply.ts';
import { readPackageBundle, type KindScopes } from './bundle.ts';
import { PackageFailure, toPackageFailure } from './failure.ts';
import type { PackageSettings, TenancyFlags } from './settings.ts';
import { checkDependencies, resolveSource } from './source.ts';
import { readyForGeneration, type PackageOutcome } from './status.ts';
import { readValuesFrom } from './values.ts';

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
  await checkDependencies(client, pkg, deps.flags);
  const source = await resolveSource(client, pkg, deps.flags);
  const { artifact } = source;
  run.attempted = { revision: artifact.revision };
  const valuesFrom = await readValuesFrom(client, pkg);
  const bundle = await deps.artifacts.withArtifact(artifact, (dir) => readPackageBundle(dir, pkg, deps.scopes, {
    values: pkg.spec.values, valuesFrom, restricted: settings.tenant,
  }));
  run.attempted = { revision: artifact.revision, valuesHash: bundle.valuesHash };

  const phases = phasesOf(bundle.phases);
  const record = phases.map((p) => ({ name: p.name, objects: p.objects.map((o) => o.object) }));
  const contentHash = contentHashOf(record);
  const sourceRecord = { kind: source.kind, name: source.name, namespace: source.namespace, revision: artifact.revision, digest: artifact.digest };
  const previous = pkg.status;
  const inventory = inventoryOf(phases.flatMap((p) => p.objects));
  const current = previous?.currentRevision ? await getRevision(client, namespace, name, previous.currentRevision) : undefined;
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

  // The write-ahead record: what is about to be applied, before the first write.
  let revision: PackageRevision | undefined = sameAsCurrent ? current : undefined;
  if (!revision) {
    const latest = (await listRevisions(client, namespace, name)).at(-1);
    revision = latest && recordsSame(latest, contentHash, sourceRecord, bundle.valuesHash) ? latest
      : await writeRevision(client, {
        pkg, revision: (latest?.spec.revision ?? 0) + 1, source: sourceRecord, valuesHash: bundle.valuesHash, phases: record,
      }, deps.revisionSizeLimit === undefined ? {} : { sizeLimit: deps.revisionSizeLimit });
  }
  run.currentRevision = revision.spec.revision;

  const outcome = await applyPhases(objectsClient, phases, {
    labels, ignore: settings.ignore, force: settings.force, wait: settings.wait, timeoutMs: settings.timeoutMs,
    ...(deps.healthPollIntervalMs === undefined ? {} : { pollIntervalMs: deps.healthPollIntervalMs }),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  run.applied = outcome.changeSet;
  if (outcome.error !== undefined) {
    run.inventory = inventoryAfterFailure(previous?.inventory, inventory, outcome.changeSet);
    const failure = toPackageFailure(outcome.error);
    // setCondition keeps the transition time of an unchanged condition, so a retry that fails alike writes nothing.
    const conditions = failure.condition === undefined ? undefined : setCondition(
      revision.status?.conditions?.filter((c) => c.type === failure.condition),
      { type: failure.condition, status: 'True', reason: failure.reason, message: failure.message },
    );
    await setRevisionStatus(client, revision, { phase: 'Failed', message: failure.message, ...(conditions ? { conditions } : {}) })
      .catch((err: unknown) => deps.log.warn({ err }, 'could not mark the revision Failed'));
    throw failure;
  }

  if (settings.prune) {
    const stale = staleEntries(previous?.inventory, inventory);
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
  await markAvailable(client, revision, artifact.revision, deps.log);
  return { kind: 'ready', message: `Applied revision ${revision.spec.revision}: ${artifact.revision}` };
}

/** Marks the revision Available and, the first time, every other Available revision of the Package Superseded. */
async function markAvailable(client: KubeClient, revision: PackageRevision, sourceRevision: string, log: Logger): Promise<void> {
  const changed = await setRevisionStatus(client, revision, { phase: 'Available', message: `Applied and healthy: ${sourceRevision}` });
  if (!changed) return;
  const others = await listRevisions(client, revision.metadata.namespace ?? '', revision.spec.packageName);
  for (const other of others) {
    if (other.spec.revision === revision.spec.revision || other.status?.phase !== 'Available') continue;
    await setRevisionStatus(client, other, { phase: 'Superseded', message: `Superseded by revision ${revision.spec.revision}` })
      .catch((err: unknown) => log.warn({ err, revision: other.spec.revision }, 'could not mark a revision Superseded'));
  }
}
