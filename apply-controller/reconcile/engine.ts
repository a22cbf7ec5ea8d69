/**
 * What the Package controller keeps between reconciles so that a reconcile
 * costs what changed, not what the package holds:
 *
 * - the shared cache of managed objects and the records of what was last sent
 *   for each (planning without requests, see ssa/state.ts);
 * - per Package, the bundle read last, reused while the artifact digest, path,
 *   values and tenancy are the same (reading and validating 5,000 objects costs
 *   far more than comparing them);
 * - per Package, which of its objects the slow background verification
 *   checks next (drift/verify.ts);
 * - per Package, when its rollout started (the health deadline of `spec.timeout`
 *   counts from there, although no worker waits) and whether it waits for
 *   health. While a reconcile of it is under way any change of one of its
 *   objects wakes it again; once it settled waiting, only a change that moves
 *   an object's health verdict (Current, InProgress, Failed, ...) or may be
 *   drift does: a Deployment's status changes several times on its way to
 *   Available, and a reconcile (and a status write) for each would be waste.
 *
 * All of it is memory only: after a restart it is rebuilt by the first
 * reconciles, which is why planning also works without records; a rollout's
 * start is taken from the Package's status then (`persistedRolloutStart`).
 */
import { createHash } from 'node:crypto';
import type { InventoryEntry } from '../api.ts';
import { canonicalJSON } from '../bundle/canonical.ts';
import { assessHealth } from '../health/assess.ts';
import type { HealthChecks } from '../health/checks.ts';
import type { KubeObject } from '../../runtime/object.ts';
import type { ManagedObjectCache } from '../cache/managed-objects.ts';
import { kindsOf } from '../inventory.ts';
import type { PhaseObjects } from './apply.ts';
import type { EngineContext } from '../ssa/options.ts';
import { ChangeSet, type ChangeSetEntry } from '../ssa/change-set.ts';
import { AppliedState } from '../ssa/state.ts';
import { VerificationSchedule } from '../drift/verify.ts';

/** `later` over `earlier`, per object; a later `unchanged` does not hide an earlier write. */
function mergeChanges(earlier: ChangeSet, later: ChangeSet | undefined): ChangeSet {
  const byId = new Map<string, ChangeSetEntry>(earlier.entries.map((e) => [e.id, e]));
  for (const e of later?.entries ?? []) {
    const prior = byId.get(e.id);
    if (prior === undefined || (e.action !== 'unchanged' && e.action !== 'skipped')) byId.set(e.id, e);
  }
  return new ChangeSet(byId.values());
}

/** Longest wait for a newly needed kind's cache to sync before planning falls back to reads. */
const SYNC_WAIT_MS = 10_000;

/** A rollout whose health is awaited without a worker. */
export interface RolloutClock {
  readonly revision: number;
  readonly startedAt: number;
}

/** The controller-wide memory of the engine. */
export class EngineMemory {
  readonly cache: ManagedObjectCache;
  readonly state: AppliedState;
  /** The batches of the background verification (drift/verify.ts). */
  readonly verification: VerificationSchedule;
  readonly #rollouts = new Map<string, RolloutClock>();
  readonly #awaiting = new Set<string>();
  /** The health checks of a Package that settled waiting for health: its wake-ups are judged by them. */
  readonly #judges = new Map<string, HealthChecks>();
  readonly #bundles = new Map<string, { readonly key: string; readonly value: unknown }>();
  readonly #changes = new Map<string, ChangeSet>();

  /**
   * `wake` enqueues a Package: for watch events held while a write was in flight
   * that were not its answer (see AppliedState). `verification` defaults to
   * every object once an hour.
   */
  constructor(cache: ManagedObjectCache, wake?: (key: string) => void, verification = new VerificationSchedule()) {
    this.cache = cache;
    this.state = new AppliedState(wake);
    this.verification = verification;
  }

  /**
   * When the rollout of `revision` started for the Package `key`: what this
   * process remembers, else `persisted` (what the Package's status says, after a
   * restart), else now.
   */
  rolloutStart(key: string, revision: number, persisted?: number, now = Date.now()): number {
    const clock = this.#rollouts.get(key);
    if (clock?.revision === revision) return clock.startedAt;
    const startedAt = persisted !== undefined && persisted <= now ? persisted : now;
    this.#rollouts.set(key, { revision, startedAt });
    return startedAt;
  }

  /**
   * Records how a reconcile of `key` ended: still waiting for health, or not
   * (the clock stops), and lets the records of its writes be hashed. `checks`
   * are the health checks the rollout is judged by: with them, only changes
   * that move a verdict wake the Package (see {@link healthMayMove}); without
   * them, every change does.
   */
  settle(key: string, waitingForHealth: boolean, checks?: HealthChecks): void {
    // The reconcile's status is written: the records of its writes are hashed now, off the rollout's path.
    this.state.hashInBackground();
    this.#judges.delete(key);
    if (waitingForHealth) {
      this.#awaiting.add(key);
      if (checks !== undefined) this.#judges.set(key, checks);
      return;
    }
    this.#awaiting.delete(key);
    this.#rollouts.delete(key);
    this.#changes.delete(key);
  }

