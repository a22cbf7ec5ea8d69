/**
 * A controller wires informers to a work queue and the queue to a reconciler:
 * primary-object events pass a predicate and enqueue the object's key;
 * secondary watches map events on other objects to the keys of the primaries
 * they concern. The reconciler's outcome decides what happens next — forget,
 * requeue after a delay, back off, or (stalled) wait for the object to change.
 */
import { performance } from 'node:perf_hooks';
import { classifyError, classifyResult, type ReconcileOutcome, type ReconcileResult } from './errors.ts';
import { Informer, type InformerOptions } from './informer.ts';
import type { KubeClient } from './kube.ts';
import { isConflict } from './kube-transport.ts';
import { createLogger, objectLogger, type Logger } from './logging.ts';
import type { ControllerMetrics } from './metrics.ts';
import { objectKey, parseKey, type KubeObject, type ObjectRef } from './object.ts';
import { contentChanged, specOrRequestChanged, type UpdatePredicate } from './predicates.ts';
import { WorkQueue, type WorkQueueOptions } from './queue.ts';
import { errorMessage } from './redact.ts';

/** What a reconciler gets besides the key. */
export interface ReconcileContext<T> {
  readonly key: string;
  readonly namespace: string | undefined;
  readonly name: string;
  /** The object as the informer last saw it; may be stale, undefined once deleted. Read fresh to act. */
  readonly cached: T | undefined;
  /** A logger whose every line carries `{kind, key}`. */
  readonly log: Logger;
  /** Consecutive failures before this attempt (0 normally). */
  readonly failures: number;
  /**
   * Aborted when the work no longer counts: the object changed in a way that
   * makes this attempt stale (see {@link ControllerOptions.cancelOnUpdate}), or
   * the controller is told to abort (a lost lease, shutdown). A reconciler passes
   * it to every wait and write, and writes no status once it aborted.
   */
  readonly signal?: AbortSignal;
}

/** Drives one object toward its spec. Returns a result or throws StallingError / WaitingError / Error. */
export type Reconciler<T> = (key: string, ctx: ReconcileContext<T>) => Promise<ReconcileResult | void>;

/** A watch on another kind whose events reconcile the primaries they map to (its cache drops `managedFields` too). */
export interface SecondaryWatch<S extends KubeObject = KubeObject> extends InformerOptions {
  /** Keys (`namespace/name`) of the primary objects to reconcile when `obj` changes. */
  readonly mapToKeys: (obj: S) => readonly string[];
  /** Which updates count (default: any change but resourceVersion/managedFields, status included). */
  readonly predicate?: UpdatePredicate<S>;
}

/** Options for {@link Controller}. */
export interface ControllerOptions<T extends KubeObject> {
  readonly client: KubeClient;
  /** The primary kind (and optionally its namespace / selectors); its cache drops `managedFields` unless `transform` says otherwise. */
  readonly resource: InformerOptions;
  readonly reconcile: Reconciler<T>;
  /** Keys reconciled at the same time (the `--concurrent` flag; default 4). */
  readonly concurrency?: number;
  /** Which primary updates count (default {@link specOrRequestChanged}). */
  readonly predicate?: UpdatePredicate<T>;
  readonly watches?: readonly SecondaryWatch[];
  readonly logger?: Logger;
  readonly metrics?: ControllerMetrics;
  /** Backoff and jitter settings. */
  readonly queue?: Omit<WorkQueueOptions, 'concurrency'>;
  /** An update for which a reconcile of the same object in flight is stale and is aborted (e.g. a new generation). */
  readonly cancelOnUpdate?: (oldObj: T, newObj: T) => boolean;
}

/** One kind's controller. */
export class Controller<T extends KubeObject = KubeObject> {
  /** The primary informer; its cache is readable by the reconciler. */
  readonly informer: Informer<T>;
  readonly queue: WorkQueue;
  readonly kind: string;
  readonly #options: ControllerOptions<T>;
  readonly #log: Logger;
  readonly #secondary = new Set<Informer>();
  readonly #inFlight = new Map<string, AbortController>();
  #unregisterMetrics: (() => void) | undefined;
  #started: Promise<void> | undefined;

