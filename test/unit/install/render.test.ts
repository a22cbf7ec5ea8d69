// What `trellis install` renders and how it judges a rollout, on plain objects.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { parseAllDocuments } from 'yaml';
import { checkImageReference, parseMonitoring, renderInstall } from '../../../cli/install/render.ts';
import { rolloutState } from '../../../cli/install/rollout.ts';
import { formatChecks } from '../../../cli/install/check.ts';
import { installCommand, runInstall } from '../../../cli/install/install.ts';
import { captureTerminal } from '../../../cli/package/output.ts';
import { CliError } from '../../../cli/package/errors.ts';
import { DEFAULT_IMAGE, TRELLIS_VERSION } from '../../../packages-cdk8s/trellis/version.ts';
import { projectRoot } from '../../../hack/lib/system-tools.ts';

test('the default image is the release image of package.json\'s version', (t) => {
  const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
  t.is(TRELLIS_VERSION, pkg.version);
  t.is(DEFAULT_IMAGE, `ghcr.io/trellis-dev/trellis:${pkg.version}`);
});

test('render: image and namespace land everywhere they belong; CRDs and the namespace come first', (t) => {
  const r = renderInstall({ image: 'registry.example:5000/team/trellis:2.0.0', namespace: 'gitops' });
  t.deepEqual(r.phases.map(([p]) => p), ['crds', 'controllers']);
  t.true(r.phases[0]![1].every((o) => o.kind === 'CustomResourceDefinition' || o.kind === 'Namespace'));
  const deployments = r.objects.filter((o) => o.kind === 'Deployment') as unknown as { metadata: { namespace: string }; spec: { template: { spec: { containers: { image: string; args: string[] }[]; volumes: { emptyDir: { sizeLimit?: string } }[] } } } }[];
  t.is(deployments.length, 2);
  for (const d of deployments) {
    t.is(d.metadata.namespace, 'gitops');
    t.is(d.spec.template.spec.containers[0]!.image, 'registry.example:5000/team/trellis:2.0.0');
    t.true(d.spec.template.spec.volumes.every((v) => typeof v.emptyDir.sizeLimit === 'string'), 'every emptyDir has a size limit');
  }
  const bindings = r.objects.filter((o) => o.kind === 'ClusterRoleBinding') as unknown as { roleRef: { name: string }; subjects: { namespace: string }[] }[];
  t.false(bindings.some((b) => b.roleRef.name === 'cluster-admin'), 'no cluster-admin binding');
  t.true(bindings.every((b) => b.subjects.every((s) => s.namespace === 'gitops')));
  const service = r.objects.find((o) => o.kind === 'Service' && o.metadata.name === 'source-controller') as unknown as { spec: { selector: Record<string, string> } };
  t.is(service.spec.selector['source.trellis.dev/artifact-server'], 'leader', 'the artifact Service routes to the leader only');
});

test('render refuses a bad image or namespace before anything else happens', (t) => {
  t.throws(() => checkImageReference('oci://registry/trellis:1'), { instanceOf: CliError, message: /no scheme/ });
  t.throws(() => checkImageReference('Registry/Trellis:1 2'), { instanceOf: CliError });
  t.notThrows(() => checkImageReference('127.0.0.1:5000/trellis@sha256:' + 'a'.repeat(64)));
  t.throws(() => renderInstall({ namespace: 'Not_A_Namespace' }), { instanceOf: CliError, message: /not a valid namespace/ });
});

test('install --dry-run -o yaml prints every object as YAML documents and touches no cluster', async (t) => {
  const term = captureTerminal();
  let code: number | undefined;
  // A kubeconfig that does not exist: a dry run never reads it.
  await runInstall({ dryRun: true, output: 'yaml', image: 'r.example/t:1', kubeconfig: '/nonexistent' },
    { term, env: {}, now: () => new Date(), exit: (c) => { code = c; } });
  const docs = parseAllDocuments(term.stdout()).map((d) => d.toJS() as { kind: string });
  t.is(docs.length, renderInstall().objects.length);
  t.is(docs[0]!.kind, 'Namespace');
  t.is(code, undefined);
});

