/**
 * `--wait`: reading a Package (and its source) until the controllers say the
 * asked-for state is reached, has failed, or time runs out. What counts as
 * reached is decided by pure verdict functions (tested on plain objects); the
 * loop only polls and shows progress. kstatus rules: `Ready=True` at the
 * object's generation is success, `Stalled=True` is a failure nothing but a
 * change of the spec fixes; anything else is still in progress.
 */
import { getCondition } from '../../runtime/conditions.ts';
import type { Condition } from '../../runtime/conditions.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { KubeObject, ObjectRef } from '../../runtime/object.ts';
import type { Package } from '../../apply-controller/index.ts';
import type { OCIRepository, GitRepository } from '../../source-controller/index.ts';
import { WaitFailedError, WaitTimeoutError } from './errors.ts';
import { startProgress, type Terminal } from './output.ts';

/** What a poll learned: done, failed for good, or still waiting (with what is awaited). */
export type Verdict =
  | { readonly state: 'done'; readonly message: string }
  | { readonly state: 'failed'; readonly message: string }
  | { readonly state: 'waiting'; readonly message: string };

/** An object with kstatus conditions and an observed generation. */
interface Reconciled extends KubeObject {
  spec?: { suspend?: boolean };
  status?: { observedGeneration?: number; conditions?: readonly Condition[]; lastHandledReconcileAt?: string };
}

/** A source object (GitRepository or OCIRepository). */
export type SourceObject = OCIRepository | GitRepository;

function label(obj: KubeObject): string {
  return `${obj.kind ?? 'object'} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name ?? ''}`;
}

/** Why `obj` is not settled at its current generation, or undefined when it is (Ready or Stalled decides). */
function generationVerdict(obj: Reconciled): Verdict | undefined {
  if (obj.spec?.suspend === true) return { state: 'failed', message: `${label(obj)} is suspended (resume it first)` };
  const gen = obj.metadata?.generation;
  if (gen !== undefined && obj.status?.observedGeneration !== gen) {
    return { state: 'waiting', message: `waiting for the controller to pick up ${label(obj)}` };
  }
  const stalled = getCondition(obj.status?.conditions, 'Stalled');
  if (stalled?.status === 'True') return { state: 'failed', message: `${label(obj)}: ${stalled.message || stalled.reason}` };
  return undefined;
}

function readyMessage(obj: Reconciled): string {
  const ready = getCondition(obj.status?.conditions, 'Ready');
  return ready?.message || ready?.reason || 'no Ready condition yet';
}

/**
 * After `install`: the source resolved and stored its artifact for its spec, and
 * the Package applied exactly that revision and is Ready. A pinned Package
 * (`spec.rollback.revision`) is done once Ready at the pinned revision.
 */
export function installVerdict(source: SourceObject | undefined, pkg: Package | undefined): Verdict {
  if (!source) return { state: 'waiting', message: 'waiting for the source to exist' };
  if (!pkg) return { state: 'waiting', message: 'waiting for the Package to exist' };
  const sourceState = generationVerdict(source);
  if (sourceState) return sourceState;
  const sourceReady = getCondition(source.status?.conditions, 'Ready');
  const artifact = source.status?.artifact?.revision;
  if (sourceReady?.status !== 'True' || !artifact) {
    return { state: 'waiting', message: `${label(source)}: ${readyMessage(source)}` };
  }
  const pkgState = generationVerdict(pkg);
  if (pkgState) return pkgState;
  const pinned = pkg.spec.rollback?.revision;
  if (pinned !== undefined) return revisionVerdict(pkg, pinned);
  const ready = getCondition(pkg.status?.conditions, 'Ready');
  if (pkg.status?.lastAppliedRevision === artifact && ready?.status === 'True') {
    return { state: 'done', message: `${label(pkg)} is Ready: ${readyMessage(pkg)}` };
  }
  return { state: 'waiting', message: `applying ${artifact}: ${readyMessage(pkg)}` };
}

