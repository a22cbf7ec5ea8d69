// The shipped Grafana dashboard and Prometheus alert rules, read as files: their
// structure, and every series their PromQL names is one the controllers
// register (the very functions main.ts calls, on one registry), so renaming a
// metric without updating them fails here. docs/metrics.md must list them all.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { Registry } from 'prom-client';
import { parse } from 'yaml';
import { createPackageMetrics, registerArtifactMetrics } from '../../../apply-controller/metrics.ts';
import { createMetrics, registerLeaderGauge } from '../../../runtime/metrics.ts';
import { registerSourceMetrics } from '../../../source-controller/metrics.ts';

/** Every sample name the controllers can expose (histograms with their suffixes), process metrics aside. */
async function exportedNames(): Promise<Set<string>> {
  const registry = new Registry();
  const metrics = createMetrics({ registry });
  registerLeaderGauge(metrics, 'apply-controller', () => true);
  createPackageMetrics(registry);
  registerArtifactMetrics(registry, { stats: { downloads: 0, hits: 0, failures: 0 } });
  registerSourceMetrics(metrics, []);
  const names = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${m.name}${suffix}`);
  }
  return names;
}

/** The `trellis_*` series a PromQL expression names. */
function seriesIn(expr: string): string[] {
  return [...expr.matchAll(/\btrellis_[a-z0-9_]+/g)].map((m) => m[0]);
}

/** Brackets, braces and parentheses pair up, and quotes close (a cheap guard against broken PromQL). */
function balanced(expr: string): boolean {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  let quoted = false;
  for (const c of expr) {
    if (c === '"') quoted = !quoted;
    if (quoted) continue;
    if ('([{'.includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0 && !quoted;
}

interface Rule { alert?: string; expr?: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface RuleFile { apiVersion: string; kind: string; metadata: { name: string }; spec: { groups: { name: string; rules: Rule[] }[] } }
interface Panel { type: string; title: string; targets?: { expr: string; refId: string }[]; panels?: Panel[] }
interface Dashboard { uid: string; title: string; schemaVersion: number; panels: Panel[]; templating: { list: { name: string; query?: unknown; definition?: string }[] } }

const rules = parse(readFileSync('docs/monitoring/prometheus-rule.yaml', 'utf8')) as RuleFile;
const dashboard = JSON.parse(readFileSync('docs/monitoring/grafana-dashboard.json', 'utf8')) as Dashboard;
const catalogue = readFileSync('docs/metrics.md', 'utf8');

function dashboardExprs(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (panels: readonly Panel[]): void => {
    for (const p of panels) {
      for (const target of p.targets ?? []) out.push({ where: `panel "${p.title}" ${target.refId}`, expr: target.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating.list) if (v.definition) out.push({ where: `variable ${v.name}`, expr: v.definition });
  return out;
}

function ruleExprs(): { where: string; expr: string }[] {
  return rules.spec.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert ?? '?'}`, expr: r.expr ?? '' })));
}

test('the alert rules are a PrometheusRule whose every rule has an alert, an expression, a severity and a summary', (t) => {
  t.is(rules.apiVersion, 'monitoring.coreos.com/v1');
  t.is(rules.kind, 'PrometheusRule');
  const all = rules.spec.groups.flatMap((g) => g.rules);
  t.true(all.length >= 7);
  for (const rule of all) {
    t.regex(rule.alert ?? '', /^Trellis[A-Za-z]+$/);
    t.true((rule.expr ?? '').trim().length > 0, rule.alert);
    t.true(['info', 'warning', 'critical'].includes(rule.labels?.severity ?? ''), rule.alert);
    t.truthy(rule.annotations?.summary, rule.alert);
    if (rule.for !== undefined) t.regex(rule.for, /^\d+[smh]$/, rule.alert);
  }
  const names = new Set(all.map((r) => r.alert));
  t.is(names.size, all.length, 'alert names are unique');
  for (const required of ['TrellisPackageNotReady', 'TrellisPackageRolledBack', 'TrellisPackageDriftStorm', 'TrellisSourceStale', 'TrellisControllerNoLeader']) {
    t.true(names.has(required), required);
  }
});

test('the dashboard is Grafana JSON with a uid, variables and panels that each query something', (t) => {
  t.is(dashboard.uid, 'trellis-overview');
  t.true(dashboard.schemaVersion >= 30);
  t.deepEqual(dashboard.templating.list.map((v) => v.name), ['datasource', 'namespace', 'package']);
  const queried = dashboard.panels.filter((p) => p.type !== 'row');
  t.true(queried.length >= 20);
  for (const p of queried) t.true((p.targets ?? []).length > 0, p.title);
});

test('every series the dashboard and the alert rules name is one the controllers register', async (t) => {
  const exported = await exportedNames();
  const queries = [...dashboardExprs(), ...ruleExprs()];
  t.true(queries.length > 30);
  for (const { where, expr } of queries) {
    t.true(balanced(expr), `${where}: unbalanced ${expr}`);
    const named = seriesIn(expr);
    t.true(named.length > 0, `${where} names no trellis series: ${expr}`);
    for (const series of named) t.true(exported.has(series), `${where} names ${series}, which no controller exports`);
  }
});

test('every per-Package and per-source series is on the dashboard, and every series is in docs/metrics.md', async (t) => {
  const exported = await exportedNames();
  const onDashboard = new Set(dashboardExprs().flatMap((q) => seriesIn(q.expr)).map((n) => n.replace(/_(bucket|sum|count)$/, '')));
  for (const name of exported) {
    if (/_(bucket|sum|count)$/.test(name) && exported.has(name.replace(/_(bucket|sum|count)$/, ''))) continue;
    if (/^trellis_(package|source)_/.test(name)) t.true(onDashboard.has(name), `${name} is not graphed`);
    t.true(catalogue.includes(`\`${name}\``), `${name} is not in docs/metrics.md`);
  }
});

test('the series checker would catch a renamed metric', (t) => {
  t.deepEqual(seriesIn('sum by (ns) (rate(trellis_package_applies_total{a="b"}[5m])) / trellis_x'), ['trellis_package_applies_total', 'trellis_x']);
  t.false(balanced('sum(rate(x[5m])'));
  t.true(balanced('max by (a) (x{l="(("})'));
});