  constructor(options: ControllerOptions<T>) {
    this.#options = options;
    this.kind = options.resource.kind;
    this.#log = (options.logger ?? createLogger()).child({ controller: this.kind });
    this.queue = new WorkQueue((key) => this.#reconcileKey(key), { ...options.queue, concurrency: options.concurrency });
    this.informer = new Informer<T>(options.client, {
      onError: (err) => this.#log.warn({ err }, 'watch failed; retrying'),
      withoutManagedFields: true,
      ...options.resource,
    });
    const predicate = options.predicate ?? specOrRequestChanged;
    this.informer.on({
      add: (obj) => this.enqueue(objectKey(obj)),
      update: (oldObj, newObj) => {
        if (!predicate(oldObj, newObj)) return;
        const key = objectKey(newObj);
        if (options.cancelOnUpdate?.(oldObj, newObj)) this.#inFlight.get(key)?.abort(new ReconcileCancelled(`${this.kind} ${key} changed; this attempt is stale`));
        this.enqueue(key);
      },
      delete: (obj) => this.enqueue(objectKey(obj)),
    });
  }

  /** Starts the informers; resolves once every cache is synced. Reconciles begin as events arrive. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      if (this.#options.metrics) {
        this.#unregisterMetrics = this.#options.metrics.registerQueue(this.kind,
          () => ({ depth: this.queue.depth, inFlight: this.queue.inFlight }));
      }
      await Promise.all([this.informer.start(), ...(this.#options.watches ?? []).map((w) => this.watch(w))]);
      this.#log.info('caches synced; reconciling');
    })();
    return this.#started;
  }

  /**
   * Adds a secondary watch (also at runtime, e.g. one per kind of managed
   * object). Resolves once its cache is synced, with a function that removes it.
   */
  async watch<S extends KubeObject>(spec: SecondaryWatch<S>): Promise<() => Promise<void>> {
    const informer = new Informer<S>(this.#options.client, {
      onError: (err) => this.#log.warn({ err, watch: spec.kind }, 'secondary watch failed; retrying'),
      withoutManagedFields: true,
      ...spec,
    });
    const predicate = spec.predicate ?? contentChanged;
    const enqueueAll = (obj: S): void => {
      for (const key of spec.mapToKeys(obj)) this.enqueue(key);
    };
    informer.on({
      add: enqueueAll,
      update: (oldObj, newObj) => { if (predicate(oldObj, newObj)) enqueueAll(newObj); },
      delete: enqueueAll,
    });
    this.#secondary.add(informer as unknown as Informer);
    await informer.start();
    return async () => {
      this.#secondary.delete(informer as unknown as Informer);
      await informer.stop();
    };
  }

