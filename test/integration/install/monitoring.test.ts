// `trellis install --monitoring` and `trellis bootstrap --monitoring` on a
// private cluster: asking for the alert rules where prometheus-operator's
// PrometheusRule CRD is not installed is refused before the first write (or
// push) with a message naming the CRD; the dashboard alone needs nothing and is
// installed; with the real CRD (kube-prometheus's manifest from the shared
// corpus) both are installed, equal to the files in docs/monitoring/; an install
// without --monitoring removes them again.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import anyTest from 'ava';
import { parse } from 'yaml';
import { bootstrapTrellis } from '../../../cli/install/bootstrap.ts';
import { runInstall } from '../../../cli/install/install.ts';
import { parseMonitoring } from '../../../cli/install/render.ts';
import dashboard from '../../../docs/monitoring/grafana-dashboard.json' with { type: 'json' };
import { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { captureIO, startPrivateCluster, type PrivateCluster } from './support.ts';

const test = anyTest;
const NS = 'trellis-system';
const IMAGE = 'registry.example/trellis:1.0.0';
const CRD_FILE = new URL('../../../../shared/realworld/corpus/kube-prometheus/setup/prometheus-operator-0prometheusruleCustomResourceDefinition.yaml', import.meta.url);
const RULE_FILE = new URL('../../../docs/monitoring/prometheus-rule.yaml', import.meta.url);
const DASHBOARD = { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'trellis-monitoring-dashboard' };
const RULE = { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', namespace: NS, name: 'trellis-monitoring' };

interface ConfigMap extends KubeObject { data?: Record<string, string> }
interface Rule extends KubeObject { spec?: { groups?: unknown[] } }

let pc: PrivateCluster | undefined;
test.before(async () => { pc = await startPrivateCluster('install-monitoring'); });
test.after.always(async () => { await pc?.cluster.stop(); });

const kubeconfig = (): string => pc!.cluster.kubeconfigPath;

test.serial('--monitoring rules without the PrometheusRule CRD: install and bootstrap refuse before any write or push, naming the CRD', async (t) => {
  for (const parts of ['rules', 'all', 'dashboard,rules']) {
    const io = captureIO();
    const err = await t.throwsAsync(runInstall({ kubeconfig: kubeconfig(), image: IMAGE, monitoring: parseMonitoring(parts) }, io));
    t.regex(err?.message ?? '', /^cannot install Trellis; nothing was written:\n {2}crd prometheusrules\.monitoring\.coreos\.com: not installed: .*prometheus-operator.*--monitoring dashboard/m, parts);
    t.is(io.term.stdout(), '', 'nothing was applied');
  }
  t.is(await pc!.admin.get({ apiVersion: 'v1', kind: 'Namespace', name: NS }), undefined, 'the namespace was not created');
  t.is(await pc!.admin.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: 'packages.apply.trellis.dev' }), undefined);

  // Bootstrap checks the cluster before it pushes: the registry here does not exist, so getting past the check would fail otherwise.
  const client = new KubeClient(pc!.kubeConfig);
  try {
    const err = await t.throwsAsync(bootstrapTrellis(client, 'oci://127.0.0.1:1/platform/trellis', { image: IMAGE, insecure: true, monitoring: parseMonitoring('rules') }, captureIO()));
    t.regex(err?.message ?? '', /crd prometheusrules\.monitoring\.coreos\.com: not installed/);
  } finally {
    client.transport.close();
  }
});

test.serial('--monitoring dashboard needs no CRD: the dashboard ConfigMap is installed for the Grafana sidecar, and no rule', async (t) => {
  const io = captureIO();
  await runInstall({ kubeconfig: kubeconfig(), image: IMAGE, monitoring: parseMonitoring('dashboard') }, io);
  t.regex(io.term.stdout(), /^ConfigMap trellis-system\/trellis-monitoring-dashboard created$/m);
  t.notRegex(io.term.stdout(), /PrometheusRule/);
  const cm = await pc!.admin.get<ConfigMap>(DASHBOARD);
  t.is(cm?.metadata?.labels?.grafana_dashboard, '1');
  t.is(cm?.metadata?.labels?.['app.kubernetes.io/part-of'], 'trellis');
  t.deepEqual(JSON.parse(cm?.data?.['trellis.json'] ?? '{}'), dashboard, 'the dashboard is docs/monitoring/grafana-dashboard.json');
});

test.serial('with prometheus-operator\'s CRD, --monitoring all installs the rules as shipped; an install without --monitoring removes both', async (t) => {
  const crd = parse(readFileSync(CRD_FILE, 'utf8')) as KubeObject;
  await pc!.admin.apply(crd, { fieldManager: 'test', force: true });
  for (let i = 0; ; i++) {
    const live = await pc!.admin.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
      { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: 'prometheusrules.monitoring.coreos.com' });
    if (live?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
    if (i > 240) throw new Error('the PrometheusRule CRD was not established');
    await sleep(250);
  }

  const io = captureIO();
  await runInstall({ kubeconfig: kubeconfig(), image: IMAGE, monitoring: parseMonitoring('all') }, io);
  t.regex(io.term.stdout(), /^PrometheusRule trellis-system\/trellis-monitoring created$/m);
  t.regex(io.term.stdout(), /^ConfigMap trellis-system\/trellis-monitoring-dashboard unchanged$/m);
  const rule = await pc!.admin.get<Rule>(RULE);
  const shipped = parse(readFileSync(RULE_FILE, 'utf8')) as Rule;
  t.deepEqual(rule?.spec, shipped.spec, 'the rules are docs/monitoring/prometheus-rule.yaml\'s');
  t.true((rule?.spec?.groups ?? []).length > 0);

  await pc!.admin.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'someone-elses', namespace: NS }, data: { a: 'b' } });
  const without = captureIO();
  await runInstall({ kubeconfig: kubeconfig(), image: IMAGE }, without);
  t.regex(without.term.stdout(), /^ConfigMap trellis-system\/trellis-monitoring-dashboard deleted \(not asked for: --monitoring keeps it\)$/m);
  t.regex(without.term.stdout(), /^PrometheusRule trellis-system\/trellis-monitoring deleted \(not asked for: --monitoring keeps it\)$/m);
  t.is(await pc!.admin.get(RULE), undefined);
  t.is(await pc!.admin.get(DASHBOARD), undefined);
  t.truthy(await pc!.admin.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'someone-elses' }), 'other ConfigMaps stay');
});
