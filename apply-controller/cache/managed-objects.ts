/**
 * One shared cache of the objects Packages manage: one label-selected list+watch
 * per kind (every object Trellis applies carries the package labels), shared by
 * all Packages and reference-counted by them, with `managedFields` dropped before
 * anything is kept. Planning, health and drift detection read it instead of the
 * apiserver.
 *
 * It never answers wrongly: a kind whose informer has not synced yet, or that
 * cannot be watched (not served, forbidden), is "not known" and the engine falls
 * back to reads. An object that exists without the package labels (made by
 * someone else) is absent from the cache: before creating an object the cache
 * does not hold, the engine asks the apiserver (collision protection, see
 * ssa/ownership.ts). A kind whose watch finds it no longer served (its CRD was
 * deleted) turns "not known" until a Package retains it again.
 */
import { Informer } from '../../runtime/informer.ts';
import { isNotFound } from '../../runtime/kube-transport.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { Logger } from '../../runtime/logging.ts';
import type { KubeObject, ObjectRef } from '../../runtime/object.ts';
import { PACKAGE_NAME_LABEL, PACKAGE_NAMESPACE_LABEL } from '../ssa/options.ts';
import type { CacheLookup, LiveCache } from '../ssa/state.ts';

/** The cache's label selector: existence selectors, so every object of any Package, one informer per kind for all of them. */
export const MANAGED_OBJECTS_SELECTOR = `${PACKAGE_NAME_LABEL},${PACKAGE_NAMESPACE_LABEL}`;

/** A kind to cache, in the exact version the package applies it with (the cache holds that representation). */
export interface CachedKind {
  readonly apiVersion: string;
  readonly kind: string;
}

/** One change of a managed object. */
export interface ManagedObjectEvent {
  readonly type: 'add' | 'update' | 'delete';
  readonly object: KubeObject;
  /** For updates: the object before. */
  readonly old?: KubeObject;
  /** False for the objects a new informer's first list delivers (they existed already; not news). */
  readonly live: boolean;
}

/** Options of {@link ManagedObjectCache}. */
export interface ManagedObjectCacheOptions {
  /** The controller's own client (cluster-wide list and watch). */
  readonly client: KubeClient;
  readonly logger?: Logger | undefined;
  /** Passed to each informer (tests use a short one). */
  readonly retryBaseMs?: number | undefined;
}

interface Entry {
  readonly informer: Informer;
  failed: boolean;
}

function kindKey(kind: CachedKind): string {
  return `${kind.apiVersion}/${kind.kind}`;
}

function groupKind(apiVersion: string, kind: string): string {
  const slash = apiVersion.lastIndexOf('/');
  return `${slash < 0 ? '' : apiVersion.slice(0, slash)}/${kind}`;
}

/** The shared, reference-counted cache of managed objects. */
export class ManagedObjectCache implements LiveCache {
  readonly #options: ManagedObjectCacheOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #owners = new Map<string, ReadonlySet<string>>();
  readonly #kinds = new Map<string, CachedKind>();
  readonly #handlers = new Set<(event: ManagedObjectEvent) => void>();
  #stopped = false;

  constructor(options: ManagedObjectCacheOptions) {
    this.#options = options;
  }

  /** The kinds cached, as `group/Kind` (core group: `/Kind`), without duplicates. */
  get kinds(): string[] {
    return [...new Set([...this.#entries.keys()].map((k) => {
      const kind = this.#kinds.get(k);
      return kind ? groupKind(kind.apiVersion, kind.kind) : k;
    }))];
  }

  /** Registers a handler for changes of managed objects; returns a function that removes it. */
  onEvent(handler: (event: ManagedObjectEvent) => void): () => void {
    this.#handlers.add(handler);
    return () => { this.#handlers.delete(handler); };
  }

  /**
   * Sets the kinds `owner` (a Package key) needs: kinds nobody needed start
   * being watched, kinds nobody needs any more stop. Does not wait for sync.
   */
  retain(owner: string, kinds: readonly CachedKind[]): void {
    if (this.#stopped) return;
    const keys = new Set(kinds.map(kindKey));
    for (const kind of kinds) this.#kinds.set(kindKey(kind), kind);
    this.#owners.set(owner, keys);
    for (const key of keys) {
      const entry = this.#entries.get(key);
      if (entry && !entry.failed) continue;
      if (entry) void entry.informer.stop();
      this.#start(key);
    }
    this.#stopUnused();
  }

  /** `owner` needs nothing any more (a Package deleted). */
  release(owner: string): void {
    if (!this.#owners.delete(owner)) return;
    this.#stopUnused();
  }

  /** Waits until the given kinds are synced (or failed), at most `timeoutMs`; never rejects. */
  async whenSynced(kinds: readonly CachedKind[], timeoutMs: number): Promise<void> {
    const waits = kinds.map((k) => this.#entries.get(kindKey(k))?.informer.start().catch(() => undefined) ?? Promise.resolve());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); });
    await Promise.race([Promise.all(waits), timeout]);
    clearTimeout(timer);
  }

  /** Waits until every informer started so far has synced or failed (tests). */
  async synced(): Promise<void> {
    await Promise.all([...this.#entries.values()].map((e) => e.informer.start().catch(() => undefined)));
  }

  /** What the cache knows of one object. */
  lookup(ref: ObjectRef): CacheLookup {
    const entry = this.#entries.get(`${ref.apiVersion}/${ref.kind}`);
    if (!entry || entry.failed || !entry.informer.hasSynced) return { known: false };
    return { known: true, object: entry.informer.get(ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name) };
  }

  /** The informer of a kind, once cached (tests read it). */
  informerOf(kind: CachedKind): Informer | undefined {
    return this.#entries.get(kindKey(kind))?.informer;
  }

  /** Stops every informer. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const all = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(all.map((e) => e.informer.stop()));
  }

  #stopUnused(): void {
    const needed = new Set<string>();
    for (const keys of this.#owners.values()) for (const k of keys) needed.add(k);
    for (const [key, entry] of this.#entries) {
      if (needed.has(key)) continue;
      this.#entries.delete(key);
      void entry.informer.stop();
    }
  }

  #start(key: string): void {
    const kind = this.#kinds.get(key);
    if (!kind) return;
    const { client, logger, retryBaseMs } = this.#options;
    const informer: Informer = new Informer(client, {
      apiVersion: kind.apiVersion, kind: kind.kind,
      labelSelector: MANAGED_OBJECTS_SELECTOR,
      withoutManagedFields: true,
      ...(retryBaseMs === undefined ? {} : { retryBaseMs }),
      onError: (err) => {
        logger?.debug({ err, watch: key }, 'managed-object watch interrupted; resuming');
        // The kind is no longer served (its CRD was deleted): what the cache holds may be stale. Not known until retained again.
        if (isNotFound(err) && this.#entries.get(key) === entry) {
          entry.failed = true;
          void informer.stop();
        }
      },
    });
    const entry: Entry = { informer, failed: false };
    this.#entries.set(key, entry);
    informer.on({
      add: (object) => this.#emit({ type: 'add', object, live: informer.hasSynced }),
      update: (old, object) => this.#emit({ type: 'update', object, old, live: true }),
      delete: (object) => this.#emit({ type: 'delete', object, live: true }),
    });
    informer.start().catch((err: unknown) => {
      // Not served or not allowed: reads answer instead, and the next retain tries again.
      logger?.warn({ err, watch: key }, 'cannot cache managed kind; reading it from the apiserver instead');
      entry.failed = true;
      void informer.stop();
    });
  }

  #emit(event: ManagedObjectEvent): void {
    for (const handler of this.#handlers) handler(event);
  }
}
