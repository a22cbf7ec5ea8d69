/**
 * Re-applying a PackageRevision's own recorded objects: the one operation both
 * the automatic rollback and a pin are made of. Nothing is applied before the
 * revision is verified (its signature with the revision key, its Package's
 * uid, every blob and slice: a changed one is refused with reason
 * `RevisionTampered`) and its objects pass the rules of a fresh revision
 * (validate.ts: reason `RevisionNotAllowed`). The recorded objects are then
 * applied phase by phase (waiting for health like any rollout), then every
 * object the Package may have in the cluster that the revision does not hold
 * is pruned — which removes what a bad revision added, while the re-apply
 * restores what it changed or deleted.
 */
import type { KubeClient } from '../../runtime/kube.ts';
import type { InventoryEntry, Package, PackageRevision } from '../api.ts';
import { inventoryAfterFailure, staleEntries, unionInventory } from '../inventory.ts';
import { applyPhases, pruneStale, type PendingHealth, type PhaseObjects } from '../reconcile/apply.ts';
import type { CollisionOptions } from '../ssa/ownership.ts';
import { ConditionType } from '../../runtime/conditions.ts';
import { errorMessage } from '../../runtime/redact.ts';
import { BundleValidationError } from '../bundle/problems.ts';
import { PackageFailure } from '../reconcile/failure.ts';
import { checkReach } from '../reconcile/reach.ts';
import type { PackageSettings } from '../reconcile/settings.ts';
import { RevisionKeyMissingError, RevisionTamperedError } from '../revisions/errors.ts';
import type { RevisionKeys } from '../revisions/keys.ts';
import type { SliceReader } from '../revisions/read.ts';
import { ChangeSet } from '../ssa/change-set.ts';
import type { EngineContext } from '../ssa/options.ts';
import { describeRevision, recordedInventory, recordedPhases } from './recorded.ts';
import { validateRestore, type RestoreRules } from './validate.ts';

/** The verification of a Package's restores: its keys, uid, namespace and confinement, and the cluster's kinds. */
export function restoreVerification(pkg: Package, keys: RevisionKeys, scopes: RestoreRules['scopes'],
  settings: Pick<PackageSettings, 'confinedToNamespace'>): RestoreVerification {
  return { keys, scopes, packageUid: pkg.metadata.uid ?? '', namespace: pkg.metadata.namespace ?? '', confined: settings.confinedToNamespace };
}

/** How a restore checks the revision before applying it. */
export interface RestoreVerification extends RestoreRules {
  /** The revision keys: the signature and every blob are checked with the revision's key. */
  readonly keys: RevisionKeys;
  /** The uid of the Package restoring: a revision recorded for another Package is refused. */
  readonly packageUid: string;
}

/** Options of {@link restoreRevision}. */
export interface RestoreOptions {
  /** Everything the Package may have in the cluster now (its inventory, plus what a failed or unfinished rollout wrote). */
  readonly managed: readonly InventoryEntry[];
  readonly labels: Readonly<Record<string, string>>;
  readonly settings: Pick<PackageSettings, 'ignore' | 'force' | 'wait' | 'timeoutMs' | 'prune'> & Partial<Pick<PackageSettings, 'healthChecks'>>;
  readonly pollIntervalMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /**
   * The client that reads the revision's slices: the controller's own. Without
   * it the objects client is used, which works for inline revisions and for
   * service accounts allowed to get revisionslices.
   */
  readonly recordsClient?: SliceReader | undefined;
  /** The engine's cache and records, so a restore is planned like any apply and leaves the records true. */
  readonly engine?: EngineContext | undefined;
  /** Verification and validation before anything is applied (required: a restore never trusts a record). */
  readonly verify: RestoreVerification;
  /** Collision protection, as for a fresh revision (see ssa/ownership.ts). */
  readonly collision?: CollisionOptions | undefined;
  /**
   * Look at health once per phase instead of waiting: a phase not healthy yet
   * ends the restore with `pending`, and the caller comes back later (a pin
   * holds no worker while its objects become healthy). The timeout counts from
   * `startedAt`.
   */
  readonly checkHealthOnce?: { readonly startedAt: number } | undefined;
}

/** What a restore did. `inventory` lists everything that may still exist; `error` is set when it stopped. */
export interface RestoreResult {
  readonly applied: ChangeSet;
  readonly pruned?: ChangeSet;
  readonly inventory: InventoryEntry[];
  readonly error?: unknown;
  /** The revision was refused (or could not be read) before anything was applied: the cluster still runs what it ran. */
  readonly refused?: boolean;
  /** Applied, but a phase is not healthy yet (only with `checkHealthOnce`); nothing was pruned. */
  readonly pending?: PendingHealth;
}

