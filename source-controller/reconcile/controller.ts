/**
 * A runtime Controller for one source kind: an informer on the kind (one
 * namespace or all), the work queue, and the skeleton's reconciler.
 */
import { Controller } from '../../runtime/controller.ts';
import type { Logger } from '../../runtime/logging.ts';
import type { ControllerMetrics } from '../../runtime/metrics.ts';
import { createSourceReconciler, type SourceReconcilerOptions } from './skeleton.ts';
import type { SourceKind, SourceObject } from './source.ts';

/** Options of {@link createSourceController}. */
export interface SourceControllerOptions extends SourceReconcilerOptions {
  /** Watch only this namespace (default: all). */
  readonly namespace?: string | undefined;
  /** Watch only objects matching this label selector: one shard (default: all). */
  readonly labelSelector?: string | undefined;
  /** Objects reconciled at the same time (`--concurrent`). */
  readonly concurrency?: number | undefined;
  readonly logger?: Logger | undefined;
  readonly metrics?: ControllerMetrics | undefined;
}

/** The controller of `kind`; add it to a Manager or start it yourself. */
export function createSourceController<T extends SourceObject>(kind: SourceKind<T>,
  options: SourceControllerOptions): Controller<T> {
  return new Controller<T>({
    client: options.client,
    resource: {
      apiVersion: kind.apiVersion, kind: kind.kind, ...(options.namespace ? { namespace: options.namespace } : {}),
      ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
    },
    reconcile: createSourceReconciler(kind, options),
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
}
