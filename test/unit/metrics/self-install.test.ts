// The dashboard and the alert rules ship with Trellis's own installation
// package, off by default: built with `monitoring`, the package holds exactly
// the files of docs/monitoring/.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { parse } from 'yaml';
import { synth } from '../../../packages-cdk8s/kit/index.ts';
import trellis, { trellisPackage } from '../../../packages-cdk8s/trellis/package.ts';

interface Obj { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; data?: Record<string, string>; spec?: unknown }

test('off by default: the installation has no dashboard and no PrometheusRule', (t) => {
  const objects = synth(trellis, {}) as unknown as Obj[];
  t.false(objects.some((o) => o.kind === 'PrometheusRule'));
  t.false(objects.some((o) => o.metadata.labels?.grafana_dashboard !== undefined));
});

test('on: the dashboard ConfigMap for the Grafana sidecar and the PrometheusRule, equal to docs/monitoring', (t) => {
  const objects = synth(trellisPackage({ monitoring: { grafanaDashboard: true, prometheusRule: true } }), { namespace: 'ops' }) as unknown as Obj[];
  const dashboard = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1');
  t.is(dashboard?.metadata.namespace, 'ops');
  t.is(dashboard?.metadata.labels?.['app.kubernetes.io/part-of'], 'trellis', 'uninstall finds it by the installation label');
  t.deepEqual(JSON.parse(dashboard?.data?.['trellis.json'] ?? '{}'), JSON.parse(readFileSync('docs/monitoring/grafana-dashboard.json', 'utf8')));
  const rule = objects.find((o) => o.kind === 'PrometheusRule');
  t.is(rule?.apiVersion, 'monitoring.coreos.com/v1');
  t.is(rule?.metadata.namespace, 'ops');
  const documented = parse(readFileSync('docs/monitoring/prometheus-rule.yaml', 'utf8')) as { spec: unknown };
  t.deepEqual(rule?.spec, documented.spec, 'packages-cdk8s/trellis/prometheus-rules.json is the spec of docs/monitoring/prometheus-rule.yaml');
});
