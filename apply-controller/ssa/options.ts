/**
 * Options of the apply engine and their defaults, in one place, plus the labels
 * that mark an object as belonging to a Package.
 */
import type { IgnoreRule } from '../drift/ignore.ts';
import type { HealthChecks } from '../health/checks.ts';
import type { KubeObject as ClusterObject } from '../../runtime/object.ts';
import type { CollisionOptions } from './ownership.ts';
import type { AppliedState, LiveCache } from './state.ts';

/** Label naming the Package an object belongs to. */
export const PACKAGE_NAME_LABEL = 'apply.trellis.dev/package';
/** Label naming the namespace of the Package an object belongs to. */
export const PACKAGE_NAMESPACE_LABEL = 'apply.trellis.dev/package-namespace';

/** The labels stamped on every object of the Package `namespace/name`. */
export function packageLabels(name: string, namespace: string): Record<string, string> {
  return { [PACKAGE_NAME_LABEL]: name, [PACKAGE_NAMESPACE_LABEL]: namespace };
}

/** True when `obj` carries every one of `labels` with its value. */
export function carriesLabels(obj: ClusterObject, labels: Readonly<Record<string, string>>): boolean {
  const have = obj.metadata?.labels ?? {};
  return Object.entries(labels).every(([k, v]) => have[k] === v);
}

/** A label selector (`k=v,k2=v2`) matching exactly the given labels. */
export function labelSelectorOf(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}

/**
 * What lets the engine plan without requests (see state.ts): a cache of the live
 * objects, the records of what was last sent, and the answers of this run's
 * writes. Without it every object is read and dry-run first.
 */
export interface EngineContext {
  readonly cache: LiveCache;
  readonly state: AppliedState;
  /** The intents are the ones last applied successfully: a live object that contains one needs nothing. */
  readonly trustLive: boolean;
  /** Answers of this run's writes by inventory id: fresher than the cache until its watch catches up. */
  readonly written: Map<string, ClusterObject>;
  /**
   * Inventory ids checked by a dry run even when the cache and records say
   * nothing changed: the background verification's batch (drift/verify.ts).
   */
  readonly verify?: ReadonlySet<string>;
}

/** Options of {@link applyStage} (all optional; see {@link DEFAULT_APPLY_OPTIONS}). */
export interface ApplyOptions {
  /** Field manager of every apply (default `trellis`). */
  readonly fieldManager?: string;
  /**
   * Delete and re-create an object whose change the apiserver refuses because an
   * immutable field changed (default false: such a change is an {@link ImmutableFieldError}).
   */
  readonly force?: boolean;
  /** Objects applied at the same time within a stage (default 8). */
  readonly concurrency?: number;
  /** Labels stamped on every object (the Package's, see {@link packageLabels}). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Fields others own: kept at their live value, see drift/ignore.ts. */
  readonly ignore?: readonly IgnoreRule[];
  /** The phase the objects belong to, recorded in the change set. */
  readonly phase?: string;
  /** Longest wait for a CRD to become Established or a recreated object to be gone (default 60 s). */
  readonly waitTimeoutMs?: number;
  /** First delay between polls of those waits (default 500 ms). */
  readonly pollIntervalMs?: number;
  /** Stops the work between requests; the call rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Plan from a cache and records instead of reads and dry runs. */
  readonly engine?: EngineContext;
  /** Check who owns an existing object before writing to it (see ownership.ts); absent: no check. */
  readonly collision?: CollisionOptions;
}