/**
 * Applies `rev`'s recorded objects through `objectsClient` and prunes the rest
 * of `managed`. Never rejects for an object; a record that cannot be read or
 * verified applies nothing and is the result's error.
 */
export async function restoreRevision(objectsClient: KubeClient, rev: PackageRevision, opts: RestoreOptions): Promise<RestoreResult> {
  let phases: PhaseObjects[];
  try {
    phases = await verifiedPhases(opts.recordsClient ?? objectsClient, rev, opts.verify);
    // A tenant's reach outside its namespace, asked as for a fresh revision (nothing to ask without a service account).
    await checkReach(objectsClient, opts.verify.namespace, phases.flatMap((p) => p.objects.map((o) => o.object)));
  } catch (error) {
    return { applied: new ChangeSet(), inventory: [...opts.managed], error, refused: true };
  }
  const inventory = recordedInventory(phases);
  const { settings } = opts;
  const outcome = await applyPhases(objectsClient, phases, {
    labels: opts.labels, ignore: settings.ignore, force: settings.force, wait: settings.wait, timeoutMs: settings.timeoutMs,
    ...(opts.pollIntervalMs === undefined ? {} : { pollIntervalMs: opts.pollIntervalMs }),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.engine ? { engine: opts.engine } : {}),
    // A revision records objects, not its bundle's checks: a restore is judged by the Package's own and the annotations.
    ...(settings.healthChecks ? { healthChecks: settings.healthChecks } : {}),
    ...(opts.collision ? { collision: opts.collision } : {}),
    ...(opts.checkHealthOnce && opts.engine ? { checkHealthOnce: true, startedAt: opts.checkHealthOnce.startedAt } : {}),
  });
  if (outcome.pending) {
    return { applied: outcome.changeSet, inventory: unionInventory(inventory, opts.managed), pending: outcome.pending };
  }
  if (outcome.error !== undefined) {
    return { applied: outcome.changeSet, inventory: inventoryAfterFailure(opts.managed, inventory, outcome.changeSet), error: outcome.error };
  }
  // Without prune the objects a newer revision added stay, and stay managed.
  if (!settings.prune) return { applied: outcome.changeSet, inventory: unionInventory(inventory, opts.managed) };
  const stale = staleEntries(opts.managed, inventory);
  if (stale.length === 0) return { applied: outcome.changeSet, inventory };
  const pruned = await pruneStale(objectsClient, stale, { labels: opts.labels, signal: opts.signal, cache: opts.engine?.cache });
  if (pruned.failures.length === 0) return { applied: outcome.changeSet, pruned: pruned.changeSet, inventory };
  const survivors = new Set(pruned.failures.map((f) => f.id));
  const list = pruned.failures.map((f) => `${f.subject}: ${f.message}`).join('; ');
  return {
    applied: outcome.changeSet, pruned: pruned.changeSet,
    inventory: unionInventory(inventory, stale.filter((e) => survivors.has(e.id))),
    error: new PackageFailure('ApplyFailed', 'PruneFailed', `could not prune ${pruned.failures.length} object(s): ${list}`, 'retry'),
  };
}

/**
 * The revision's objects once verified and validated; a refusal is a stalling
 * {@link PackageFailure}: only a person can repair a changed record, and only a
 * change of the Package can make a disallowed one allowed.
 */
async function verifiedPhases(client: SliceReader, rev: PackageRevision, verify: RestoreVerification): Promise<PhaseObjects[]> {
  const which = `revision ${describeRevision(rev)}`;
  let phases: PhaseObjects[];
  try {
    phases = await recordedPhases(client, rev, verify.keys, { packageUid: verify.packageUid });
  } catch (err) {
    if (err instanceof RevisionTamperedError) {
      throw new PackageFailure(ConditionType.ApplyFailed, 'RevisionTampered', `refused to restore ${which}: ${errorMessage(err)}; nothing was applied`, 'stall');
    }
    if (err instanceof RevisionKeyMissingError) {
      throw new PackageFailure(ConditionType.ApplyFailed, 'RevisionKeyMissing', `cannot restore ${which}: ${errorMessage(err)}; nothing was applied`, 'stall');
    }
    throw err;
  }
  try {
    await validateRestore(phases, verify);
  } catch (err) {
    if (!(err instanceof BundleValidationError)) throw err;
    throw new PackageFailure(ConditionType.ApplyFailed, 'RevisionNotAllowed', `refused to restore ${which}: ${err.message}; nothing was applied`, 'stall');
  }
  return phases;
}
