/**
 * An informer keeps a local copy of every object of one type and tells
 * handlers what changed: list, then watch from the list's resourceVersion,
 * resume the watch from the last seen resourceVersion when the server ends it,
 * and list again when that version has expired (410 Gone). The re-list diffs
 * against the cache, so handlers see the adds, updates and deletes they missed.
 */
import type { KubeClient, WatchEvent } from './kube.ts';
import { isExpired, KubeApiError } from './kube-transport.ts';
import { objectKey, withoutManagedFields, type KubeObject, type ResourceType } from './object.ts';

/** What an informer watches. */
export interface InformerOptions extends ResourceType {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** How long the server keeps one watch open before the informer resumes it (default 5-10 min, randomized). */
  readonly watchTimeoutSeconds?: number;
  /**
   * Start by watching from this resourceVersion instead of listing first. A
   * list still happens if the server says the version expired.
   */
  readonly resumeFrom?: string;
  /** Delay before re-watching after a failure (default 1 s, doubling to 30 s). */
  readonly retryBaseMs?: number;
  /** Told about watch failures (they are retried). */
  readonly onError?: (err: unknown) => void;
  /**
   * Drop `metadata.managedFields` before caching (a protobuf watch does not
   * even decode them): bulk no cache reader looks at, and a cache of thousands
   * of objects costs what it keeps.
   */
  readonly withoutManagedFields?: boolean;
  /** Applied to every object before it is cached and handed to handlers, to drop other bulk nobody reads. */
  readonly transform?: (obj: KubeObject) => KubeObject;
}

/** Handlers for informer events. */
export interface InformerHandlers<T> {
  readonly add?: (obj: T) => void;
  readonly update?: (oldObj: T, newObj: T) => void;
  readonly delete?: (obj: T) => void;
}

/** Counters that show what an informer did (lists, resumed and expired watches). */
export interface InformerStats {
  lists: number;
  watches: number;
  expired: number;
}

/** A cached list+watch of one resource type. */
export class Informer<T extends KubeObject = KubeObject> {
  readonly options: InformerOptions;
  /** What happened so far; tests assert on it. */
  readonly stats: InformerStats = { lists: 0, watches: 0, expired: 0 };
  readonly #client: KubeClient;
  readonly #cache = new Map<string, T>();
  readonly #handlers: InformerHandlers<T>[] = [];
  #resourceVersion: string | undefined;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #synced: Promise<void> | undefined;
  #markSynced: (() => void) | undefined;
  #failSync: ((err: unknown) => void) | undefined;
  #hasSynced = false;

  constructor(client: KubeClient, options: InformerOptions) {
    this.#client = client;
    this.options = options;
  }

  /** True once the first list (or resumed watch) was delivered. */
  get hasSynced(): boolean {
    return this.#hasSynced;
  }

  /** The last resourceVersion seen. */
  get resourceVersion(): string | undefined {
    return this.#resourceVersion;
  }

  /** Registers handlers; returns a function that removes them. */
  on(handlers: InformerHandlers<T>): () => void {
    this.#handlers.push(handlers);
    return () => {
      const i = this.#handlers.indexOf(handlers);
      if (i >= 0) this.#handlers.splice(i, 1);
    };
  }

  /** The cached object with key `namespace/name` (or `name`). */
  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  /** Every cached object. */
  list(): T[] {
    return [...this.#cache.values()];
  }

  /**
   * Starts listing and watching (idempotent); resolves once the cache holds a
   * full list. Rejects if the first list fails with a non-retryable error
   * (unknown kind, forbidden).
   */
  start(): Promise<void> {
    if (this.#synced) return this.#synced;
    this.#abort = new AbortController();
    this.#synced = new Promise<void>((resolve, reject) => {
      this.#markSynced = resolve;
      this.#failSync = reject;
    });
    this.#loop = this.#run(this.#abort.signal);
    return this.#synced;
  }

  /** Stops watching; resolves when the watch loop has ended. The cache stays readable. */
  async stop(): Promise<void> {
    this.#abort?.abort();
    await this.#loop;
  }

