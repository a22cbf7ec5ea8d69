// Both controllers as processes against the test cluster and the real registry,
// scraped at their real /metrics: a Package's and its source's series appear
// with the right values, a drift correction is counted, every series the
// shipped dashboard and alert rules name is exported, a program Package's renders
// are timed and a no-op reconcile adds none, and all of a Package's (and a
// source's) series disappear once it is deleted.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest from 'ava';
import { parse } from 'yaml';
import { statusInventory, type Package } from '../../../apply-controller/api.ts';
import { runPush } from '../../../cli/push.ts';
import { buildBundle } from '../../../packages-cdk8s/build/bundle.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import { eventually, scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { startController, withControllers } from '../../support/controllers.ts';
import { useRegistry, withServers } from '../../support/servers.ts';

const test = withControllers(withServers(withCluster(anyTest)));

/** The samples of a Prometheus text exposition, and the series it declares (`# TYPE`, histograms with their suffixes). */
function exposition(text: string): { declared: Set<string>; value(name: string, labels: Record<string, string>): number | undefined; lines: string[] } {
  const declared = new Set<string>();
  const lines = text.split('\n');
  for (const line of lines) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (!m?.[1]) continue;
    declared.add(m[1]);
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) declared.add(`${m[1]}${s}`);
  }
  return {
    declared, lines,
    value(name, labels) {
      const line = lines.find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    },
  };
}

