/**
 * Per-Package metrics, the series a dashboard graphs one Package by. Labels are
 * `namespace` and `name` only (plus a bounded `reason` on failures), and every
 * series of a Package goes when the Package is deleted.
 *
 * - State (ready, suspended, revision, last applied time, objects) is read at
 *   scrape time from the Package informer's cache: nothing is kept twice and
 *   nothing can go stale.
 * - Program renders (how long each took and how it ended, and renders answered
 *   from the cache) are reported by the render engine (program/observe.ts) for
 *   the Package the reconciler names around its bundle read.
 * - Counts (applies, drift corrections, pruned objects, rollbacks, failures) and
 *   health-wait times are derived from the Events the reconciler records, seen
 *   through a wrapper around its event recorder: the reconcile code does not
 *   know about them. An Event's reason is the contract (docs/metrics.md lists
 *   which reason feeds which series).
 *
 * docs/metrics.md is the catalogue; test/unit/metrics checks that the shipped
 * dashboard and alert rules name only series that exist.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { getCondition } from '../runtime/conditions.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { KubeObject } from '../runtime/object.ts';
import { statusInventory, type Package } from './api.ts';
import { observeRenders, type RenderObservation } from './program/observe.ts';

/** The event recorder the Package reconciler uses. */
export type PackageEvents = Pick<EventRecorder, 'normal' | 'warning'>;

/** Where the Packages are read at scrape time, and told of deletions. */
export interface PackageSource {
  list(): Package[];
  on(handlers: { delete?: (pkg: Package) => void }): () => void;
}

/** Per-Package metrics registered on one registry. */
export interface PackageMetrics {
  /** `events` with every Package Event also counted. */
  countEvents(events: PackageEvents): PackageEvents;
  /**
   * Reads Package state from `source` at scrape time, records the program
   * renders done for its Packages from now on, and drops a deleted Package's series.
   */
  watch(source: PackageSource): void;
}

const LABELS = ['namespace', 'name'] as const;
type Labels = Record<(typeof LABELS)[number], string>;

/** Names of the series, as docs/metrics.md lists them. */
export const PACKAGE_METRICS = {
  ready: 'trellis_package_ready',
  suspended: 'trellis_package_suspended',
  info: 'trellis_package_info',
  currentRevision: 'trellis_package_current_revision',
  lastApplied: 'trellis_package_last_applied_timestamp_seconds',
  objects: 'trellis_package_inventory_objects',
  applies: 'trellis_package_applies_total',
  driftCorrections: 'trellis_package_drift_corrections_total',
  driftDetected: 'trellis_package_drift_detected_total',
  pruned: 'trellis_package_pruned_objects_total',
  rollbacks: 'trellis_package_rollbacks_total',
  failures: 'trellis_package_failures_total',
  healthWait: 'trellis_package_health_wait_seconds',
  healthWaitDuration: 'trellis_package_health_wait_duration_seconds',
  renderDuration: 'trellis_package_render_duration_seconds',
  renderCacheHits: 'trellis_package_render_cache_hits_total',
} as const;

/** The `result` label of a render: a few values, whatever reasons the engine adds. */
export type RenderResult = 'success' | 'failed' | 'timeout' | 'out_of_memory' | 'crashed';

/** How a render ended, as the `result` label says it: the sandbox's limits apart, every fault of the program is `failed`. */
export function renderResult(outcome: Extract<RenderObservation, { kind: 'ran' }>['outcome']): RenderResult {
  switch (outcome) {
    case 'ok': return 'success';
    case 'Timeout': return 'timeout';
    case 'OutOfMemory': return 'out_of_memory';
    case 'Crashed': return 'crashed';
    default: return 'failed';
  }
}

/** Event reasons that are not failures although recorded as Warnings (they have their own series). */
const NOT_FAILURES = new Set(['DriftDetected', 'RolledBack']);

function labelsOf(obj: KubeObject): Labels | undefined {
  const namespace = obj.metadata?.namespace;
  const name = obj.metadata?.name;
  // Only the Package reconciler's events pass here; a cached copy may lack its kind.
  if ((obj.kind !== undefined && obj.kind !== 'Package') || namespace === undefined || name === undefined) return undefined;
  return { namespace, name };
}

