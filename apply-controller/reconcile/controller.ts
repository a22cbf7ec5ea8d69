/**
 * The Package controller as a whole: the reconciler, the informer on Packages,
 * watches on the two source kinds (a new artifact reconciles the Packages that
 * use it), dependents woken when a dependency changes, and the shared cache of
 * managed objects, whose changes wake the Packages they concern: drift (a change
 * Trellis did not make) always, and while a Package waits for health a change
 * that moves an object's health verdict (EngineMemory.healthMayMove). main.ts
 * runs it under the Manager; tests run the very same wiring in-process.
 */
import { Controller } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { Logger } from '../../runtime/logging.ts';
import type { ControllerMetrics } from '../../runtime/metrics.ts';
import { objectKey, type KubeObject, type ObjectRef } from '../../runtime/object.ts';
import type { WorkQueueOptions } from '../../runtime/queue.ts';
import type { SourceStatus } from '../../source-controller/api.ts';
import { packageResource, type Package } from '../api.ts';
import { ArtifactCache } from '../artifact.ts';
import { objectId } from '../bundle/object-id.ts';
import { ManagedObjectCache, type ManagedObjectEvent } from '../cache/managed-objects.ts';
import { keysOfUpdate, mayBeDrift, packageKeyOf } from '../drift/watch.ts';
import { VerificationSchedule } from '../drift/verify.ts';
import { kindsOf } from '../inventory.ts';
import { EngineMemory } from './engine.ts';
import { failedOnTerminatingNamespace } from './namespace-state.ts';
import { RevisionCache } from '../revisions/cache.ts';
import { RevisionKeyring, type RevisionKeys } from '../revisions/keys.ts';
import { packageReconciler, type PackageReconcilerOptions } from '../package.ts';
import { OwnWrites } from './own-writes.ts';
import { SOURCE_RESOURCES, sourceKeyOf, type ObjectReads } from './source.ts';

/** Options of {@link createPackageController}. */
export interface PackageControllerOptions extends Omit<PackageReconcilerOptions, 'client' | 'events' | 'artifacts' | 'onInventory' | 'driftSeenAt' | 'revisionKeys'> {
  readonly client: KubeClient;
  readonly events: Pick<EventRecorder, 'normal' | 'warning'>;
  /** Where artifacts are unpacked (ignored when `artifacts` is given). */
  readonly artifactCacheDir?: string;
  /** An artifact cache to use instead of a new one. */
  readonly artifacts?: ArtifactCache;
  /** Packages reconciled at the same time (`--concurrent`, default 4). */
  readonly concurrency?: number;
  /** Watch Packages of this namespace only (default all). */
  readonly namespace?: string;
  readonly logger?: Logger;
  readonly metrics?: ControllerMetrics;
  readonly queue?: Omit<WorkQueueOptions, 'concurrency'>;
  /** Passed to the managed-object informers (default 1 s). */
  readonly driftRetryBaseMs?: number;
  /** Every object of a healthy Package is checked by a dry run once per this many ms (default 1 h; 0: never). See drift/verify.ts. */
  readonly driftVerifyIntervalMs?: number;
  /**
   * The keys revisions are sealed and signed with; default: the
   * `trellis-revision-key` Secret of `revisionKeyNamespace`.
   */
  readonly revisionKeys?: RevisionKeys;
  /** The controller's namespace, where the revision key Secret lives (default POD_NAMESPACE, else trellis-system). */
  readonly revisionKeyNamespace?: string | undefined;
}

/** A Package controller and the parts tests look into. */
export interface PackageController {
  readonly controller: Controller<Package>;
  /** The shared cache of managed objects. */
  readonly cache: ManagedObjectCache;
  /** The watched PackageRevisions (start it with the controller; main.ts hands it to the Manager). */
  readonly revisionCache: RevisionCache;
  /** The keys revisions are sealed and signed with. */
  readonly revisionKeys: RevisionKeys;
  readonly engine: EngineMemory;
  readonly artifacts: ArtifactCache;
  /** Starts the informers; resolves once the Package cache is synced. */
  start(): Promise<void>;
  /** Stops the controller (in-flight reconciles finish) and the managed-object cache. */
  stop(): Promise<void>;
}