  async #run(signal: AbortSignal): Promise<void> {
    let needList = this.options.resumeFrom === undefined;
    this.#resourceVersion = this.options.resumeFrom;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (needList) await this.#relist();
        needList = false;
        this.#synced$();
        const started = Date.now();
        await this.#watch(signal);
        failures = 0;
        // A server that ends watches at once must not turn this loop into a busy one.
        if (Date.now() - started < 200) await sleep(this.options.retryBaseMs ?? 1000, signal);
      } catch (err) {
        if (signal.aborted) break;
        if (isExpired(err)) {
          this.stats.expired += 1;
          needList = true;
          continue;
        }
        if (!this.#hasSynced && isFatal(err)) {
          this.#failSync?.(err);
          return;
        }
        this.options.onError?.(err);
        failures += 1;
        // After repeated failures, list again: the watch may be broken for good.
        if (failures >= 3) needList = true;
        await sleep(Math.min(30_000, (this.options.retryBaseMs ?? 1000) * 2 ** (failures - 1)), signal);
      }
    }
  }

  #synced$(): void {
    if (this.#hasSynced) return;
    this.#hasSynced = true;
    this.#markSynced?.();
  }

  /** Lists everything and reconciles the cache with it, emitting the differences. */
  async #relist(): Promise<void> {
    const { items, resourceVersion } = await this.#client.list<T>(this.options, this.options);
    this.stats.lists += 1;
    const seen = new Set<string>();
    for (const listed of items) {
      const obj = this.#transformed(listed);
      const key = objectKey(obj);
      seen.add(key);
      const old = this.#cache.get(key);
      this.#cache.set(key, obj);
      if (!old) this.#emit('add', obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.#emit('update', obj, old);
    }
    for (const [key, old] of this.#cache) {
      if (seen.has(key)) continue;
      this.#cache.delete(key);
      this.#emit('delete', old);
    }
    this.#resourceVersion = resourceVersion;
  }

  async #watch(signal: AbortSignal): Promise<void> {
    this.stats.watches += 1;
    // Randomized like client-go, so many informers do not reconnect at once.
    const timeout = this.options.watchTimeoutSeconds ?? Math.floor(300 + Math.random() * 300);
    await this.#client.watch<T>(this.options, {
      resourceVersion: this.#resourceVersion, timeoutSeconds: timeout, signal,
      labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector,
      withoutManagedFields: this.options.withoutManagedFields ?? false,
    }, (event) => this.#apply(event));
  }

  #apply(event: WatchEvent<T>): void {
    if (event.type === 'ERROR') {
      const status = event.object as unknown as { code?: number; reason?: string; message?: string };
      throw new KubeApiError(status.code ?? 500, status.reason ?? 'WatchError', status.message ?? 'watch error');
    }
    const rv = event.object.metadata?.resourceVersion;
    if (event.type !== 'BOOKMARK') {
      const obj = this.#transformed({ apiVersion: this.options.apiVersion, kind: this.options.kind, ...event.object });
      const key = objectKey(obj);
      const old = this.#cache.get(key);
      if (event.type === 'DELETED') {
        this.#cache.delete(key);
        this.#emit('delete', obj);
      } else {
        this.#cache.set(key, obj);
        if (old) this.#emit('update', obj, old);
        else this.#emit('add', obj);
      }
    }
    if (rv) this.#resourceVersion = rv;
  }

  #transformed(obj: T): T {
    const slim = this.options.withoutManagedFields ? withoutManagedFields(obj) : obj;
    return this.options.transform ? this.options.transform(slim) as T : slim;
  }

  #emit(type: 'add' | 'update' | 'delete', obj: T, old?: T): void {
    for (const h of [...this.#handlers]) {
      try {
        if (type === 'add') h.add?.(obj);
        else if (type === 'update') h.update?.(old as T, obj);
        else h.delete?.(obj);
      } catch (err) {
        // A failing handler must not break the watch stream for the others.
        this.options.onError?.(err);
      }
    }
  }
}

/** Errors a retry cannot fix: the kind does not exist, or we may not list it. */
function isFatal(err: unknown): boolean {
  if (err instanceof KubeApiError) return err.statusCode === 403 || err.statusCode === 401 || err.statusCode === 404;
  return err instanceof Error && err.name === 'UnknownKindError';
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
