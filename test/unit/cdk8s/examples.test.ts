// The example packages and Trellis's own installation, as their authors would
// test them: snapshots of synth() with the defaults and with other values, plus
// the properties the snapshots alone would not make obvious.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { parse } from 'yaml';
import { PHASE_ANNOTATION } from '../../../apply-controller/bundle/index.ts';
import { planOf, synth } from '../../../packages-cdk8s/kit/index.ts';
import web from '../../../packages-cdk8s/examples/web/package.ts';
import withCrd from '../../../packages-cdk8s/examples/with-crd/package.ts';
import trellis from '../../../packages-cdk8s/trellis/package.ts';
import { projectRoot } from '../../../hack/lib/system-tools.ts';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; [k: string]: unknown };
const byKind = (objects: readonly Record<string, unknown>[], kind: string): Obj[] => (objects as Obj[]).filter((o) => o.kind === kind);

test('web: a program bundle; the defaults and every scalar value set, in process (the sandbox is test/unit/program/web.test.ts)', (t) => {
  t.throws(() => planOf(web), { message: /extraConfigs need a program bundle/ });
  t.deepEqual(synth(web).map((o) => (o as Obj).kind), ['ConfigMap', 'Deployment', 'Service']);
  const objects = synth(web, { replicas: 3, image: 'nginx:1.27.0', message: 'Hi & welcome' });
  const [deployment] = byKind(objects, 'Deployment') as unknown as [{ spec: { replicas: number; template: { spec: { containers: [{ image: string }] } } } }];
  t.is(deployment.spec.replicas, 3);
  t.is(deployment.spec.template.spec.containers[0].image, 'nginx:1.27.0');
  const [config] = byKind(objects, 'ConfigMap') as unknown as [{ data: Record<string, string> }];
  t.is(config.data['index.html'], '<!doctype html>\n<h1>Hi & welcome</h1>\n');
  t.deepEqual(objects.map((o) => (o as Obj).kind), ['ConfigMap', 'Deployment', 'Service']);
});

test('with-crd: the CRD is in the first phase and its Widgets in the second', (t) => {
  t.snapshot(planOf(withCrd).manifest, 'package.yaml');
  t.snapshot(synth(withCrd), 'defaults');
  const objects = synth(withCrd, { size: 42, color: 'red' }) as Obj[];
  t.snapshot(objects, 'size 42, red');
  t.deepEqual(planOf(withCrd).manifest.phases, ['crds', 'widgets']);
  const phaseOf = (o: Obj): string | undefined => o.metadata.annotations?.[PHASE_ANNOTATION];
  t.deepEqual(objects.map((o) => [o.kind, phaseOf(o)]), [['CustomResourceDefinition', 'crds'], ['Widget', 'widgets'], ['Widget', 'widgets']]);
  t.deepEqual(byKind(objects, 'Widget').map((w) => w.spec), [{ color: 'red', size: 1 }, { color: 'red', size: 42 }]);
});

test('trellis: the installation snapshot, with two replicas each and debug logs', (t) => {
  t.snapshot(planOf(trellis).manifest.values, 'values schema and placements');
  // CRD schemas follow the API definitions (checked against crds/ below), so the snapshot keeps only their identity.
  const withoutCrdSpecs = synth(trellis).map((o) => (o.kind === 'CustomResourceDefinition' ? { ...o, spec: '(see crds/)' } : o));
  t.snapshot(withoutCrdSpecs, 'defaults');
  const objects = synth(trellis, { logLevel: 'debug', sourceController: { replicas: 2 }, applyController: { replicas: 2 } });
  for (const d of byKind(objects, 'Deployment') as unknown as { spec: { replicas: number; template: { spec: { containers: [{ args: string[] }] } } } }[]) {
    t.is(d.spec.replicas, 2);
    t.true(d.spec.template.spec.containers[0].args.includes('--log-level=debug'));
  }
});