  /**
   * What the rollout of `key` wrote so far, this reconcile's `applied`
   * included: a rollout that waited for health spans several reconciles, and its
   * Event should tell all it did. Kept while the Package waits for health.
   */
  rolloutChanges(key: string, applied: ChangeSet | undefined, waitingForHealth: boolean): ChangeSet | undefined {
    const before = this.#changes.get(key);
    const merged = before === undefined ? applied : mergeChanges(before, applied);
    if (waitingForHealth && merged !== undefined) this.#changes.set(key, merged);
    return merged;
  }

  /**
   * A rollout of `key` is about to check health: from now on any change of its
   * objects wakes it, so a status that moves while this reconcile runs is not
   * missed (the reconcile after it sees it). {@link settle} ends it.
   */
  expectHealth(key: string): void {
    this.#awaiting.add(key);
    this.#judges.delete(key);
  }

  /**
   * Whether an update of one of the objects of `key`, a Package waiting for
   * health, may change what its rollout waits for: always while a reconcile is
   * under way (it may have read the object before the change) or when the
   * checks are not known; otherwise only when the object's health verdict
   * differs between the two versions. A message that moves ("1 of 3 updated")
   * is shown at the next wake-up or periodic recheck (`HEALTH_RECHECK_MS`, status.ts).
   */
  healthMayMove(key: string, before: KubeObject, after: KubeObject, now = Date.now()): boolean {
    const checks = this.#judges.get(key);
    if (checks === undefined) return true;
    const verdict = (obj: KubeObject): string => assessHealth(obj as unknown as Record<string, unknown>, { checks, now }).status;
    return verdict(before) !== verdict(after);
  }

  /** True while the Package waits for its objects to become healthy. */
  awaitsHealth(key: string): boolean {
    return this.#awaiting.has(key);
  }

  /** The value memoized for `key` under `inputs`, or the one `load` makes (kept until the inputs change). */
  async memo<T>(key: string, inputs: unknown, load: () => Promise<T>): Promise<T> {
    const hash = createHash('sha256').update(canonicalJSON(inputs)).digest('hex');
    const kept = this.#bundles.get(key);
    if (kept?.key === hash) return kept.value as T;
    const value = await load();
    this.#bundles.set(key, { key: hash, value });
    return value;
  }

  /** Forgets everything about a Package (deleted). */
  forget(key: string): void {
    this.settle(key, false);
    this.#bundles.delete(key);
    this.verification.forget(key);
    this.cache.release(key);
  }

  /**
   * The engine context of one reconcile: the cache retains every kind the
   * Package may have (the revision's and the inventory's) and is given a moment
   * to sync kinds it did not cache yet.
   */
  async contextFor(key: string, phases: readonly PhaseObjects[], managed: readonly InventoryEntry[],
    trustLive: boolean): Promise<EngineContext> {
    const kinds = new Map<string, { apiVersion: string; kind: string }>();
    for (const phase of phases) {
      for (const o of phase.objects) kinds.set(`${o.object.apiVersion}/${o.object.kind}`, { apiVersion: o.object.apiVersion, kind: o.object.kind });
    }
    for (const k of kindsOf(managed)) kinds.set(`${k.apiVersion}/${k.kind}`, k);
    const needed = [...kinds.values()];
    this.cache.retain(key, needed);
    await this.cache.whenSynced(needed, SYNC_WAIT_MS);
    return { cache: this.cache, state: this.state, trustLive, written: new Map() };
  }

  /**
   * The background verification of one reconcile of `key` (drift mode
   * `correct`, see drift/verify.ts): `context` with the batch due now, if one
   * is, and when the next batch is due (the reconcile's requeue comes then at
   * the latest). A revision the schedule has not seen starts it.
   */
  verifying(context: EngineContext, key: string, revision: number, ids: readonly string[]): { context: EngineContext; nextInMs: number | undefined } {
    const verify = this.verification.take(key, revision, ids);
    return { context: verify.size > 0 ? { ...context, verify } : context, nextInMs: this.verification.delay(key) };
  }
}

/** The engine context of a restore (a pin, a held rollback): every kind the Package may have, nothing trusted. */
export async function restoreContext(engine: EngineMemory | undefined, key: string | undefined,
  managed: readonly InventoryEntry[]): Promise<EngineContext | undefined> {
  if (!engine || key === undefined) return undefined;
  return engine.contextFor(key, [], managed, false);
}
