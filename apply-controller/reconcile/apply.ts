/**
 * Applying a revision phase by phase, pruning what left it, and (drift mode
 * `warn`) finding what changed without writing. Thin use of the apply engine
 * (ssa/): the engine decides per object whether a write is needed at all.
 */
import type { KubeClient } from '../../runtime/kube.ts';
import type { BundleObject } from '../bundle/object.ts';
import type { Stage } from '../bundle/order.ts';
import type { IgnoreRule } from '../drift/ignore.ts';
import type { HealthChecks } from '../health/checks.ts';
import { applyStage } from '../ssa/apply.ts';
import { ChangeSet } from '../ssa/change-set.ts';
import { deleteObjects, type DeleteResult } from '../ssa/delete.ts';
import { diffObjects, type ObjectDiff } from '../ssa/diff.ts';
import { ApplyError, HealthCheckError, type UnhealthyObject } from '../ssa/errors.ts';
import { targetOf } from '../ssa/objects.ts';
import type { CrdDeletion, EngineContext } from '../ssa/options.ts';
import type { LiveCache } from '../ssa/state.ts';
import type { CollisionOptions } from '../ssa/ownership.ts';
import type { InventoryEntry } from '../api.ts';
import { unhealthyTargets, waitForHealthy } from '../ssa/wait.ts';

/** One phase of a revision: its objects in apply order. */
export interface PhaseObjects {
  readonly name: string;
  readonly objects: readonly BundleObject[];
}

/** Groups the bundle's stages (a phase's definitions, then the rest) into phases, in order. */
export function phasesOf(stages: readonly Stage[]): PhaseObjects[] {
  const out: { name: string; objects: BundleObject[] }[] = [];
  for (const stage of stages) {
    const last = out[out.length - 1];
    if (last?.name === stage.phase) last.objects.push(...stage.objects);
    else out.push({ name: stage.phase, objects: [...stage.objects] });
  }
  return out;
}

/** Options for {@link applyPhases}. */
export interface ApplyPhasesOptions {
  /** The Package's labels, stamped on every object. */
  readonly labels: Readonly<Record<string, string>>;
  readonly ignore: readonly IgnoreRule[];
  readonly force: boolean;
  /** Wait for each phase to be healthy before the next. */
  readonly wait: boolean;
  /** Time limit for the whole apply, health included. */
  readonly timeoutMs: number;
  /** First delay between health polls. */
  readonly pollIntervalMs?: number;
  readonly fieldManager?: string;
  readonly signal?: AbortSignal;
  /** Called after each phase was applied (and found healthy when waiting). */
  readonly onPhase?: (phase: string, changes: ChangeSet) => void;
  /** Plan from the cache and the applied records (see ssa/state.ts). */
  readonly engine?: EngineContext;
  /** When the rollout started (the timeout counts from here; default now). */
  readonly startedAt?: number;
  /**
   * Instead of waiting for a phase to become healthy, look once and return
   * `pending` when it is not yet: the caller releases its worker and comes back
   * when an object changes. A Failed object ends the rollout at once.
   */
  readonly checkHealthOnce?: boolean;
  /** Check who owns existing objects before writing to them (see ssa/ownership.ts). */
  readonly collision?: CollisionOptions;
  /** User-defined health checks, compiled (the Package's, then the bundle's; see health/checks.ts). */
  readonly healthChecks?: HealthChecks;
}

/** A phase applied but not healthy yet (see {@link ApplyPhasesOptions.checkHealthOnce}). */
export interface PendingHealth {
  readonly phase: string;
  readonly unhealthy: readonly UnhealthyObject[];
}

/** What an apply did, and the error that stopped it, if any. */
export interface ApplyOutcome {
  /** Every object written or found unchanged, phase by phase, up to the failure. */
  readonly changeSet: ChangeSet;
  /** An ApplyError / ImmutableFieldError / HealthCheckError, or anything the client threw. */
  readonly error?: unknown;
  /** The phase that failed. */
  readonly failedPhase?: string;
  /** Set when the rollout waits for health (only with `checkHealthOnce`). */
  readonly pending?: PendingHealth;
}

/**
 * Applies each phase with server-side apply (dry-run first, writing only what
 * changes), then with `wait` waits until its objects are healthy before the next
 * phase starts. Stops at the first failure. Never rejects: the outcome carries
 * the error together with what was written before it.
 */
