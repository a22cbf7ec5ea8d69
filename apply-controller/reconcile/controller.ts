/**
 * The Package controller as a whole: the reconciler, the informer on Packages,
 * watches on the two source kinds (a new artifact reconciles the Packages that
 * use it), dependents woken when a dependency changes, and the drift watcher on
 * every kind the Packages manage. main.ts runs it under the Manager; tests run
 * the very same wiring in-process.
 */
import { Controller } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { Logger } from '../../runtime/logging.ts';
import type { ControllerMetrics } from '../../runtime/metrics.ts';
import { objectKey, type KubeObject } from '../../runtime/object.ts';
import type { WorkQueueOptions } from '../../runtime/queue.ts';
import type { SourceStatus } from '../../source-controller/api.ts';
import { packageResource, type Package } from '../api.ts';
import { ArtifactCache } from '../artifact.ts';
import { DriftWatcher } from '../drift/watch.ts';
import { kindsOf } from '../inventory.ts';
import { packageReconciler, type PackageReconcilerOptions } from '../package.ts';
import { SOURCE_RESOURCES, sourceKeyOf } from './source.ts';

/** Options of {@link createPackageController}. */
export interface PackageControllerOptions extends Omit<PackageReconcilerOptions, 'client' | 'events' | 'artifacts' | 'onInventory' | 'driftSeenAt'> {
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
  /** Passed to the drift informers (default 1 s). */
  readonly driftRetryBaseMs?: number;
}

/** A Package controller and the parts tests look into. */
export interface PackageController {
  readonly controller: Controller<Package>;
  readonly drift: DriftWatcher;
  readonly artifacts: ArtifactCache;
  /** Starts the informers; resolves once the Package cache is synced. */
  start(): Promise<void>;
  /** Stops the controller (in-flight reconciles finish) and the drift watches. */
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

  const drift = new DriftWatcher({
    client: opts.client,
    enqueue: (key) => controller.enqueue(key),
    // Only Packages this controller watches, and not those that ignore drift.
    accept: (key) => {
      const pkg = controller.informer.get(key);
      return pkg !== undefined && pkg.spec.drift?.mode !== 'ignore' && pkg.spec.suspend !== true;
    },
    onDrift: (key, obj, event) => {
      driftSeenAt.set(key, Date.now());
      log?.debug({ key, object: `${obj.kind ?? ''}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`, event }, 'managed object changed');
    },
    ...(log ? { logger: log } : {}),
    ...(opts.driftRetryBaseMs === undefined ? {} : { retryBaseMs: opts.driftRetryBaseMs }),
  });

  const reconcile = packageReconciler({
    ...opts, artifacts, driftSeenAt,
    onInventory: (_key, inventory) => drift.ensure(kindsOf(inventory)),
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

  return {
    controller,
    drift,
    artifacts,
    start: () => controller.start(),
    async stop() {
      await controller.stop();
      await drift.stop();
    },
  };
}