/** The Package is Ready at its current generation (after `rollback --unpin`, `resume`). */
export function readyVerdict(pkg: Package | undefined): Verdict {
  if (!pkg) return { state: 'failed', message: 'the Package is gone' };
  const state = generationVerdict(pkg);
  if (state) return state;
  const ready = getCondition(pkg.status?.conditions, 'Ready');
  if (ready?.status === 'True') return { state: 'done', message: `${label(pkg)} is Ready: ${readyMessage(pkg)}` };
  return { state: 'waiting', message: `${label(pkg)}: ${readyMessage(pkg)}` };
}

/** After `rollback --to N`: the Package runs PackageRevision N and is Ready. */
export function revisionVerdict(pkg: Package | undefined, revision: number): Verdict {
  if (!pkg) return { state: 'failed', message: 'the Package is gone' };
  const state = generationVerdict(pkg);
  if (state) return state;
  const ready = getCondition(pkg.status?.conditions, 'Ready');
  if (pkg.status?.currentRevision === revision && ready?.status === 'True') {
    return { state: 'done', message: `${label(pkg)} runs revision ${revision} and is Ready` };
  }
  return { state: 'waiting', message: `rolling back to revision ${revision}: ${readyMessage(pkg)}` };
}

/**
 * After `reconcile`: the controller handled the request (`status.lastHandledReconcileAt`
 * equals the annotation written) and finished (not Reconciling). Ready decides
 * success — a failed reconcile is a failure even if the controller will retry.
 */
export function reconcileVerdict(obj: Reconciled | undefined, requestedAt: string): Verdict {
  if (!obj) return { state: 'failed', message: 'the object is gone' };
  if (obj.spec?.suspend === true) return { state: 'failed', message: `${label(obj)} is suspended (resume it first)` };
  if (obj.status?.lastHandledReconcileAt !== requestedAt) {
    return { state: 'waiting', message: `waiting for the controller to reconcile ${label(obj)}` };
  }
  const conditions = obj.status?.conditions;
  if (getCondition(conditions, 'Reconciling')?.status === 'True' && getCondition(conditions, 'Stalled')?.status !== 'True') {
    const ready = getCondition(conditions, 'Ready');
    // A retrying failure (Ready=False) is reported now: this reconcile failed.
    if (ready?.status !== 'False') return { state: 'waiting', message: `${label(obj)}: ${readyMessage(obj)}` };
  }
  const ready = getCondition(conditions, 'Ready');
  if (ready?.status === 'True') return { state: 'done', message: `${label(obj)} reconciled: ${readyMessage(obj)}` };
  return { state: 'failed', message: `${label(obj)}: ${readyMessage(obj)}` };
}

/** Options of {@link pollUntil}. */
export interface PollOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Shown before the first verdict. */
  readonly what: string;
}

/**
 * Calls `check` until its verdict is done (resolves with the message) or failed
 * (throws WaitFailedError), or `timeoutMs` passes (throws WaitTimeoutError with
 * the last state). Progress goes to the terminal's stderr.
 */
export async function pollUntil(term: Terminal, check: () => Promise<Verdict>, opts: PollOptions): Promise<string> {
  const progress = startProgress(term, opts.what);
  const deadline = Date.now() + opts.timeoutMs;
  let last: Verdict = { state: 'waiting', message: opts.what };
  let lastError: unknown;
  try {
    for (;;) {
      try {
        last = await check();
        lastError = undefined;
      } catch (err) {
        lastError = err; // a flaky read is retried until the deadline
      }
      if (last.state === 'done') {
        progress.done();
        return last.message;
      }
      if (last.state === 'failed') {
        progress.done();
        throw new WaitFailedError(last.message);
      }
      progress.update(last.message);
      if (Date.now() >= deadline) {
        progress.done();
        const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
        throw new WaitTimeoutError(`timed out after ${formatMs(opts.timeoutMs)}: ${last.message}${why}`);
      }
      await new Promise((r) => setTimeout(r, Math.min(opts.intervalMs ?? 500, Math.max(0, deadline - Date.now()))));
    }
  } catch (err) {
    progress.done();
    throw err;
  }
}

function formatMs(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Reads an object for a poll (undefined when absent). */
export function reader<T extends KubeObject>(client: KubeClient, ref: ObjectRef): () => Promise<T | undefined> {
  return () => client.get<T>(ref);
}
