// Per-Package and per-source metrics on plain objects: what each Event adds, the
// state read from the cache at scrape time, and every series of an object gone
// once it is deleted.
import test from 'ava';
import { Registry } from 'prom-client';
import type { Package } from '../../../apply-controller/api.ts';
import { createPackageMetrics, prunedCount, type PackageSource } from '../../../apply-controller/metrics.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { createMetrics } from '../../../runtime/metrics.ts';
import { registerSourceMetrics, type SourceInformer } from '../../../source-controller/metrics.ts';

function pkg(name: string, opts: { ready?: string; suspend?: boolean; current?: number; applied?: string; at?: string; objects?: number } = {}): Package {
  return {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name, namespace: 'shop' },
    spec: { sourceRef: { kind: 'OCIRepository', name }, ...(opts.suspend ? { suspend: true } : {}) },
    status: {
      conditions: [{ type: 'Ready', status: opts.ready ?? 'True', reason: 'R', message: '', lastTransitionTime: opts.at ?? '2026-12-01T10:00:00Z' }],
      ...(opts.current !== undefined ? { currentRevision: opts.current } : {}),
      ...(opts.applied ? { lastAppliedRevision: opts.applied } : {}),
      objects: Array.from({ length: opts.objects ?? 0 }, (_, i) => `shop_o${i}__ConfigMap v1`),
    },
  } as Package;
}

/** A cache of Packages with a delete handler, like the informer. */
function cache(initial: Package[]): PackageSource & { remove(name: string): void } {
  let items = [...initial];
  const deletes: ((p: Package) => void)[] = [];
  return {
    list: () => items,
    on: (h) => { if (h.delete) deletes.push(h.delete); return () => undefined; },
    remove(name) {
      const gone = items.find((p) => p.metadata.name === name);
      items = items.filter((p) => p !== gone);
      if (gone) for (const d of deletes) d(gone);
    },
  };
}

