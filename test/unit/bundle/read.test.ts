// readBundle over fixture directories: load -> values -> placements ->
// namespaces -> validate -> order, and every problem of a broken bundle at once.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { builtinIsNamespaced } from '../../../apply-controller/bundle/builtin-kinds.ts';
import type { KubeObject } from '../../../apply-controller/bundle/object.ts';
import { readBundle, type ReadBundleOptions, type ReadBundleSuccess } from '../../../apply-controller/bundle/read.ts';

const fixtures = fileURLToPath(new URL('../../fixtures/bundles', import.meta.url));

async function readOk(path: string, opts: Partial<ReadBundleOptions> = {}): Promise<ReadBundleSuccess> {
  const result = await readBundle(fixtures, { path, isNamespaced: builtinIsNamespaced, ...opts });
  if (!result.ok) throw new Error(`unexpected problems:\n${result.errors.map((p) => p.message).join('\n')}`);
  return result;
}

async function problemsOf(path: string, opts: Partial<ReadBundleOptions> = {}): Promise<Array<[string, string]>> {
  const result = await readBundle(fixtures, { path, isNamespaced: builtinIsNamespaced, ...opts });
  if (result.ok) throw new Error('expected problems, the bundle was accepted');
  return result.errors.map((p) => [p.reason, p.message]);
}