function shippedQueries(): string[] {
  const rules = parse(readFileSync('docs/monitoring/prometheus-rule.yaml', 'utf8')) as { spec: { groups: { rules: { expr: string }[] }[] } };
  const dashboard = JSON.parse(readFileSync('docs/monitoring/grafana-dashboard.json', 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
  return [...rules.spec.groups.flatMap((g) => g.rules.map((r) => r.expr)), ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((x) => x.expr))];
}

test('per-Package and per-source series appear, count, match the shipped queries, and go with their object', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = new KubeClient(cluster.kubeConfig);
  const registry = await useRegistry();
  const repo = `oci://${registry.host}/metrics-${ns}/web`;
  const built = await buildBundle('packages-cdk8s/examples/web', { out: join(scratchDir('bundle'), 'web.tgz') });
  const sink = { write: () => true };
  await runPush(built.file, `${repo}:1.0.0`, { insecure: true }, { stdout: sink, stderr: sink });

  const common = ['--kubeconfig', cluster.kubeconfigPath, '--metrics-addr', '127.0.0.1:0', '--health-addr', '', '--watch-namespace', ns];
  const source = await startController({
    entry: 'source-controller/main.ts', name: 'metrics-source',
    args: [...common, '--storage-path', join(scratchDir('source-storage'), 'data'), '--artifact-addr', '127.0.0.1:0'],
  });
  const apply = await startController({ entry: 'apply-controller/main.ts', name: 'metrics-apply', args: [...common, '--artifact-cache-dir', scratchDir('apply-cache')] });
  const urlOf = async (c: typeof source) => (await c.waitForLine((l) => l.msg === 'serving /healthz, /readyz and /metrics')).url as string;
  const [sourceUrl, applyUrl] = await Promise.all([urlOf(source), urlOf(apply)]);
  const scrape = async (url: string) => exposition(await (await fetch(`${url}/metrics`)).text());

  const PKG = { apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'web' };
  const OCI = { apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', namespace: ns, name: 'web' };
  await client.create({ ...OCI, metadata: { name: 'web', namespace: ns }, spec: { url: repo, ref: { semver: '^1' }, interval: '1m', insecure: true } });
  await client.create({ ...PKG, metadata: { name: 'web', namespace: ns }, spec: { sourceRef: { kind: 'OCIRepository', name: 'web' }, interval: '1m', timeout: '60s' } });
  t.teardown(async () => { await client.delete(PKG).catch(() => undefined); });
  const ready = await eventually(async () => {
    const pkg = await client.get<Package>(PKG);
    return pkg?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? pkg : undefined;
  }, 90_000);

  const mine = { namespace: ns, name: 'web' };
  let applied = await eventually(async () => {
    const m = await scrape(applyUrl);
    return (m.value('trellis_package_applies_total', mine) ?? 0) >= 1 ? m : undefined;
  });
  t.is(applied.value('trellis_package_ready', mine), 1);
  t.is(applied.value('trellis_package_suspended', mine), 0);
  t.is(applied.value('trellis_package_current_revision', mine), 1);
  t.is(applied.value('trellis_package_info', { ...mine, revision: ready.status?.lastAppliedRevision ?? '?' }), 1);
  t.is(applied.value('trellis_package_inventory_objects', mine), statusInventory(ready.status).length);
  t.true((applied.value('trellis_package_last_applied_timestamp_seconds', mine) ?? 0) > Date.parse('2026-01-01') / 1000);
  t.is(applied.value('trellis_leader_active', { controller: 'apply-controller' }), 1);

  // A change made outside Trellis is corrected, and counted.
  await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'web-content' }, { data: { 'index.html': 'changed by hand' } });
  applied = await eventually(async () => {
    const m = await scrape(applyUrl);
    return (m.value('trellis_package_drift_corrections_total', mine) ?? 0) >= 1 ? m : undefined;
  });

  // The web example is a program bundle: its install rendered it, and a reconcile with nothing changed renders nothing
  // (the bundle is kept, the render cache not even asked); values changed back are served from the render cache.
  const renders = (m: typeof applied): number => m.lines.filter((l) => l.startsWith('trellis_package_render_duration_seconds_count{')
    && l.includes(`namespace="${ns}"`) && l.includes('name="web"')).reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  const hits = (m: typeof applied): number => m.value('trellis_package_render_cache_hits_total', mine) ?? 0;
  t.true((applied.value('trellis_package_render_duration_seconds_count', { ...mine, result: 'success' }) ?? 0) >= 1, 'the install rendered the program');
  const installed = { renders: renders(applied), hits: hits(applied) };
  const handled = `metrics-${Date.now()}`;
  await client.patch(PKG, { metadata: { annotations: { 'reconcile.trellis.dev/requestedAt': handled } } });
  await eventually(async () => (await client.get<Package>(PKG))?.status?.lastHandledReconcileAt === handled, 60_000);
  const noop = await scrape(applyUrl);
  t.is(renders(noop), installed.renders, 'a no-op reconcile renders nothing');
  t.is(hits(noop), installed.hits, 'nor asks the render cache');
  const readyAtGeneration = async (): Promise<void> => {
    await eventually(async () => {
      const pkg = await client.get<Package>(PKG);
      const ready = pkg?.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' && ready.observedGeneration === pkg?.metadata.generation;
    }, 90_000);
  };
  await client.patch(PKG, { spec: { values: { message: 'changed for the render metrics' } } });
  await readyAtGeneration();
  const changed = await eventually(async () => {
    const m = await scrape(applyUrl);
    return renders(m) === installed.renders + 1 ? m : undefined;
  });
  await client.patch(PKG, { spec: { values: null } });
  await readyAtGeneration();
  const back = await eventually(async () => {
    const m = await scrape(applyUrl);
    return hits(m) > hits(changed) ? m : undefined;
  });
  t.is(renders(back), renders(changed), 'values changed back are not rendered again: the render cache answers');

  const sourced = await eventually(async () => {
    const m = await scrape(sourceUrl);
    return m.value('trellis_source_last_check_timestamp_seconds', { kind: 'OCIRepository', ...mine }) !== undefined ? m : undefined;
  });
  const src = { kind: 'OCIRepository', ...mine };
  t.is(sourced.value('trellis_source_ready', src), 1);
  t.true((sourced.value('trellis_source_artifact_size_bytes', src) ?? 0) > 0);
  t.true((sourced.value('trellis_source_artifact_timestamp_seconds', src) ?? 0) > 0);
  t.true((sourced.value('trellis_source_last_check_duration_seconds', src) ?? -1) >= 0);
  t.is(sourced.value('trellis_leader_active', { controller: 'source-controller' }), 1);

  // Every series the shipped dashboard and alert rules name is declared by one of the two controllers.
  const declared = new Set([...applied.declared, ...sourced.declared]);
  for (const expr of shippedQueries()) {
    for (const [series] of expr.matchAll(/\btrellis_[a-z0-9_]+/g)) t.true(declared.has(series), `${series} (in ${expr}) is not exported`);
  }

  await client.delete(PKG);
  await eventually(async () => (await client.get(PKG)) === undefined, 60_000);
  const after = await eventually(async () => {
    const m = await scrape(applyUrl);
    return m.lines.some((l) => l.startsWith('trellis_package_') && l.includes(`namespace="${ns}"`)) ? undefined : m;
  });
  t.false(after.lines.some((l) => l.includes(`namespace="${ns}"`) && l.startsWith('trellis_package_')));
  await client.delete(OCI);
  await eventually(async () => {
    const m = await scrape(sourceUrl);
    return !m.lines.some((l) => l.startsWith('trellis_source_') && l.includes(`namespace="${ns}"`));
  }, 60_000);
});