export async function applyPhases(client: KubeClient, phases: readonly PhaseObjects[], opts: ApplyPhasesOptions): Promise<ApplyOutcome> {
  const changeSet = new ChangeSet();
  const deadline = (opts.startedAt ?? Date.now()) + opts.timeoutMs;
  const common = {
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    ...(opts.engine === undefined ? {} : { engine: opts.engine }),
  };
  const collision = opts.collision === undefined ? {} : { collision: opts.collision };
  const healthChecks = opts.healthChecks === undefined ? {} : { healthChecks: opts.healthChecks };
  for (const phase of phases) {
    try {
      const changes = await applyStage(client, phase.objects, {
        labels: opts.labels, ignore: opts.ignore, force: opts.force, phase: phase.name,
        waitTimeoutMs: Math.max(1, Math.min(60_000, deadline - Date.now())),
        ...(opts.fieldManager === undefined ? {} : { fieldManager: opts.fieldManager }),
        ...common, ...collision,
      });
      changeSet.append(changes);
      if (opts.wait && opts.checkHealthOnce) {
        const unhealthy = await unhealthyTargets(client, phase.objects.map(targetOf), {
          labels: opts.labels, signal: opts.signal, engine: opts.engine, ...healthChecks,
        });
        if (unhealthy.length > 0) {
          // Failed is final (a failed Job, a crash-looping Pod): no point waiting out the timeout.
          const failed = unhealthy.some((u) => u.status === 'Failed');
          if (failed || Date.now() >= deadline) throw new HealthCheckError(unhealthy, opts.timeoutMs, failed);
          return { changeSet, pending: { phase: phase.name, unhealthy } };
        }
      } else if (opts.wait) {
        await waitForHealthy(client, phase.objects, {
          timeoutMs: Math.max(1, deadline - Date.now()), labels: opts.labels,
          ...(opts.pollIntervalMs === undefined ? {} : { pollIntervalMs: opts.pollIntervalMs }),
          ...common, ...healthChecks,
        });
      }
      opts.onPhase?.(phase.name, changes);
    } catch (error) {
      if (error instanceof ApplyError) changeSet.append(error.changeSet);
      return { changeSet, error, failedPhase: phase.name };
    }
  }
  return { changeSet };
}

/** Options of {@link pruneStale}. */
export interface PruneOptions {
  /** The Package's labels: only objects that still carry them are deleted. */
  readonly labels: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal | undefined;
  readonly crdDeletion?: CrdDeletion | undefined;
  /** The managed-object cache: labels checked on the cached copy instead of a read per object. */
  readonly cache?: LiveCache | undefined;
}

/**
 * Deletes the stale entries (given in apply order, deleted in reverse) that
 * still carry the Package's labels. Never rejects for one object: failures come
 * back for the caller to keep in the inventory.
 */
export function pruneStale(client: KubeClient, stale: readonly InventoryEntry[], opts: PruneOptions): Promise<DeleteResult> {
  return deleteObjects(client, stale, {
    labels: opts.labels,
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    ...(opts.crdDeletion === undefined ? {} : { crdDeletion: opts.crdDeletion }),
    ...(opts.cache === undefined ? {} : { cache: opts.cache }),
  });
}

/** The objects an apply would change (drift mode `warn`), without writing anything. */
export async function detectDrift(client: KubeClient, phases: readonly PhaseObjects[],
  opts: Pick<ApplyPhasesOptions, 'labels' | 'ignore' | 'fieldManager' | 'signal'>): Promise<ObjectDiff[]> {
  const objects = phases.flatMap((p) => p.objects);
  const diffs = await diffObjects(client, objects, {
    labels: opts.labels, ignore: opts.ignore,
    ...(opts.fieldManager === undefined ? {} : { fieldManager: opts.fieldManager }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  return diffs.filter((d) => d.action !== 'none');
}

/** One line about drift for a condition or an Event: `Deployment/ns/web (/spec/replicas), ConfigMap/ns/cfg (missing)`. */
export function describeDrift(diffs: readonly ObjectDiff[], max = 10): string {
  const shown = diffs.slice(0, max).map((d) => {
    if (d.action === 'create') return `${d.subject} (deleted)`;
    const paths = d.changes.slice(0, 5).map((c) => c.path || '/');
    return `${d.subject} (${paths.join(', ')}${d.changes.length > 5 ? ', ...' : ''})`;
  });
  const rest = diffs.length - shown.length;
  return `${diffs.length} object${diffs.length === 1 ? '' : 's'} drifted: ${shown.join(', ')}${rest > 0 ? `, and ${rest} more` : ''}`;
}