test('trellis: its CRDs are exactly the generated files in crds/', (t) => {
  const objects = synth(trellis) as Obj[];
  const crds = byKind(objects, 'CustomResourceDefinition');
  const dir = join(projectRoot, 'crds');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  t.is(crds.length, files.length);
  for (const file of files) {
    const generated = parse(readFileSync(join(dir, file), 'utf8')) as Obj;
    const ours = crds.find((c) => c.metadata.name === generated.metadata.name);
    t.truthy(ours, `${generated.metadata.name} is installed`);
    t.deepEqual(ours?.spec, generated.spec, `${file}: same spec`);
    t.is(ours?.metadata.annotations?.[PHASE_ANNOTATION], 'crds');
  }
});

test('trellis: controllers run unprivileged with probes and requests; only the apply controller reaches artifacts', (t) => {
  const objects = synth(trellis) as Obj[];
  type Container = {
    livenessProbe?: { httpGet?: { path: string } }; readinessProbe?: { httpGet?: { path: string } };
    resources?: { requests?: Record<string, string> };
    securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
  };
  type PodSpec = { serviceAccountName: string; securityContext?: { runAsNonRoot?: boolean }; containers: Container[] };
  const deployments = byKind(objects, 'Deployment') as unknown as (Obj & { spec: { template: { spec: PodSpec } } })[];
  t.deepEqual(deployments.map((d) => d.metadata.name), ['source-controller', 'apply-controller']);
  for (const d of deployments) {
    const pod = d.spec.template.spec;
    t.is(pod.serviceAccountName, d.metadata.name);
    t.true(pod.securityContext?.runAsNonRoot);
    for (const c of pod.containers) {
      t.is(c.livenessProbe?.httpGet?.path, '/healthz');
      t.is(c.readinessProbe?.httpGet?.path, '/readyz');
      t.truthy(c.resources?.requests?.cpu);
      t.truthy(c.resources?.requests?.memory);
      t.false(c.securityContext?.allowPrivilegeEscalation);
      t.true(c.securityContext?.readOnlyRootFilesystem);
      t.deepEqual(c.securityContext?.capabilities?.drop, ['ALL']);
    }
  }
  const [policy] = byKind(objects, 'NetworkPolicy') as unknown as [{ spec: { podSelector: unknown; ingress: { from?: unknown[]; ports: { port: number }[] }[] } }];
  t.deepEqual(policy.spec.podSelector, { matchLabels: { 'app.kubernetes.io/name': 'source-controller', 'app.kubernetes.io/part-of': 'trellis' } });
  const artifactRules = policy.spec.ingress.filter((r) => r.ports.some((p) => p.port === 9090));
  t.is(artifactRules.length, 1);
  t.deepEqual(artifactRules[0]!.from, [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'apply-controller', 'app.kubernetes.io/part-of': 'trellis' } } }]);
});

test('trellis: RBAC grants no wildcards, no Secret listing or changes beyond the revision key, and no cluster-admin binding', (t) => {
  const objects = synth(trellis) as Obj[];
  type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
  for (const role of [...byKind(objects, 'ClusterRole'), ...byKind(objects, 'Role')] as unknown as (Obj & { rules?: Rule[] })[]) {
    for (const rule of role.rules ?? []) {
      t.false([...rule.apiGroups, ...rule.resources, ...rule.verbs].includes('*'), `${role.metadata.name}: no wildcard`);
      if (!rule.resources.includes('secrets')) continue;
      t.false(rule.verbs.some((v) => ['list', 'watch', 'delete', 'patch', 'deletecollection'].includes(v)), `${role.metadata.name}: Secrets are never listed or deleted`);
      // Only the revision key may be updated, and only in the controller's own namespace (a Role).
      if (rule.verbs.includes('update')) {
        t.is(role.kind, 'Role');
        t.deepEqual(rule.resourceNames, ['trellis-revision-key'], `${role.metadata.name}: only the revision key is updated`);
      }
      if (rule.verbs.includes('create')) t.is(role.kind, 'Role', `${role.metadata.name}: Secrets are created only in the controller's namespace`);
    }
  }
  const admin = (byKind(objects, 'ClusterRoleBinding') as unknown as (Obj & { roleRef: { name: string } })[]).filter((b) => b.roleRef.name === 'cluster-admin');
  t.deepEqual(admin.map((b) => b.metadata.name), [], 'the controllers are bound to no cluster-admin role');
});