test('rollout: kstatus rules for a Deployment', (t) => {
  const d = (spec: number, status: Record<string, number>, generation = 1) => ({ metadata: { generation }, spec: { replicas: spec }, status: { observedGeneration: 1, ...status } });
  t.like(rolloutState('x', undefined), { ready: false, message: 'not found' });
  t.like(rolloutState('x', d(2, { replicas: 2, updatedReplicas: 2, availableReplicas: 2 })), { ready: true, message: '2/2 replicas available' });
  t.like(rolloutState('x', d(2, { replicas: 2, updatedReplicas: 2, availableReplicas: 1 })), { ready: false, message: '1/2 replicas available' });
  t.like(rolloutState('x', d(1, { replicas: 2, updatedReplicas: 1, availableReplicas: 1 })), { ready: false, message: '1 old replicas pending termination' });
  t.like(rolloutState('x', d(1, { replicas: 1, updatedReplicas: 1, availableReplicas: 1 }, 2)), { ready: false });
});

test('check report: one line per check and a summary', (t) => {
  const out = formatChecks([{ name: 'kubernetes', status: 'ok', message: 'v1.20.2' }, { name: 'leader apply-controller', status: 'fail', message: 'no replica holds the Lease' }]);
  t.regex(out, /✔ kubernetes\s+v1\.20\.2/);
  t.regex(out, /✗ leader apply-controller\s+no replica/);
  t.regex(out, /1 check failed\n$/);
});

test('RBAC as shipped: no wildcard, no cluster-admin, Secrets only by name (and the revision key created in the Trellis namespace)', (t) => {
  type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
  const r = renderInstall();
  const roles = r.objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role') as unknown as { kind: string; metadata: { name: string }; rules?: Rule[]; aggregationRule?: unknown }[];
  for (const role of roles) {
    if (role.aggregationRule) {
      t.is(role.rules, undefined, `${role.metadata.name}: aggregated, its rules come from labelled ClusterRoles`);
      continue;
    }
    for (const rule of role.rules ?? []) {
      t.false([...rule.apiGroups, ...rule.resources, ...rule.verbs].includes('*'), `${role.metadata.name}: no wildcard`);
      if (!rule.resources.includes('secrets')) continue;
      t.false(rule.verbs.includes('list') || rule.verbs.includes('watch'), `${role.metadata.name}: Secrets are never listed`);
      if (rule.verbs.some((v) => v !== 'get')) t.is(role.kind, 'Role', `${role.metadata.name}: Secret writes only in the Trellis namespace`);
    }
  }
  const bindings = r.objects.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') as unknown as { roleRef: { name: string } }[];
  t.false(bindings.some((b) => b.roleRef.name === 'cluster-admin'));
});

test('--monitoring: dashboard, rules, all (comma-separated); anything else is refused; the dry run prints the chosen objects only', async (t) => {
  t.deepEqual(parseMonitoring('dashboard'), { grafanaDashboard: true, prometheusRule: false });
  t.deepEqual(parseMonitoring('rules'), { grafanaDashboard: false, prometheusRule: true });
  t.deepEqual(parseMonitoring('dashboard,rules'), { grafanaDashboard: true, prometheusRule: true });
  t.deepEqual(parseMonitoring('all'), { grafanaDashboard: true, prometheusRule: true });
  t.throws(() => parseMonitoring('grafana'), { instanceOf: CliError, message: /--monitoring "grafana": expected a comma-separated list of dashboard, rules, all/ });
  t.throws(() => parseMonitoring(''), { instanceOf: CliError });

  const kinds = (monitoring?: string): string[] => renderInstall(monitoring ? { monitoring: parseMonitoring(monitoring) } : {}).objects
    .filter((o) => o.kind === 'PrometheusRule' || o.kind === 'ConfigMap').map((o) => `${o.kind}/${o.metadata.name}`);
  t.deepEqual(kinds(), []);
  t.deepEqual(kinds('dashboard'), ['ConfigMap/trellis-monitoring-dashboard']);
  t.deepEqual(kinds('all'), ['ConfigMap/trellis-monitoring-dashboard', 'PrometheusRule/trellis-monitoring']);

  const term = captureTerminal();
  const io = { term, env: {}, now: () => new Date(), exit: () => undefined };
  await installCommand(io).parseAsync(['--dry-run', '--monitoring', 'rules'], { from: 'user' });
  t.regex(term.stdout(), /^kind: PrometheusRule$/m);
  t.notRegex(term.stdout(), /grafana_dashboard/);
});