/** The value of one sample (labels given in exposition order), or undefined. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const recorder = () => {
  const seen: string[] = [];
  return { seen, normal: (_o: KubeObject, reason: string) => { seen.push(reason); return Promise.resolve(); }, warning: (_o: KubeObject, reason: string) => { seen.push(reason); return Promise.resolve(); } };
};

test('Package state is read from the cache at scrape time', async (t) => {
  const registry = new Registry();
  const metrics = createPackageMetrics(registry);
  const packages = cache([
    pkg('web', { current: 3, applied: '1.2.0@sha256:abc', at: '2026-12-01T10:00:00Z', objects: 4 }),
    pkg('api', { ready: 'False', suspend: true }),
  ]);
  metrics.watch(packages);
  const text = await registry.metrics();
  const web = 'namespace="shop",name="web"';
  t.is(sample(text, 'trellis_package_ready', web), 1);
  t.is(sample(text, 'trellis_package_ready', 'namespace="shop",name="api"'), 0);
  t.is(sample(text, 'trellis_package_suspended', 'namespace="shop",name="api"'), 1);
  t.is(sample(text, 'trellis_package_current_revision', web), 3);
  t.is(sample(text, 'trellis_package_info', `${web},source_kind="OCIRepository",source_name="web",revision="1.2.0@sha256:abc"`), 1);
  t.is(sample(text, 'trellis_package_last_applied_timestamp_seconds', web), Date.parse('2026-12-01T10:00:00Z') / 1000);
  t.is(sample(text, 'trellis_package_last_applied_timestamp_seconds', 'namespace="shop",name="api"'), undefined, 'absent while not Ready');
  t.is(sample(text, 'trellis_package_inventory_objects', web), 4);
});

test('Events become counts; a deleted Package leaves no series behind', async (t) => {
  const registry = new Registry();
  const metrics = createPackageMetrics(registry);
  const packages = cache([pkg('web'), pkg('api')]);
  metrics.watch(packages);
  const inner = recorder();
  const events = metrics.countEvents(inner);
  const web = pkg('web');
  await events.normal(web, 'Progressing', 'revision 1: 3 created; waiting for health');
  await events.normal(web, 'Applied', 'revision 1 (1.0.0@sha256:a): 3 created');
  await events.normal(web, 'Applied', 'revision 2 (1.1.0@sha256:b): 1 configured, 2 pruned');
  await events.normal(web, 'DriftCorrected', 'revision 2 (1.1.0@sha256:b): 1 configured (ConfigMap/shop/a)');
  await events.warning(web, 'DriftDetected', 'ConfigMap/shop/a differs');
  await events.warning(web, 'HealthCheckFailed', 'Deployment web: 0/1 available');
  await events.warning(web, 'RolledBack', 'revision 3 failed; revision 2 restored');
  await events.warning(pkg('api'), 'ApplyFailed', 'forbidden');
  t.deepEqual(inner.seen, ['Progressing', 'Applied', 'Applied', 'DriftCorrected', 'DriftDetected', 'HealthCheckFailed', 'RolledBack', 'ApplyFailed'], 'every event still recorded');

  let text = await registry.metrics();
  const l = 'namespace="shop",name="web"';
  t.is(sample(text, 'trellis_package_applies_total', l), 2);
  t.is(sample(text, 'trellis_package_pruned_objects_total', l), 2);
  t.is(sample(text, 'trellis_package_drift_corrections_total', l), 1);
  t.is(sample(text, 'trellis_package_drift_detected_total', l), 1);
  t.is(sample(text, 'trellis_package_rollbacks_total', l), 1);
  t.is(sample(text, 'trellis_package_failures_total', `${l},reason="HealthCheckFailed"`), 1);
  t.is(sample(text, 'trellis_package_failures_total', `${l},reason="RolledBack"`), undefined, 'a rollback has its own series');
  t.true((sample(text, 'trellis_package_health_wait_seconds', l) ?? -1) >= 0, 'the wait from Progressing to Applied');
  t.regex(text, /^trellis_package_health_wait_duration_seconds_count 1$/m);

  packages.remove('web');
  text = await registry.metrics();
  t.false(text.split('\n').some((line) => line.includes('name="web"')), `no series of web left:\n${text}`);
  t.is(sample(text, 'trellis_package_failures_total', 'namespace="shop",name="api",reason="ApplyFailed"'), 1, 'other Packages keep theirs');
});

test('pruned counts are read from the change summary of the note', (t) => {
  t.is(prunedCount('revision 2 (1.1.0@sha256:b): 1 configured, 2 pruned'), 2);
  t.is(prunedCount('revision 2 (x): 12 pruned'), 12);
  t.is(prunedCount('revision 2 (x): 3 created'), 0);
});

test('source state at scrape time, checks from reconcile observations, nothing left after a delete', async (t) => {
  const metrics = createMetrics();
  let items: KubeObject[] = [{
    apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', metadata: { name: 'web', namespace: 'shop' },
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'R', message: '', lastTransitionTime: '2026-12-01T10:00:00Z' }],
      artifact: { url: 'http://x', revision: '1.0.0@sha256:abc', digest: 'sha256:d', size: 1234, lastUpdateTime: '2026-12-01T09:00:00Z' },
    },
  } as KubeObject];
  const deletes: ((o: KubeObject) => void)[] = [];
  const informer: SourceInformer = {
    kind: 'OCIRepository', list: () => items, get: (key) => items.find((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}` === key),
    on: (h) => { if (h.delete) deletes.push(h.delete); return () => undefined; },
  };
  registerSourceMetrics(metrics, [informer]);
  metrics.reconciled({ kind: 'OCIRepository', key: 'shop/web', result: 'success', seconds: 0.25 });
  metrics.reconciled({ kind: 'GitRepository', key: 'shop/web', result: 'success', seconds: 9 });
  metrics.reconciled({ kind: 'OCIRepository', key: 'shop/gone', result: 'success', seconds: 1 });
  let text = await metrics.registry.metrics();
  const l = 'kind="OCIRepository",namespace="shop",name="web"';
  t.is(sample(text, 'trellis_source_ready', l), 1);
  t.is(sample(text, 'trellis_source_artifact_size_bytes', l), 1234);
  t.is(sample(text, 'trellis_source_artifact_timestamp_seconds', l), Date.parse('2026-12-01T09:00:00Z') / 1000);
  t.is(sample(text, 'trellis_source_artifact_info', `${l},revision="1.0.0@sha256:abc"`), 1);
  t.is(sample(text, 'trellis_source_last_check_duration_seconds', l), 0.25);
  t.true((sample(text, 'trellis_source_last_check_timestamp_seconds', l) ?? 0) > 0);
  t.false(text.includes('name="gone"'), 'a reconcile of a source that is gone makes no series');
  t.false(text.includes('kind="GitRepository"'), 'kinds without an informer here are not counted');

  const gone = items[0];
  items = [];
  if (gone) for (const d of deletes) d(gone);
  text = await metrics.registry.metrics();
  t.false(text.split('\n').some((line) => line.startsWith('trellis_source_') && line.includes('name="web"')), text);
});