/** `3 pruned` in an Event note (reconcile's change counts) as a number. */
export function prunedCount(note: string): number {
  const m = /(?:^|[\s:,(])(\d+) pruned\b/.exec(note);
  return m ? Number(m[1]) : 0;
}

function seconds(timestamp: string | undefined): number | undefined {
  const ms = timestamp === undefined ? Number.NaN : Date.parse(timestamp);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

/** A gauge whose values are recomputed from the cache at every scrape. */
function stateGauge(registry: Registry, name: string, help: string, read: () => Package[],
  value: (pkg: Package) => number | undefined, extraLabels: readonly string[] = [],
  extra: (pkg: Package) => Record<string, string> = () => ({})): Gauge {
  return new Gauge({
    name, help, labelNames: [...LABELS, ...extraLabels], registers: [registry],
    collect() {
      this.reset();
      for (const pkg of read()) {
        const labels = labelsOf(pkg);
        const v = value(pkg);
        if (labels && v !== undefined) this.set({ ...labels, ...extra(pkg) }, v);
      }
    },
  });
}

/** Registers the per-Package metrics on `registry` (once per registry). */
export function createPackageMetrics(registry: Registry): PackageMetrics {
  let packages: () => Package[] = () => [];
  const read = (): Package[] => packages();
  const ready = (pkg: Package): boolean => getCondition(pkg.status?.conditions, 'Ready')?.status === 'True';
  stateGauge(registry, PACKAGE_METRICS.ready, 'Whether the Package is Ready (1) or not (0).', read, (p) => (ready(p) ? 1 : 0));
  stateGauge(registry, PACKAGE_METRICS.suspended, 'Whether the Package is suspended (1) or not (0).', read, (p) => (p.spec.suspend === true ? 1 : 0));
  stateGauge(registry, PACKAGE_METRICS.info, 'Always 1: the source and the source revision the Package last applied, as labels.', read, () => 1,
    ['source_kind', 'source_name', 'revision'],
    (p) => ({ source_kind: p.spec.sourceRef.kind, source_name: p.spec.sourceRef.name, revision: p.status?.lastAppliedRevision ?? '' }));
  stateGauge(registry, PACKAGE_METRICS.currentRevision, 'Number of the PackageRevision the cluster runs.', read, (p) => p.status?.currentRevision);
  stateGauge(registry, PACKAGE_METRICS.lastApplied,
    'When the Package last became Ready (a revision applied, pruned and healthy), in seconds since the epoch; absent while not Ready.', read,
    (p) => (ready(p) ? seconds(getCondition(p.status?.conditions, 'Ready')?.lastTransitionTime) : undefined));
  stateGauge(registry, PACKAGE_METRICS.objects, 'Objects the Package manages (its inventory).', read, (p) => statusInventory(p.status).length);

  const counter = (name: string, help: string): Counter<'namespace' | 'name'> =>
    new Counter({ name, help, labelNames: LABELS, registers: [registry] });
  const applies = counter(PACKAGE_METRICS.applies, 'Reconciles that applied a change and ended Ready (Applied events).');
  const driftCorrections = counter(PACKAGE_METRICS.driftCorrections, 'Changes made outside Trellis that were corrected (DriftCorrected events).');
  const driftDetected = counter(PACKAGE_METRICS.driftDetected, 'Changes made outside Trellis that were reported, not corrected (DriftDetected events, drift.mode warn).');
  const pruned = counter(PACKAGE_METRICS.pruned, 'Objects deleted because they left the package.');
  const rollbacks = counter(PACKAGE_METRICS.rollbacks, 'Automatic rollbacks to the last healthy revision (RolledBack events).');
  const failures = new Counter({
    name: PACKAGE_METRICS.failures, help: 'Failed reconciles, by the reason of their Warning event.',
    labelNames: [...LABELS, 'reason'] as const, registers: [registry],
  });
  const healthWait = new Gauge({
    name: PACKAGE_METRICS.healthWait, help: 'How long the last rollout of the Package waited for its objects to become healthy.',
    labelNames: LABELS, registers: [registry],
  });
  const healthWaitDuration = new Histogram({
    name: PACKAGE_METRICS.healthWaitDuration, help: 'How long rollouts waited for health, all Packages together.',
    buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600], registers: [registry],
  });

  const renders = renderMetrics(registry);

  const waitingSince = new Map<string, number>();
  const reasons = new Map<string, Set<string>>();
  const keyOf = (l: Labels): string => `${l.namespace}/${l.name}`;
  const endWait = (labels: Labels): void => {
    const started = waitingSince.get(keyOf(labels));
    if (started === undefined) return;
    waitingSince.delete(keyOf(labels));
    const waited = (Date.now() - started) / 1000;
    healthWait.set(labels, waited);
    healthWaitDuration.observe(waited);
  };
  const count = (obj: KubeObject, type: 'Normal' | 'Warning', reason: string, note: string): void => {
    const labels = labelsOf(obj);
    if (!labels) return;
    if (type === 'Normal' && reason === 'Progressing') {
      if (!waitingSince.has(keyOf(labels))) waitingSince.set(keyOf(labels), Date.now());
      return;
    }
    if (type === 'Normal' && (reason === 'Applied' || reason === 'DriftCorrected')) {
      (reason === 'Applied' ? applies : driftCorrections).inc(labels);
      const n = prunedCount(note);
      if (n > 0) pruned.inc(labels, n);
      endWait(labels);
      return;
    }
    if (type !== 'Warning') return;
    if (reason === 'DriftDetected') driftDetected.inc(labels);
    if (reason === 'RolledBack') rollbacks.inc(labels);
    if (!NOT_FAILURES.has(reason)) {
      failures.inc({ ...labels, reason });
      reasons.set(keyOf(labels), (reasons.get(keyOf(labels)) ?? new Set()).add(reason));
    }
    if (reason !== 'DriftDetected') endWait(labels);
  };

  const forget = (labels: Labels): void => {
    for (const metric of [applies, driftCorrections, driftDetected, pruned, rollbacks, healthWait]) metric.remove(labels);
    for (const reason of reasons.get(keyOf(labels)) ?? []) failures.remove({ ...labels, reason });
    reasons.delete(keyOf(labels));
    waitingSince.delete(keyOf(labels));
    renders.forget(labels);
  };

  return {
    countEvents(events) {
      return {
        normal: (regarding, reason, note, action) => {
          count(regarding, 'Normal', reason, note);
          return events.normal(regarding, reason, note, action);
        },
        warning: (regarding, reason, note, action) => {
          count(regarding, 'Warning', reason, note);
          return events.warning(regarding, reason, note, action);
        },
      };
    },
    watch(source) {
      packages = () => source.list();
      observeRenders(renders.record);
      source.on({
        delete: (pkg) => {
          const labels = labelsOf(pkg);
          if (labels) forget(labels);
        },
      });
    },
  };
}

/** Seconds buckets of a render: a cached program is far below them, a cold one near 1 s, the default deadline 10 s. */
const RENDER_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

/** The render series, and what a deleted Package leaves of them. */
function renderMetrics(registry: Registry): { record: (o: RenderObservation) => void; forget: (labels: Labels) => void } {
  const duration = new Histogram({
    name: PACKAGE_METRICS.renderDuration,
    help: 'Program renders of the Package that ran in the sandbox (cache hits excluded): seconds from getting a render slot to the answer, by result.',
    labelNames: [...LABELS, 'result'] as const, buckets: RENDER_BUCKETS, registers: [registry],
  });
  const hits = new Counter({
    name: PACKAGE_METRICS.renderCacheHits, help: 'Program renders of the Package answered from the render cache (same program and values): no sandbox ran.',
    labelNames: LABELS, registers: [registry],
  });
  const results = new Map<string, Set<RenderResult>>();
  return {
    record(o) {
      if (o.subject === undefined) return;
      const labels: Labels = { namespace: o.subject.namespace, name: o.subject.name };
      if (o.kind === 'cached') {
        hits.inc(labels);
        return;
      }
      if (o.method !== 'render') return;
      const result = renderResult(o.outcome);
      duration.observe({ ...labels, result }, o.seconds);
      const key = `${labels.namespace}/${labels.name}`;
      results.set(key, (results.get(key) ?? new Set()).add(result));
    },
    forget(labels) {
      const key = `${labels.namespace}/${labels.name}`;
      for (const result of results.get(key) ?? []) duration.remove({ ...labels, result });
      results.delete(key);
      hits.remove(labels);
    },
  };
}

/** The artifact cache's counts, read at scrape time. */
export interface ArtifactStats {
  readonly stats: { readonly downloads: number; readonly hits: number; readonly failures: number };
}

/** Exposes the artifact cache's work: downloads, cache hits, refused artifacts. */
export function registerArtifactMetrics(registry: Registry, artifacts: ArtifactStats): void {
  const counters: [string, string, keyof ArtifactStats['stats']][] = [
    ['trellis_artifact_downloads_total', 'Artifacts downloaded and unpacked.', 'downloads'],
    ['trellis_artifact_cache_hits_total', 'Artifacts found unpacked already (no download).', 'hits'],
    ['trellis_artifact_failures_total', 'Artifacts refused (download failed, digest mismatch, unsafe archive).', 'failures'],
  ];
  for (const [name, help, field] of counters) {
    new Counter({
      name, help, registers: [registry],
      collect() {
        this.reset();
        this.inc(artifacts.stats[field]);
      },
    });
  }
}
