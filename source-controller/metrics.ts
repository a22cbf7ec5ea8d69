/**
 * Per-source metrics (GitRepository, OCIRepository), labelled `kind`,
 * `namespace` and `name`: state read at scrape time from the controllers'
 * informer caches (ready, suspended, the stored artifact's size, time and
 * revision), and when each source was last checked and how long that took,
 * from the runtime's per-object reconcile observations. A deleted source's
 * series go with it. docs/metrics.md is the catalogue.
 */
import { Gauge, type Registry } from 'prom-client';
import { getCondition } from '../runtime/conditions.ts';
import type { ControllerMetrics } from '../runtime/metrics.ts';
import type { KubeObject } from '../runtime/object.ts';
import type { SourceStatus } from './api.ts';

/** A source object as the informers hold it. */
interface SourceLike extends KubeObject {
  spec?: { suspend?: boolean };
  status?: SourceStatus;
}

/** One source kind's informer (the primary informer of its controller). */
export interface SourceInformer {
  readonly kind: string;
  list(): KubeObject[];
  get(key: string): KubeObject | undefined;
  on(handlers: { delete?: (obj: KubeObject) => void }): () => void;
}

/** Names of the series, as docs/metrics.md lists them. */
export const SOURCE_METRICS = {
  ready: 'trellis_source_ready',
  suspended: 'trellis_source_suspended',
  artifactInfo: 'trellis_source_artifact_info',
  artifactSize: 'trellis_source_artifact_size_bytes',
  artifactTime: 'trellis_source_artifact_timestamp_seconds',
  lastCheck: 'trellis_source_last_check_timestamp_seconds',
  checkDuration: 'trellis_source_last_check_duration_seconds',
} as const;

const LABELS = ['kind', 'namespace', 'name'] as const;
type Labels = Record<(typeof LABELS)[number], string>;

/** Registers the per-source metrics on `metrics`' registry, reading the given informers. */
export function registerSourceMetrics(metrics: ControllerMetrics, informers: readonly SourceInformer[]): void {
  const registry: Registry = metrics.registry;
  const each = function* (): Generator<[Labels, SourceLike]> {
    for (const informer of informers) {
      for (const obj of informer.list()) {
        const { namespace, name } = obj.metadata ?? {};
        if (namespace !== undefined && name !== undefined) yield [{ kind: informer.kind, namespace, name }, obj];
      }
    }
  };
  const state = (name: string, help: string, value: (s: SourceLike) => number | undefined,
    extra: (s: SourceLike) => Record<string, string> | undefined = () => ({})): void => {
    new Gauge({
      name, help, labelNames: [...LABELS, ...(name === SOURCE_METRICS.artifactInfo ? ['revision'] : [])], registers: [registry],
      collect() {
        this.reset();
        for (const [labels, source] of each()) {
          const v = value(source);
          const more = extra(source);
          if (v !== undefined && more !== undefined) this.set({ ...labels, ...more }, v);
        }
      },
    });
  };
  const artifact = (s: SourceLike): SourceStatus['artifact'] => s.status?.artifact;
  state(SOURCE_METRICS.ready, 'Whether the source is Ready (1) or not (0).', (s) => (getCondition(s.status?.conditions, 'Ready')?.status === 'True' ? 1 : 0));
  state(SOURCE_METRICS.suspended, 'Whether the source is suspended (1) or not (0).', (s) => (s.spec?.suspend === true ? 1 : 0));
  state(SOURCE_METRICS.artifactInfo, 'Always 1: the revision of the stored artifact, as a label.', (s) => (artifact(s) ? 1 : undefined),
    (s) => (artifact(s) ? { revision: artifact(s)?.revision ?? '' } : undefined));
  state(SOURCE_METRICS.artifactSize, 'Size of the stored artifact in bytes.', (s) => artifact(s)?.size);
  state(SOURCE_METRICS.artifactTime, 'When the stored artifact was written, in seconds since the epoch.', (s) => {
    const t = Date.parse(artifact(s)?.lastUpdateTime ?? '');
    return Number.isNaN(t) ? undefined : t / 1000;
  });

  const lastCheck = new Gauge({
    name: SOURCE_METRICS.lastCheck, help: 'When this replica last checked the source (a reconcile: resolve, and fetch when it changed), in seconds since the epoch.',
    labelNames: LABELS, registers: [registry],
  });
  const checkDuration = new Gauge({
    name: SOURCE_METRICS.checkDuration, help: 'How long the last check of the source took (resolve, fetch, verify, store).',
    labelNames: LABELS, registers: [registry],
  });
  const kinds = new Set(informers.map((i) => i.kind));
  metrics.onReconciled(({ kind, key, seconds }) => {
    if (!kinds.has(kind)) return;
    const slash = key.indexOf('/');
    const labels = { kind, namespace: key.slice(0, slash), name: key.slice(slash + 1) };
    // A reconcile of a deleted source ends without it: no series for what is gone.
    if (!informers.some((i) => i.kind === kind && i.get(key) !== undefined)) return;
    lastCheck.set(labels, Date.now() / 1000);
    checkDuration.set(labels, seconds);
  });
  for (const informer of informers) {
    informer.on({
      delete: (obj) => {
        const labels = { kind: informer.kind, namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' };
        lastCheck.remove(labels);
        checkDuration.remove(labels);
      },
    });
  }
}
