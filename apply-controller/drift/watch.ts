/**
 * The drift watcher: one shared, label-selected informer per kind the Packages
 * manage, cluster-wide. Every object Trellis applies carries
 * `apply.trellis.dev/package` and `apply.trellis.dev/package-namespace`; an
 * out-of-band change or delete of such an object enqueues its Package, whose
 * reconcile (a dry-run apply) then sees the difference and corrects or reports
 * it. Level-based: the watcher only says "look at this Package again".
 *
 * Not every event is drift: status updates (a Deployment rolling out) are
 * filtered out, and the initial list of a new informer enqueues nothing (the
 * Packages that caused the watch were just reconciled).
 */
import { isDeepStrictEqual } from 'node:util';
import { Informer } from '../../runtime/informer.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { Logger } from '../../runtime/logging.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { PACKAGE_NAME_LABEL, PACKAGE_NAMESPACE_LABEL } from '../ssa/options.ts';

/** A kind to watch. */
export interface WatchedKind {
  readonly apiVersion: string;
  readonly kind: string;
}

/** Options for {@link DriftWatcher}. */
export interface DriftWatcherOptions {
  /** The controller's own client (cluster-wide list and watch). */
  readonly client: KubeClient;
  /** Queues a Package key (`namespace/name`) for reconciliation. */
  readonly enqueue: (key: string) => void;
  /** Keys to leave alone (a Package in drift mode `ignore`, or one this controller does not own). */
  readonly accept?: (key: string) => boolean;
  /** Called with the key and the object whenever an event was turned into a reconcile (metrics, logs). */
  readonly onDrift?: (key: string, obj: KubeObject, event: 'update' | 'delete' | 'add') => void;
  readonly logger?: Logger;
  /** Passed to each informer (tests use a short one). */
  readonly retryBaseMs?: number;
}

/** The Package key (`namespace/name`) an object's labels name, or undefined when it carries none. */
export function packageKeyOf(obj: KubeObject): string | undefined {
  const labels = obj.metadata?.labels;
  const name = labels?.[PACKAGE_NAME_LABEL];
  const namespace = labels?.[PACKAGE_NAMESPACE_LABEL];
  if (!name || !namespace) return undefined;
  return `${namespace}/${name}`;
}

/** The object without what changes by itself or on every write: status, resourceVersion, managedFields. */
function desiredPart(obj: KubeObject): unknown {
  const { status: _status, ...rest } = obj as KubeObject & { status?: unknown };
  const { resourceVersion: _rv, managedFields: _mf, ...metadata } = obj.metadata ?? {};
  return { ...rest, metadata };
}

/**
 * True when an update may be drift: anything changed besides status,
 * resourceVersion and managedFields (labels and annotations count: removing the
 * package labels is a change too).
 */
export function mayBeDrift(oldObj: KubeObject, newObj: KubeObject): boolean {
  return !isDeepStrictEqual(desiredPart(oldObj), desiredPart(newObj));
}

/** The package keys an update concerns: the new owner and, when the labels moved, the old one. */
export function keysOfUpdate(oldObj: KubeObject, newObj: KubeObject): string[] {
  const keys = [packageKeyOf(newObj), packageKeyOf(oldObj)].filter((k): k is string => k !== undefined);
  return [...new Set(keys)];
}

/** Shared, label-selected informers on the kinds Packages manage. */
export class DriftWatcher {
  readonly #options: DriftWatcherOptions;
  readonly #informers = new Map<string, Informer>();
  #stopped = false;

  constructor(options: DriftWatcherOptions) {
    this.#options = options;
  }

  /** The kinds watched (`apiVersion/kind`... as `group/Kind`). */
  get kinds(): string[] {
    return [...this.#informers.keys()];
  }

  /** The informer of a kind, once watched (tests read its cache). */
  informerOf(kind: WatchedKind): Informer | undefined {
    return this.#informers.get(keyOf(kind));
  }

  /**
   * Starts watching every kind not watched yet. Does not wait for the informers
   * to sync; a kind that cannot be watched (not served, forbidden) is dropped
   * again and retried by the next call.
   */
  ensure(kinds: readonly WatchedKind[]): void {
    if (this.#stopped) return;
    for (const kind of kinds) {
      const key = keyOf(kind);
      if (this.#informers.has(key)) continue;
      const informer = this.#start(kind);
      this.#informers.set(key, informer);
      informer.start().catch((err: unknown) => {
        this.#options.logger?.warn({ err, watch: key }, 'cannot watch managed kind for drift; will retry');
        if (this.#informers.get(key) === informer) this.#informers.delete(key);
        void informer.stop();
      });
    }
  }

  /** Waits until every informer started so far has synced (tests). */
  async synced(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.start().catch(() => undefined)));
  }

  /** Stops every informer. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const all = [...this.#informers.values()];
    this.#informers.clear();
    await Promise.all(all.map((i) => i.stop()));
  }

  #start(kind: WatchedKind): Informer {
    const { client, logger, retryBaseMs } = this.#options;
    const informer = new Informer(client, {
      apiVersion: kind.apiVersion, kind: kind.kind,
      // Existence selectors: every object of any Package, one informer for all of them.
      labelSelector: `${PACKAGE_NAME_LABEL},${PACKAGE_NAMESPACE_LABEL}`,
      ...(retryBaseMs === undefined ? {} : { retryBaseMs }),
      onError: (err) => logger?.debug({ err, watch: keyOf(kind) }, 'drift watch interrupted; resuming'),
    });
    informer.on({
      // Adds during the first list are the objects that exist already, not news.
      add: (obj) => { if (informer.hasSynced) this.#notify([packageKeyOf(obj)], obj, 'add'); },
      update: (oldObj, newObj) => { if (mayBeDrift(oldObj, newObj)) this.#notify(keysOfUpdate(oldObj, newObj), newObj, 'update'); },
      delete: (obj) => this.#notify([packageKeyOf(obj)], obj, 'delete'),
    });
    return informer;
  }

  #notify(keys: readonly (string | undefined)[], obj: KubeObject, event: 'update' | 'delete' | 'add'): void {
    for (const key of keys) {
      if (key === undefined || (this.#options.accept && !this.#options.accept(key))) continue;
      this.#options.onDrift?.(key, obj, event);
      this.#options.enqueue(key);
    }
  }
}

function keyOf(kind: WatchedKind): string {
  const slash = kind.apiVersion.lastIndexOf('/');
  return `${slash < 0 ? '' : kind.apiVersion.slice(0, slash)}/${kind.kind}`;
}