function artifactOf(obj: KubeObject): string {
  const artifact = (obj as { status?: SourceStatus }).status?.artifact;
  return `${artifact?.revision ?? ''}|${artifact?.digest ?? ''}|${artifact?.url ?? ''}`;
}

function readyOf(obj: Package): string {
  const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
  return `${ready?.status ?? ''}|${ready?.observedGeneration ?? ''}|${obj.status?.lastAppliedRevision ?? ''}`;
}

/** Wires the Package controller; call `start()` (or add `controller` to a Manager and start the drift watcher's use by reconciling). */
export function createPackageController(opts: PackageControllerOptions): PackageController {
  if (!opts.artifacts && !opts.artifactCacheDir) throw new TypeError('createPackageController needs artifactCacheDir or artifacts');
  const artifacts = opts.artifacts ?? new ArtifactCache({ dir: opts.artifactCacheDir as string });
  const driftSeenAt = new Map<string, number>();
  const log = opts.logger;
  // The closures below run only once the controller exists (events arrive after start()).
  const cachedPackages = (): Package[] => controller.informer.list();

  const cache = new ManagedObjectCache({
    client: opts.client, logger: log,
    ...(opts.driftRetryBaseMs === undefined ? {} : { retryBaseMs: opts.driftRetryBaseMs }),
  });
  const engine = new EngineMemory(cache, (key) => {
    log?.trace({ key }, 'managed object changed while our write of it was in flight');
    controller.enqueue(key);
  }, new VerificationSchedule(opts.driftVerifyIntervalMs));
  const revisionCache = new RevisionCache({ client: opts.client, namespace: opts.namespace, logger: log });
  const revisionKeys = opts.revisionKeys ?? new RevisionKeyring({
    client: opts.client, namespace: opts.revisionKeyNamespace ?? process.env.POD_NAMESPACE ?? 'trellis-system',
  });
  cache.onEvent((event) => {
    // A deleted object needs no record (absent means apply); dropping it keeps memory bounded by what exists.
    if (event.type === 'delete') engine.state.delete(objectId(event.object as Parameters<typeof objectId>[0]));
    if (!event.live) return;
    const keys = event.old ? keysOfUpdate(event.old, event.object) : [packageKeyOf(event.object)];
    for (const key of keys) {
      if (key === undefined || !wakes(key, event)) continue;
      if (!engine.awaitsHealth(key)) driftSeenAt.set(key, Date.now());
      // Trace, not debug: a rollout of thousands of objects would drown the debug log's step times in these lines.
      log?.trace({ key, object: `${event.object.kind ?? ''}/${event.object.metadata?.namespace ?? ''}/${event.object.metadata?.name ?? ''}`, event: event.type }, 'managed object changed');
      controller.enqueue(key);
    }
  });
  /** Whether a change of a managed object is worth a reconcile of the Package `key`. */
  const wakes = (key: string, event: ManagedObjectEvent): boolean => {
    const pkg = controller.informer.get(key);
    if (pkg === undefined || pkg.spec.suspend === true) return false;
    // Its objects' namespace is being deleted: each object the namespace controller removes would wake another refused
    // create. It retries on its backoff instead, and goes with the namespace (or finds it gone).
    if (failedOnTerminatingNamespace(pkg.status)) return false;
    // Our own write coming back through the watch is neither drift nor news about health (the answer was read already);
    // one that comes back before its answer is held and judged against the answer.
    const id = objectId(event.object as Parameters<typeof objectId>[0]);
    if (event.type !== 'delete' && engine.state.isOwnWrite(id, event.object)) return false;
    if (engine.state.hold(id, key, event.object)) return false;
    if (engine.awaitsHealth(key)) {
      if (event.type !== 'update' || event.old === undefined) return true;
      return mayBeDrift(event.old, event.object) || engine.healthMayMove(key, event.old, event.object);
    }
    if (pkg.spec.drift?.mode === 'ignore') return false;
    return event.type !== 'update' || event.old === undefined || mayBeDrift(event.old, event.object);
  };

  // Reconciles start from the informer's Package and read sources and dependencies from the informers (copies),
  // so a wake-up costs no read; what the informers cannot answer is read from the apiserver.
  const ownWrites = new OwnWrites();
  const reads: ObjectReads = {
    get: async <T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> => {
      const hit = controller.lookup(ref);
      if (!hit.known) return opts.client.get<T>(ref);
      return hit.object === undefined ? undefined : structuredClone(hit.object) as T;
    },
  };
  const reconcile = packageReconciler({
    ...opts, artifacts, driftSeenAt, engine, revisionCache, revisionKeys, ownWrites, reads,
    onInventory: (key, inventory) => cache.retain(key, kindsOf(inventory)),
  });

  const sourceWatches = (['GitRepository', 'OCIRepository'] as const).map((kind) => ({
    apiVersion: SOURCE_RESOURCES[kind].apiVersion, kind,
    ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
    // A new artifact (or one appearing) is what matters; condition churn is not.
    predicate: (oldObj: KubeObject, newObj: KubeObject) => artifactOf(oldObj) !== artifactOf(newObj),
    mapToKeys: (source: KubeObject) => cachedPackages().filter((p) => {
      const ref = sourceKeyOf(p);
      return ref.kind === kind && ref.name === source.metadata?.name && ref.namespace === source.metadata?.namespace;
    }).map((p) => objectKey(p)),
  }));

  const controller: Controller<Package> = new Controller<Package>({
    client: opts.client,
    resource: {
      apiVersion: packageResource.apiVersion, kind: packageResource.kind,
      ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
      ...(opts.watchLabelSelector ? { labelSelector: opts.watchLabelSelector } : {}),
    },
    reconcile,
    // A new spec makes an attempt in flight stale: it stops at its next request and the new one starts.
    cancelOnUpdate: (oldPkg, newPkg) => (newPkg.metadata.generation ?? 0) > (oldPkg.metadata.generation ?? 0),
    ...(opts.concurrency === undefined ? {} : { concurrency: opts.concurrency }),
    watches: sourceWatches,
    ...(log ? { logger: log } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.queue ? { queue: opts.queue } : {}),
  });

  // A dependency that becomes Ready (or applies a new revision) wakes the Packages waiting for it.
  controller.informer.on({
    update: (oldPkg, newPkg) => {
      if (readyOf(oldPkg) === readyOf(newPkg)) return;
      const depNs = newPkg.metadata.namespace;
      for (const p of cachedPackages()) {
        const waits = (p.spec.dependsOn ?? []).some((d) => d.name === newPkg.metadata.name && (d.namespace ?? p.metadata.namespace) === depNs);
        if (waits) controller.enqueue(objectKey(p));
      }
    },
  });

  // A deleted Package's kinds and memory are released.
  controller.informer.on({
    add: (pkg) => ownWrites.seen(objectKey(pkg), pkg.metadata.resourceVersion),
    update: (_old, pkg) => ownWrites.seen(objectKey(pkg), pkg.metadata.resourceVersion),
    delete: (pkg) => {
      engine.forget(objectKey(pkg));
      ownWrites.forget(objectKey(pkg));
    },
  });

  return {
    controller,
    cache,
    engine,
    revisionCache,
    revisionKeys,
    artifacts,
    async start() {
      await Promise.all([controller.start(), revisionCache.start()]);
    },
    async stop() {
      await controller.stop();
      await Promise.all([cache.stop(), revisionCache.stop()]);
    },
  };
}
