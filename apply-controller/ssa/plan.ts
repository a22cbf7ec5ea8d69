/**
 * Planning an apply without writing anything: read the live object, ask the
 * apiserver what a server-side apply would make of it (dry run), and decide.
 * `applyStage` acts on the plans; `diffObjects` shows them.
 */
import type { KubeClient } from '../../runtime/kube.ts';
import type { KubeObject as ClusterObject } from '../../runtime/object.ts';
import { applyIgnoreRules, type IgnoreRule } from '../drift/ignore.ts';
import { mapBounded } from '../../runtime/concurrency.ts';
import { readLive } from './_live.ts';
import { wouldChange } from './compare.ts';
import { setPortProtocolDefaults } from './defaults.ts';
import { ApplyError, isImmutableFieldError } from './errors.ts';
import type { DesiredObject, Target } from './objects.ts';

/** What an apply would do to one object. */
export type PlanAction = 'create' | 'update' | 'none' | 'recreate';

/** The plan for one object. */
export interface ObjectPlan {
  readonly target: Target;
  /** Exactly what the apply sends: labels stamped, ignored fields set to their live values. */
  readonly applied: DesiredObject;
  /** The object as it is now; undefined when it does not exist. */
  readonly live: ClusterObject | undefined;
  /** The object as the apply would leave it; undefined for `recreate` (the apiserver refused the change). */
  readonly dryRun: ClusterObject | undefined;
  readonly action: PlanAction;
  /** For `recreate`: the apiserver's refusal. */
  readonly refusal?: unknown;
}

/** The plan for one object, or why there is none. */
export type PlanResult = ObjectPlan | { readonly target: Target; readonly error: ApplyError };

/** True for a {@link PlanResult} that failed. */
export function isPlanFailure(result: PlanResult): result is { readonly target: Target; readonly error: ApplyError } {
  return 'error' in result;
}

/** What planning needs to know. */
export interface PlanOptions {
  readonly fieldManager: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ignore: readonly IgnoreRule[];
  readonly concurrency: number;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Metadata the apiserver owns. A manifest exported from a cluster carries them;
 * sent back they would fail the apply (`managedFields`) or turn it into a
 * conditional write (`resourceVersion`), so they are never sent.
 */
const SERVER_METADATA = ['managedFields', 'resourceVersion', 'uid', 'creationTimestamp', 'generation', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'];

/**
 * The object to send: server-owned metadata dropped, the Package's labels
 * stamped, ignore rules applied, port protocols defaulted (see defaults.ts).
 */
export function prepareObject(obj: DesiredObject, live: ClusterObject | undefined, opts: Pick<PlanOptions, 'labels' | 'ignore'>): DesiredObject {
  const prepared = applyIgnoreRules(obj, live, opts.ignore);
  for (const key of SERVER_METADATA) delete prepared.metadata[key];
  if (Object.keys(opts.labels).length > 0) prepared.metadata.labels = { ...prepared.metadata.labels, ...opts.labels };
  setPortProtocolDefaults(prepared);
  return prepared;
}

/**
 * Server-side apply with `force`. Trellis sends only the fields the package
 * declares (ignored fields carry their live value), so forcing takes over
 * exactly those fields from whoever changed them — that is drift correction —
 * and never touches a field Trellis does not send. Without force, any
 * out-of-band edit of a declared field would be a conflict that no retry can
 * resolve.
 */
export function applyForced(client: KubeClient, obj: DesiredObject, fieldManager: string, dryRun: boolean): Promise<ClusterObject> {
  return client.apply<ClusterObject>(obj, { fieldManager, force: true, dryRun });
}

/**
 * Plans one object against `live` with a dry-run apply (one request; a second
 * read only when the dry run suggests a change, see below).
 */
export async function planWithDryRun(client: KubeClient, target: Target, live: ClusterObject | undefined, opts: PlanOptions,
  reread = false): Promise<PlanResult> {
  const applied = prepareObject(target.object, live, opts);
  // Being deleted: a dry run would describe an object about to vanish; the write waits and creates it anew.
  if (live?.metadata?.deletionTimestamp) return { target, applied, live, dryRun: undefined, action: 'update' };
  let dryRun: ClusterObject;
  try {
    dryRun = await applyForced(client, applied, opts.fieldManager, true);
  } catch (err) {
    if (live !== undefined && isImmutableFieldError(err)) {
      return { target, applied, live, dryRun: undefined, action: 'recreate', refusal: err };
    }
    return { target, error: new ApplyError(target, err) };
  }
  if (live === undefined) return { target, applied, live, dryRun, action: 'create' };
  if (!wouldChange(live as Record<string, unknown>, dryRun as Record<string, unknown>)) {
    return { target, applied, live, dryRun, action: 'none' };
  }
  if (!reread) {
    // A controller may have written the object between our read and the dry run
    // (a new Deployment gets its revision annotation a moment after creation): the
    // dry run then saw a newer object than `live`. Before calling it a change, plan
    // once more against a fresh read — otherwise we would write for nothing.
    let fresh: ClusterObject | undefined;
    try {
      fresh = await client.get<ClusterObject>(target.ref);
    } catch (err) {
      return { target, error: new ApplyError(target, err) };
    }
    if (fresh?.metadata?.resourceVersion !== live.metadata?.resourceVersion) return planWithDryRun(client, target, fresh, opts, true);
  }
  return { target, applied, live, dryRun, action: 'update' };
}

/**
 * Plans every target, in order. Live objects are read in batches (see _live.ts);
 * each target costs one dry-run apply. Never rejects for one object's failure
 * (only when the signal aborts): failures come back as `{target, error}`.
 */
export async function planObjects(client: KubeClient, targets: readonly Target[], opts: PlanOptions): Promise<PlanResult[]> {
  const reads = await readLive(client, targets.map((t) => t.ref), { labels: opts.labels, concurrency: opts.concurrency, signal: opts.signal });
  return mapBounded(targets, opts.concurrency, async (target, i) => {
    opts.signal?.throwIfAborted();
    const read = reads[i];
    if (read === undefined || 'error' in read) return { target, error: new ApplyError(target, read?.error) };
    return planWithDryRun(client, target, read.object, opts);
  });
}
