/**
 * Cluster helpers of the cluster workloads: namespaces made and removed, and
 * waiting on objects through a watch (not polling), so that measuring does not
 * load the apiserver nor add requests to the counts being measured.
 */
import { getCondition, type Condition } from '../../../runtime/conditions.ts';
import type { KubeClient, WatchEvent } from '../../../runtime/kube.ts';
import { isNotFound } from '../../../runtime/kube-transport.ts';
import type { KubeObject, ResourceType } from '../../../runtime/object.ts';
import { mapBounded } from '../../../runtime/concurrency.ts';

/** Raised when a wait runs out of time; says what it waited for and what it saw last. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

const NAMESPACE: ResourceType = { apiVersion: 'v1', kind: 'Namespace' };

/** Creates namespace `name` (keeps one that exists). */
export async function ensureNamespace(client: KubeClient, name: string): Promise<void> {
  await client.apply({ ...NAMESPACE, metadata: { name } }, { fieldManager: 'trellis-bench' });
}

/** Options of {@link deleteNamespace}. */
export interface DeleteNamespaceOptions {
  readonly timeoutMs?: number;
  /**
   * Kinds whose finalizers are removed right after the namespace's delete, so
   * that the namespace goes even when no controller finishes its objects (one
   * stopped or stalled). For cleanup between runs, which is not measured. A
   * running Trellis puts its finalizer back (the Package is not being deleted
   * yet) and uninstalls the Package itself once the namespace controller
   * deletes it; this waits for that too.
   */
  readonly releaseFinalizers?: readonly ResourceType[];
}

/** Deletes namespace `name` and waits (up to `timeoutMs`, default 5 min) until it is gone. */
export async function deleteNamespace(client: KubeClient, name: string, opts: DeleteNamespaceOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 300_000;
  await client.delete({ ...NAMESPACE, name });
  for (const type of opts.releaseFinalizers ?? []) {
    const { items } = await client.list({ ...type, namespace: name });
    await mapBounded(items.filter((o) => (o.metadata?.finalizers ?? []).length > 0), 16, async (o) => {
      await client.patch({ ...type, namespace: name, name: o.metadata?.name ?? '' }, { metadata: { finalizers: null } })
        .catch((err: unknown) => { if (!isNotFound(err)) throw err; });
    });
  }
  const deadline = Date.now() + timeoutMs;
  while (await client.get({ ...NAMESPACE, name })) {
    if (Date.now() > deadline) throw new WaitTimeoutError(`namespace ${name} still terminating after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Options of {@link watchUntil}. */
export interface WatchUntilOptions {
  /** Start after this resourceVersion (from the write or list just made). */
  readonly resourceVersion: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly timeoutMs: number;
  /** For the timeout message. */
  readonly what: string;
}

/**
 * Watches `type` from `opts.resourceVersion` and calls `onEvent` for every
 * object event until it returns true; restarts the watch where it ended when
 * the server closes it. Rejects with {@link WaitTimeoutError} after `timeoutMs`.
 */
export async function watchUntil<T extends KubeObject>(client: KubeClient, type: ResourceType, opts: WatchUntilOptions,
  onEvent: (obj: T, event: WatchEvent<T>['type']) => boolean): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let resourceVersion = opts.resourceVersion;
  let done = false;
  while (!done) {
    const left = deadline - Date.now();
    if (left <= 0) throw new WaitTimeoutError(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}`);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), left);
    let failure: Error | undefined;
    try {
      await client.watch<T>(type, {
        resourceVersion, signal: abort.signal, timeoutSeconds: Math.max(1, Math.min(300, Math.ceil(left / 1000))),
        ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
        ...(opts.fieldSelector ? { fieldSelector: opts.fieldSelector } : {}),
      }, (event) => {
        if (done) return;
        if (event.type === 'ERROR') {
          failure = new Error(`watch of ${opts.what} failed: ${JSON.stringify(event.object).slice(0, 300)}`);
          abort.abort();
          return;
        }
        resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
        if (event.type === 'BOOKMARK') return;
        if (onEvent(event.object, event.type)) {
          done = true;
          abort.abort();
        }
      });
    } finally {
      clearTimeout(timer);
    }
    if (failure) throw failure;
  }
}

/** The Ready condition of an object with kstatus conditions. */
export function readyCondition(obj: KubeObject): Condition | undefined {
  return getCondition((obj as { status?: { conditions?: Condition[] } }).status?.conditions, 'Ready');
}

/** Ready=True for the object's current generation. */
export function isReadyNow(obj: KubeObject): boolean {
  const ready = readyCondition(obj);
  const status = (obj as { status?: { observedGeneration?: number } }).status;
  const generation = obj.metadata?.generation;
  return ready?.status === 'True' && (generation === undefined || status?.observedGeneration === generation);
}