/** Options of {@link waitForHealthy}. */
export interface WaitOptions {
  /** Give up after this long (default 5 min). */
  readonly timeoutMs?: number;
  /** First delay between polls (default 500 ms); it grows by half after every poll that found something unhealthy. */
  readonly pollIntervalMs?: number;
  /** Largest delay between polls (default 5 s). */
  readonly maxPollIntervalMs?: number;
  /** Stop at the first object that is `Failed` instead of waiting until the timeout (default false). */
  readonly failFast?: boolean;
  /**
   * When set (the Package's labels), objects of one kind and namespace are read
   * with one labelled list instead of one get each.
   */
  readonly labels?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** Read objects from the cache (and this run's answers) instead of the apiserver. */
  readonly engine?: EngineContext;
  /** User-defined health checks (compiled; see health/checks.ts): the first that matches an object decides. */
  readonly healthChecks?: HealthChecks;
}

/** Options of {@link deleteObjects}. */
export interface DeleteObjectsOptions {
  /** Labels an object must still carry to be deleted; an object without them is skipped. */
  readonly labels: Readonly<Record<string, string>>;
  /** Default `Background`: the garbage collector removes dependents after the object is gone. */
  readonly propagation?: 'Background' | 'Foreground' | 'Orphan';
  /** Deletes of one kind run at the same time (default 8). */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /**
   * When a CRD may go (default `IfUnused`: only when no custom resource of it
   * lacks the labels; `Always`: regardless; `Never`: CRDs are kept).
   */
  readonly crdDeletion?: CrdDeletion;
  /** Live objects to check the labels on instead of reading each one (the managed-object cache). */
  readonly cache?: LiveCache;
}

/** See {@link DeleteObjectsOptions.crdDeletion}. */
export type CrdDeletion = 'IfUnused' | 'Always' | 'Never';

/**
 * Defaults of {@link ApplyOptions}. Eight writes in flight keep the apiserver
 * of a 2-core control plane busy; sixteen made a rollout's writes slower there,
 * not faster. Rounds alternating both in one bench run (session 16): 1,000
 * ConfigMaps, apply step 0.98× the bare loop's round (median of six) against
 * 1.11× (five); 5,000, 1.02× (four) against 1.11× (three).
 */
export const DEFAULT_APPLY_OPTIONS = {
  fieldManager: 'trellis',
  force: false,
  concurrency: 8,
  waitTimeoutMs: 60_000,
  pollIntervalMs: 500,
} as const;

/** Defaults of {@link WaitOptions}. */
export const DEFAULT_WAIT_OPTIONS = {
  timeoutMs: 300_000,
  pollIntervalMs: 500,
  maxPollIntervalMs: 5_000,
  failFast: false,
} as const;

/** Defaults of {@link DeleteObjectsOptions}. */
export const DEFAULT_DELETE_OPTIONS = {
  propagation: 'Background',
  concurrency: 8,
} as const;

/** {@link ApplyOptions} with every default filled in. */
export interface ResolvedApplyOptions {
  readonly fieldManager: string;
  readonly force: boolean;
  readonly concurrency: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly ignore: readonly IgnoreRule[];
  readonly phase: string | undefined;
  readonly waitTimeoutMs: number;
  readonly pollIntervalMs: number;
  readonly signal: AbortSignal | undefined;
  readonly engine: EngineContext | undefined;
  readonly collision: CollisionOptions | undefined;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}

/** Fills in the defaults and checks the numbers. */
export function resolveApplyOptions(opts: ApplyOptions = {}): ResolvedApplyOptions {
  return {
    fieldManager: opts.fieldManager ?? DEFAULT_APPLY_OPTIONS.fieldManager,
    force: opts.force ?? DEFAULT_APPLY_OPTIONS.force,
    concurrency: Math.floor(positive('concurrency', opts.concurrency ?? DEFAULT_APPLY_OPTIONS.concurrency)),
    labels: opts.labels ?? {},
    ignore: opts.ignore ?? [],
    phase: opts.phase,
    waitTimeoutMs: positive('waitTimeoutMs', opts.waitTimeoutMs ?? DEFAULT_APPLY_OPTIONS.waitTimeoutMs),
    pollIntervalMs: positive('pollIntervalMs', opts.pollIntervalMs ?? DEFAULT_APPLY_OPTIONS.pollIntervalMs),
    signal: opts.signal,
    engine: opts.engine,
    collision: opts.collision,
  };
}

/** {@link WaitOptions} with every default filled in. */
export interface ResolvedWaitOptions {
  readonly timeoutMs: number;
  readonly pollIntervalMs: number;
  readonly maxPollIntervalMs: number;
  readonly failFast: boolean;
  readonly labels: Readonly<Record<string, string>> | undefined;
  readonly signal: AbortSignal | undefined;
  readonly engine: EngineContext | undefined;
  readonly healthChecks: HealthChecks | undefined;
}

/** Fills in the defaults and checks the numbers. */
export function resolveWaitOptions(opts: WaitOptions = {}): ResolvedWaitOptions {
  const pollIntervalMs = positive('pollIntervalMs', opts.pollIntervalMs ?? DEFAULT_WAIT_OPTIONS.pollIntervalMs);
  return {
    timeoutMs: positive('timeoutMs', opts.timeoutMs ?? DEFAULT_WAIT_OPTIONS.timeoutMs),
    pollIntervalMs,
    maxPollIntervalMs: Math.max(pollIntervalMs, positive('maxPollIntervalMs', opts.maxPollIntervalMs ?? DEFAULT_WAIT_OPTIONS.maxPollIntervalMs)),
    failFast: opts.failFast ?? DEFAULT_WAIT_OPTIONS.failFast,
    labels: opts.labels,
    signal: opts.signal,
    engine: opts.engine,
    healthChecks: opts.healthChecks,
  };
}

/** {@link DeleteObjectsOptions} with every default filled in. */
export interface ResolvedDeleteOptions {
  readonly labels: Readonly<Record<string, string>>;
  readonly propagation: 'Background' | 'Foreground' | 'Orphan';
  readonly concurrency: number;
  readonly signal: AbortSignal | undefined;
  readonly crdDeletion: CrdDeletion;
  readonly cache: LiveCache | undefined;
}

/** Fills in the defaults; refuses an empty label set (it would match every object). */
export function resolveDeleteOptions(opts: DeleteObjectsOptions): ResolvedDeleteOptions {
  if (Object.keys(opts.labels).length === 0) {
    throw new RangeError('deleteObjects needs the labels that mark the objects as the caller\'s');
  }
  return {
    labels: opts.labels,
    propagation: opts.propagation ?? DEFAULT_DELETE_OPTIONS.propagation,
    concurrency: Math.floor(positive('concurrency', opts.concurrency ?? DEFAULT_DELETE_OPTIONS.concurrency)),
    signal: opts.signal,
    crdDeletion: opts.crdDeletion ?? 'IfUnused',
    cache: opts.cache,
  };
}
