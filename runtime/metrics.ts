/**
 * Prometheus metrics for one process: one registry, the controller metrics
 * every controller reports (reconcile duration and count by kind and result,
 * queue depth, in-flight workers, API requests), and room for the controllers'
 * own metrics on the same registry.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Results a reconcile ends with (the `result` label). */
export type ReconcileResultLabel = 'success' | 'requeue' | 'stalled' | 'waiting' | 'error';

/** Live numbers a controller reports for the gauges, read at scrape time. */
export interface QueueProbe {
  readonly depth: number;
  readonly inFlight: number;
}

/** One finished reconcile of one object, for per-object metrics. */
export interface ReconcileObservation {
  readonly kind: string;
  /** `namespace/name`. */
  readonly key: string;
  readonly result: ReconcileResultLabel;
  readonly seconds: number;
}

/** The metrics shared by all controllers of a process. */
export interface ControllerMetrics {
  /** The registry to expose at /metrics and to register controller-specific metrics on. */
  readonly registry: Registry;
  readonly reconcileDuration: Histogram<'kind' | 'result'>;
  readonly reconcileTotal: Counter<'kind' | 'result'>;
  readonly apiRequests: Counter<'verb'>;
  /** Makes the depth/in-flight gauges report `probe` for `kind`; returns an unregister function. */
  registerQueue(kind: string, probe: () => QueueProbe): () => void;
  /**
   * Calls `listener` after every reconcile of any object (per-object metrics keep
   * their own bounded series); returns an unsubscribe function.
   */
  onReconciled(listener: (observation: ReconcileObservation) => void): () => void;
  /** Tells the per-object listeners about a finished reconcile (the runtime Controller calls it). */
  reconciled(observation: ReconcileObservation): void;
}

/** Options for {@link createMetrics}. */
export interface MetricsOptions {
  /** Registry to use (default a new one). */
  readonly registry?: Registry;
  /** Also collect Node process metrics (default false; main.ts turns it on). */
  readonly processMetrics?: boolean;
  /** Metric name prefix (default `trellis_`). */
  readonly prefix?: string;
}

/** Creates the controller metrics on a registry. Call once per registry. */
export function createMetrics(options: MetricsOptions = {}): ControllerMetrics {
  const registry = options.registry ?? new Registry();
  const prefix = options.prefix ?? 'trellis_';
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix });
  const probes = new Map<string, () => QueueProbe>();
  const reconcileDuration = new Histogram({
    name: `${prefix}reconcile_duration_seconds`,
    help: 'Time one reconcile took, by kind and result.',
    labelNames: ['kind', 'result'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const reconcileTotal = new Counter({
    name: `${prefix}reconcile_total`,
    help: 'Reconciles run, by kind and result.',
    labelNames: ['kind', 'result'] as const,
    registers: [registry],
  });
  const apiRequests = new Counter({
    name: `${prefix}kube_api_requests_total`,
    help: 'Kubernetes API requests made, by verb.',
    labelNames: ['verb'] as const,
    registers: [registry],
  });
  new Gauge({
    name: `${prefix}workqueue_depth`,
    help: 'Keys waiting in the work queue, by kind.',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [kind, probe] of probes) this.set({ kind }, probe().depth);
    },
  });
  new Gauge({
    name: `${prefix}reconcile_in_flight`,
    help: 'Reconciles running right now, by kind.',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [kind, probe] of probes) this.set({ kind }, probe().inFlight);
    },
  });
  const listeners = new Set<(observation: ReconcileObservation) => void>();
  return {
    registry, reconcileDuration, reconcileTotal, apiRequests,
    registerQueue(kind, probe) {
      probes.set(kind, probe);
      return () => { if (probes.get(kind) === probe) probes.delete(kind); };
    },
    onReconciled(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
    reconciled(observation) {
      for (const listener of listeners) listener(observation);
    },
  };
}

/** Something that reports API requests, such as a KubeClient's `requests`. */
export interface RequestSource {
  onRequest(listener: (verb: string, dryRun: boolean) => void): () => void;
}

/** Counts every request of `source` in `trellis_kube_api_requests_total` (dry runs as `<verb>_dry_run`). */
export function countApiRequests(metrics: ControllerMetrics, source: RequestSource): () => void {
  return source.onRequest((verb, dryRun) => metrics.apiRequests.inc({ verb: dryRun ? `${verb}_dry_run` : verb }));
}

/**
 * `trellis_leader_active{controller}`: 1 while this replica leads (or runs without
 * election) and its controllers run, 0 otherwise. Summed over replicas it says
 * whether any replica is reconciling.
 */
export function registerLeaderGauge(metrics: ControllerMetrics, controller: string, active: () => boolean): void {
  new Gauge({
    name: 'trellis_leader_active',
    help: 'Whether this replica leads and its controllers run (1) or not (0).',
    labelNames: ['controller'] as const,
    registers: [metrics.registry],
    collect() {
      this.set({ controller }, active() ? 1 : 0);
    },
  });
}