function find(result: ReadBundleSuccess, kind: string, name: string): KubeObject {
  const found = result.objects.find((o) => o.object.kind === kind && o.object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found.object;
}

const stageIds = (result: ReadBundleSuccess): Array<[string, boolean, string[]]> =>
  result.phases.map((s) => [s.phase, s.definitions, s.objects.map((o) => o.id)]);

test('a plain folder: Namespace and CRD first, then everything else in kind order', async (t) => {
  const result = await readOk('plain');
  t.is(result.format, 'plain');
  t.deepEqual(result.values, {});
  t.deepEqual(stageIds(result), [
    ['default', true, ['_shop__Namespace', '_widgets.example.com_apiextensions.k8s.io_CustomResourceDefinition']],
    ['default', false, [
      'shop_web__ServiceAccount', 'shop_web-config__ConfigMap',
      'shop_web-reader_rbac.authorization.k8s.io_Role', 'shop_web-reader_rbac.authorization.k8s.io_RoleBinding',
      'shop_web__Service', 'shop_web_apps_Deployment', 'shop_worker_apps_Deployment', 'shop_sample_example.com_Widget',
    ]],
  ]);
  t.is(result.objects.length, 10);
  t.deepEqual(result.objects.find((o) => o.id === 'shop_web-reader_rbac.authorization.k8s.io_Role')?.source,
    { file: 'plain/base/rbac-list.yaml', document: 0, item: 1 });
});

test('a Trellis bundle with defaults: three phases in order, unphased objects last, default values placed', async (t) => {
  const result = await readOk('trellis', { defaultNamespace: 'shop' });
  t.is(result.format, 'trellis');
  t.is(result.manifest?.name, 'web');
  t.deepEqual(stageIds(result), [
    ['crds', true, ['_widgets.example.com_apiextensions.k8s.io_CustomResourceDefinition']],
    ['config', false, ['shop_web-token__Secret', 'shop_web-config__ConfigMap']],
    ['apps', false, ['shop_web__Service', 'shop_web_apps_Deployment', 'shop_sample_example.com_Widget']],
    ['default', false, ['shop_web-bot__ServiceAccount', '_web-viewer_rbac.authorization.k8s.io_ClusterRole']],
  ]);
  t.deepEqual(result.values, {
    replicas: 2, image: { repository: 'nginx', tag: '1.25.3' }, message: 'hello', widgetSize: 3, ports: [80, 8080],
  });
  const deployment = find(result, 'Deployment', 'web') as KubeObject & { spec: { replicas: unknown; template: { spec: { containers: Array<{ image: string }> } } } };
  t.is(deployment.spec.replicas, 2);
  t.is(deployment.spec.template.spec.containers[0]?.image, 'registry.example/web:1.25.3');
});

test('install-time values land in place with their types kept', async (t) => {
  const result = await readOk('trellis', {
    defaultNamespace: 'shop',
    valuesFrom: [{ message: 'from a ConfigMap', replicas: 4 }],
    values: { replicas: 5, image: { tag: '2.0.1' }, widgetSize: 7 },
  });
  const deployment = find(result, 'Deployment', 'web') as KubeObject & { spec: { replicas: unknown; template: { spec: { containers: Array<{ image: string }> } } } };
  t.is(deployment.spec.replicas, 5);
  t.is(typeof deployment.spec.replicas, 'number');
  t.is(deployment.spec.template.spec.containers[0]?.image, 'registry.example/web:2.0.1');
  t.deepEqual((find(result, 'ConfigMap', 'web-config') as KubeObject & { data: unknown }).data,
    { message: 'from a ConfigMap', greeting: 'from a ConfigMap, from a ConfigMap!' });
  const widget = find(result, 'Widget', 'sample') as KubeObject & { spec: { size: unknown } };
  t.is(widget.spec.size, 7);
  t.is(typeof widget.spec.size, 'number');
});

test('valuesHash is stable: the same values in another key order give the same hash, other values another', async (t) => {
  const a = await readOk('trellis', { defaultNamespace: 'shop', values: { replicas: 5, image: { tag: '2.0', repository: 'x' } } });
  const b = await readOk('trellis', { defaultNamespace: 'shop', values: { image: { repository: 'x', tag: '2.0' }, replicas: 5 } });
  const c = await readOk('trellis', { defaultNamespace: 'shop', values: { replicas: 6, image: { tag: '2.0', repository: 'x' } } });
  t.is(a.valuesHash, b.valuesHash);
  t.not(a.valuesHash, c.valuesHash);
});

test('targetNamespace moves every namespaced object and leaves cluster-scoped ones without a namespace', async (t) => {
  const result = await readOk('trellis', { targetNamespace: 'prod', defaultNamespace: 'ignored' });
  const namespaces = Object.fromEntries(result.objects.map((o) => [`${o.object.kind}/${o.object.metadata.name}`, o.object.metadata.namespace]));
  t.deepEqual(namespaces, {
    'Service/web': 'prod', 'Deployment/web': 'prod', 'Widget/sample': 'prod', 'ConfigMap/web-config': 'prod',
    'Secret/web-token': 'prod', 'CustomResourceDefinition/widgets.example.com': undefined,
    'ServiceAccount/web-bot': 'prod', 'ClusterRole/web-viewer': undefined,
  });
  t.true(result.objects.every((o) => o.id.startsWith(o.object.metadata.namespace === undefined ? '_' : 'prod_')));
  const plain = await readOk('plain', { targetNamespace: 'prod' });
  t.is(plain.objects.find((o) => o.object.kind === 'Namespace')?.object.metadata.namespace, undefined);
  t.true(plain.objects.filter((o) => !['Namespace', 'CustomResourceDefinition'].includes(o.object.kind)).every((o) => o.object.metadata.namespace === 'prod'));
});

test('objects without a namespace need targetNamespace or a default namespace', async (t) => {
  const problems = await problemsOf('trellis');
  t.deepEqual(problems.map(([reason, message]) => `${reason} ${message.split(': ')[1]}`), [
    'NamespaceMissing Service web', 'NamespaceMissing Deployment web', 'NamespaceMissing Widget sample',
    'NamespaceMissing ConfigMap web-config', 'NamespaceMissing Secret web-token', 'NamespaceMissing ServiceAccount web-bot',
  ]);
});

test('restricted to its namespace, a Package may not bring a CRD or a ClusterRole', async (t) => {
  t.deepEqual(await problemsOf('trellis', { defaultNamespace: 'team-a', restrictToNamespace: 'team-a' }), [
    ['ClusterScopedNotAllowed', 'trellis/manifests/crds/widget.yaml: CustomResourceDefinition widgets.example.com: CustomResourceDefinition is cluster-scoped, and this Package may only write to namespace team-a'],
    ['ClusterScopedNotAllowed', 'trellis/manifests/unphased.yaml (document 2): ClusterRole web-viewer: ClusterRole is cluster-scoped, and this Package may only write to namespace team-a'],
  ]);
  const plain = await problemsOf('plain', { restrictToNamespace: 'team-a' });
  t.deepEqual(plain.map(([reason, message]) => `${reason} ${message.split(': ')[1]}`), [
    'NamespaceNotAllowed Deployment shop/web', 'NamespaceNotAllowed Service shop/web', 'NamespaceNotAllowed ConfigMap shop/web-config',
    'NamespaceNotAllowed Deployment shop/worker', 'ClusterScopedNotAllowed Namespace shop',
    'NamespaceNotAllowed ServiceAccount shop/web', 'NamespaceNotAllowed Role shop/web-reader', 'NamespaceNotAllowed RoleBinding shop/web-reader',
    'NamespaceNotAllowed Widget shop/sample', 'ClusterScopedNotAllowed CustomResourceDefinition widgets.example.com',
  ]);
});

test('a broken plain folder: every problem is reported together, each naming its file and object', async (t) => {
  t.deepEqual(await problemsOf('broken-plain'), [
    ['InvalidYAML', 'broken-plain/bad-syntax.yaml: line 7, column 3: Flow sequence in block collection must be sufficiently indented and end with a ]'],
    ['DuplicateObject', 'broken-plain/more/dupes.yaml: ConfigMap team-a/settings: also defined in broken-plain/dupes.yaml (same group, kind, namespace and name)'],
    ['MissingKind', 'broken-plain/no-kind.yaml: (no kind) team-a/kindless: kind is not set'],
    ['OwnerReferencesSet', 'broken-plain/owned.yaml: ConfigMap team-a/owned: metadata.ownerReferences must not be set in a manifest (owners are set by the cluster; the apply controller owns what it applies)'],
    ['UndeclaredPhase', 'broken-plain/phased.yaml: ConfigMap team-a/phased: phase "early" is not declared: only a bundle with a package.yaml has phases'],
  ]);
});

test('a broken Trellis bundle: values failing the schema, an undeclared phase and a YAML error, all at once', async (t) => {
  t.deepEqual(await problemsOf('broken-trellis', { values: { replicas: '3', mode: 'turbo' } }), [
    ['InvalidYAML', 'broken-trellis/manifests/dup-key.yaml: line 5, column 3: Map keys must be unique'],
    ['InvalidValues', 'values/replicas must be integer'],
    ['InvalidValues', 'values/mode must be equal to one of the allowed values: ["fast","safe"]'],
    ['UndeclaredPhase', 'broken-trellis/manifests/app.yaml: Deployment team-a/app: phase "three" is not declared in package.yaml (declared: one, two)'],
  ]);
});

test('an invalid package.yaml: its problems are reported and the manifests are still checked, except for phases', async (t) => {
  const problems = await problemsOf('bad-manifest', { restrictToNamespace: 'team-b' });
  t.true(problems.slice(0, -1).every(([reason]) => reason === 'InvalidPackageManifest'));
  t.deepEqual(problems.at(-1), ['NamespaceNotAllowed', 'bad-manifest/manifests/app.yaml: ConfigMap team-a/app: namespace team-a is not allowed, this Package may only write to namespace team-b']);
  t.false(problems.some(([reason]) => reason === 'UndeclaredPhase'));
});

test('values given to a plain folder are refused rather than silently ignored', async (t) => {
  t.deepEqual(await problemsOf('plain', { values: { replicas: 3 } }), [
    ['InvalidValues', 'values are set, but the bundle is a plain folder of manifests (values need a package.yaml that declares them)'],
  ]);
});

test('a cluster that serves nothing beyond the bundle CRDs: every other kind is reported, the CRD\'s own resources are not', async (t) => {
  const problems = await readBundle(fixtures, { path: 'plain', isNamespaced: () => undefined });
  t.false(problems.ok);
  if (problems.ok) return;
  t.true(problems.errors.every((p) => p.reason === 'UnknownKind'));
  t.false(problems.errors.some((p) => p.object?.kind === 'Widget'));
  t.is(problems.errors.length, 9);
});

test('the kinds the cluster is asked about are announced once, before any is asked; the bundle\'s own CRD kinds are not among them', async (t) => {
  const events: string[] = [];
  const known = new Map<string, boolean>();
  const result = await readOk('plain', {
    // Like the reconciler: nothing is known until the kinds are looked up.
    isNamespaced: (apiVersion, kind) => {
      events.push(`ask ${apiVersion} ${kind}`);
      return known.get(`${apiVersion}/${kind}`);
    },
    lookUpKinds: (kinds) => {
      events.push(`look up ${kinds.map(([a, k]) => `${a} ${k}`).sort().join(', ')}`);
      for (const [apiVersion, kind] of kinds) known.set(`${apiVersion}/${kind}`, builtinIsNamespaced(apiVersion, kind) ?? false);
      return Promise.resolve();
    },
  });
  t.is(result.objects.length, 10);
  t.is(events[0], 'look up apiextensions.k8s.io/v1 CustomResourceDefinition, apps/v1 Deployment, rbac.authorization.k8s.io/v1 Role, '
    + 'rbac.authorization.k8s.io/v1 RoleBinding, v1 ConfigMap, v1 Namespace, v1 Service, v1 ServiceAccount');
  t.is(events.filter((e) => e.startsWith('look up')).length, 1);
  t.false(events.some((e) => e.includes('Widget')), 'example.com/v1 Widget comes from the bundle\'s CRD, the cluster is not asked');
  t.true(events.slice(1).every((e) => e.startsWith('ask ')));
});