  /**
   * What the controller's informers (primary and secondary) know of `ref`: the
   * object (shared: copy it before changing it), or `known: false` when no
   * synced informer covers it. An informer filtered by a label or field
   * selector knows the objects it holds, not the absence of others.
   */
  lookup(ref: ObjectRef): { readonly known: boolean; readonly object?: KubeObject | undefined } {
    for (const informer of [this.informer as unknown as Informer, ...this.#secondary]) {
      const o = informer.options;
      if (o.apiVersion !== ref.apiVersion || o.kind !== ref.kind || !informer.hasSynced) continue;
      if (o.namespace !== undefined && o.namespace !== ref.namespace) continue;
      const object = informer.get(ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name);
      if (object !== undefined) return { known: true, object };
      if (o.labelSelector === undefined && o.fieldSelector === undefined) return { known: true, object: undefined };
    }
    return { known: false };
  }

  /** Queues a key for reconciliation (e.g. from a webhook or a timer). */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** Aborts the signal of every reconcile in flight (a lost lease, shutdown); they finish on their own. */
  abortInFlight(reason: string): void {
    for (const abort of this.#inFlight.values()) abort.abort(new ReconcileCancelled(reason));
  }

  /** Stops the watches and the queue; resolves after in-flight reconciles finished. */
  async stop(): Promise<void> {
    await Promise.all([this.informer.stop(), ...[...this.#secondary].map((i) => i.stop())]);
    await this.queue.shutdown();
    this.#unregisterMetrics?.();
    this.#log.info('stopped');
  }

  async #reconcileKey(key: string): Promise<void> {
    const { namespace, name } = parseKey(key);
    const log = objectLogger(this.#log, this.kind, key);
    const started = performance.now();
    let outcome: ReconcileOutcome;
    let error: unknown;
    const abort = new AbortController();
    this.#inFlight.set(key, abort);
    try {
      const result = await this.#options.reconcile(key, {
        key, namespace, name, cached: this.informer.get(key), log, failures: this.queue.failures(key), signal: abort.signal,
      });
      outcome = classifyResult(result);
    } catch (err) {
      error = err;
      outcome = classifyError(err);
    }
    this.#inFlight.delete(key);
    if (abort.signal.aborted && outcome.kind !== 'success' && outcome.kind !== 'requeue') {
      // A cancelled attempt is not a failure: the change that cancelled it queued the key again.
      outcome = { kind: 'success' };
      log.debug({ reason: errorMessage(abort.signal.reason) }, 'reconcile cancelled');
    }
    const seconds = (performance.now() - started) / 1000;
    this.#act(key, outcome, error, log, seconds);
    this.#options.metrics?.reconcileDuration.observe({ kind: this.kind, result: outcome.kind }, seconds);
    this.#options.metrics?.reconcileTotal.inc({ kind: this.kind, result: outcome.kind });
    this.#options.metrics?.reconciled({ kind: this.kind, key, result: outcome.kind, seconds });
  }

  #act(key: string, outcome: ReconcileOutcome, error: unknown, log: Logger, seconds: number): void {
    const durationMs = Math.round(seconds * 1000);
    switch (outcome.kind) {
      case 'success':
        this.queue.forget(key);
        log.debug({ durationMs }, 'reconciled');
        break;
      case 'requeue':
        this.queue.forget(key);
        this.queue.addAfter(key, outcome.afterMs);
        log.debug({ durationMs, requeueAfterMs: outcome.afterMs }, 'reconciled; requeued');
        break;
      case 'waiting':
        this.queue.forget(key);
        this.queue.addAfter(key, outcome.afterMs);
        log.info({ durationMs, reason: outcome.reason, retryAfterMs: outcome.afterMs }, errorMessage(error));
        break;
      case 'stalled':
        // No retry until the object changes: a pending timer would only stall again.
        this.queue.forget(key);
        this.queue.cancelDelayed(key);
        log.warn({ durationMs, reason: outcome.reason }, errorMessage(error));
        break;
      case 'error': {
        const retryInMs = this.queue.addRateLimited(key);
        // A conflict means the object changed since it was read: the retry reads it again. Not an error of ours.
        if (isConflict(error)) log.info({ durationMs, retryInMs }, `reconcile raced a newer version: ${errorMessage(error)}; retrying`);
        else log.error({ durationMs, err: error, retryInMs }, 'reconcile failed');
        break;
      }
    }
  }
}

/** The reason a reconcile's signal was aborted. */
export class ReconcileCancelled extends Error {
  override readonly name = 'ReconcileCancelled';
}

/**
 * A `mapToKeys` for secondary watches: the keys of the owners of `apiVersion`'s
 * group and `kind` in an object's ownerReferences (owners share its namespace).
 */
export function ownerKeys(apiVersion: string, kind: string): (obj: KubeObject) => string[] {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  return (obj) => (obj.metadata?.ownerReferences ?? [])
    .filter((o) => o.kind === kind && (o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '') === group)
    .map((o) => (obj.metadata?.namespace ? `${obj.metadata.namespace}/${o.name}` : o.name));
}
