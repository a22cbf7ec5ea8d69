// validateObjects and applyNamespaces on plain data: each rule, every problem
// reported with its file and object, and the namespace each object ends up in.
import test from 'ava';
import { builtinIsNamespaced } from '../../../apply-controller/bundle/builtin-kinds.ts';
import { applyNamespaces } from '../../../apply-controller/bundle/namespace.ts';
import type { SourcedObject, UnstructuredObject } from '../../../apply-controller/bundle/object.ts';
import { findBundleCRDs, scopeResolver } from '../../../apply-controller/bundle/scope.ts';
import { validateObjects, type ValidateOptions } from '../../../apply-controller/bundle/validate.ts';

const at = (object: UnstructuredObject, file = 'm.yaml'): SourcedObject => ({ object, source: { file, document: 0 } });
/** A ConfigMap; `namespace: null` for none. */
const cm = (name: string, namespace: string | null = 'app', extra: Record<string, unknown> = {}): UnstructuredObject =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(namespace === null ? {} : { namespace }), ...extra } });

const crd: UnstructuredObject = {
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' },
  spec: { group: 'example.com', scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' }, versions: [{ name: 'v1', served: true, storage: true }] },
};

function check(objects: SourcedObject[], options: Partial<ValidateOptions> = {}): Array<[string, string]> {
  const scopeOf = scopeResolver(builtinIsNamespaced, findBundleCRDs(objects));
  return validateObjects(objects, { scopeOf, ...options }).map((p) => [p.reason, p.message]);
}

test('a valid set of objects has no problems', (t) => {
  t.deepEqual(check([
    at(cm('a')), at({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } }),
    at({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'system:controller:web_view' } }),
    at(crd), at({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'app' } }),
  ]), []);
});

const cases: Array<[string, UnstructuredObject, Array<[string, string]>]> = [
  ['missing apiVersion', { kind: 'ConfigMap', metadata: { name: 'a', namespace: 'app' } },
    [['MissingAPIVersion', 'f.yaml: ConfigMap app/a: apiVersion is not set']]],
  ['malformed apiVersion', { apiVersion: 'apps/v1/x', kind: 'Deployment', metadata: { name: 'a', namespace: 'app' } },
    [['MissingAPIVersion', 'f.yaml: Deployment app/a: apiVersion "apps/v1/x" is not of the form <group>/<version> or <version>']]],
  ['missing kind', { apiVersion: 'v1', metadata: { name: 'a', namespace: 'app' } },
    [['MissingKind', 'f.yaml: (no kind) app/a: kind is not set']]],
  ['missing name', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'app' } },
    [['MissingName', 'f.yaml: ConfigMap app/(no name): metadata.name is not set']]],
  ['generateName', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'a-', namespace: 'app' } },
    [['MissingName', 'f.yaml: ConfigMap app/(no name): metadata.name is not set (generateName cannot be applied: it would create a new object on every apply)']]],
  ['no metadata at all', { apiVersion: 'v1', kind: 'ConfigMap' },
    [['MissingName', 'f.yaml: ConfigMap (no name): metadata.name is not set'],
      ['NamespaceMissing', 'f.yaml: ConfigMap (no name): metadata.namespace is not set, and neither targetNamespace nor a default namespace is']]],
  ['a name with capitals and underscores', cm('Bad_Name'),
    [['InvalidName', 'f.yaml: ConfigMap app/Bad_Name: metadata.name "Bad_Name" must be a DNS-1123 subdomain (at most 253 lowercase letters, digits, "-" and ".", starting and ending with a letter or digit)']]],
  ['a Service name starting with a digit (DNS-1035)', { apiVersion: 'v1', kind: 'Service', metadata: { name: '1web', namespace: 'app' } },
    [['InvalidName', 'f.yaml: Service app/1web: metadata.name "1web" must be a DNS-1035 label (at most 63 lowercase letters, digits and "-", starting with a letter)']]],
  ['a Namespace name with a dot (DNS-1123 label)', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } },
    [['InvalidName', 'f.yaml: Namespace a.b: metadata.name "a.b" must be a DNS-1123 label (at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit)']]],
  ['an RBAC name with a slash', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'a/b', namespace: 'app' } },
    [['InvalidName', 'f.yaml: Role app/a/b: metadata.name "a/b" may not be "." or ".." or contain "/" or "%"']]],
  ['an invalid namespace', cm('a', 'App'),
    [['InvalidName', 'f.yaml: ConfigMap App/a: metadata.namespace "App" must be a DNS-1123 label']]],
  ['a CRD whose name is not <plural>.<group>', { ...crd, metadata: { name: 'widget.example.com' } },
    [['InvalidName', 'f.yaml: CustomResourceDefinition widget.example.com: metadata.name must be "widgets.example.com" (<spec.names.plural>.<spec.group>)']]],
  ['ownerReferences', cm('a', 'app', { ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u' }] }),
    [['OwnerReferencesSet', 'f.yaml: ConfigMap app/a: metadata.ownerReferences must not be set in a manifest (owners are set by the cluster; the apply controller owns what it applies)']]],
  ['a kind the cluster does not serve', { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g', namespace: 'app' } },
    [['UnknownKind', 'f.yaml: Gadget app/g: example.com/v1 Gadget is a kind the cluster does not serve, and no CRD in the bundle defines it']]],
  ['a built-in kind at a version the cluster does not serve', { apiVersion: 'apps/v1beta9', kind: 'Deployment', metadata: { name: 'd', namespace: 'app' } },
    [['UnknownKind', 'f.yaml: Deployment app/d: apps/v1beta9 Deployment is a kind the cluster does not serve, and no CRD in the bundle defines it']]],
  ['a namespaced object without a namespace', cm('a', null),
    [['NamespaceMissing', 'f.yaml: ConfigMap a: metadata.namespace is not set, and neither targetNamespace nor a default namespace is']]],
  ['a phase in a plain folder', cm('a', 'app', { annotations: { 'apply.trellis.dev/phase': 'early' } }),
    [['UndeclaredPhase', 'f.yaml: ConfigMap app/a: phase "early" is not declared: only a bundle with a package.yaml has phases']]],
];

for (const [title, object, expected] of cases) {
  test(`refused: ${title}`, (t) => {
    t.deepEqual(check([at(object, 'f.yaml')]), expected);
  });
}

test('the phase "default" needs no declaration; any other phase must be declared in package.yaml', (t) => {
  const phased = (name: string, phase: string): SourcedObject => at(cm(name, 'app', { annotations: { 'apply.trellis.dev/phase': phase } }), 'p.yaml');
  t.deepEqual(check([phased('a', 'default'), phased('b', 'apps'), phased('c', 'later')], { phases: ['crds', 'apps'] }), [
    ['UndeclaredPhase', 'p.yaml: ConfigMap app/c: phase "later" is not declared in package.yaml (declared: crds, apps)'],
  ]);
  t.deepEqual(check([phased('a', 'default')]), [], 'default is valid in a plain folder too');
});

test('a custom resource of a CRD in the bundle is accepted; a version the CRD does not serve is not', (t) => {
  const widget = (apiVersion: string): SourcedObject => at({ apiVersion, kind: 'Widget', metadata: { name: 'w', namespace: 'app' } }, 'w.yaml');
  t.deepEqual(check([at(crd), widget('example.com/v1')]), []);
  t.deepEqual(check([at(crd), widget('example.com/v2')]), [
    ['UnknownKind', 'w.yaml: Widget app/w: example.com/v2 Widget is not served by the CRD widgets.example.com in the bundle (it serves v1)'],
  ]);
});

test('duplicates: same group, kind, namespace and name, across files and API versions; other namespaces or groups are not duplicates', (t) => {
  const problems = check([
    at(cm('a'), 'one.yaml'),
    at(cm('a', 'other'), 'one.yaml'),
    at({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: 'app' } }, 'one.yaml'),
    at({ apiVersion: 'extensions/v1beta1', kind: 'Ingress', metadata: { name: 'web', namespace: 'app' } }, 'two.yaml'),
    at({ apiVersion: 'networking.k8s.io/v1beta1', kind: 'Ingress', metadata: { name: 'web', namespace: 'app' } }, 'three.yaml'),
    at(cm('a'), 'two.yaml'),
  ]);
  t.deepEqual(problems, [
    ['DuplicateObject', 'three.yaml: Ingress app/web: also defined in one.yaml (same group, kind, namespace and name)'],
    ['DuplicateObject', 'two.yaml: ConfigMap app/a: also defined in one.yaml (same group, kind, namespace and name)'],
  ]);
});

test('every problem of one object and of every other object is reported together', (t) => {
  const problems = check([
    at(cm('Bad', 'app', { ownerReferences: [], annotations: { 'apply.trellis.dev/phase': 'x' } }), 'a.yaml'),
    at({ kind: 'ConfigMap', metadata: {} }, 'b.yaml'),
    at(cm('fine'), 'c.yaml'),
  ]);
  t.deepEqual(problems.map(([reason, message]) => `${reason} ${message.split(':')[0]}`), [
    'InvalidName a.yaml',
    'OwnerReferencesSet a.yaml',
    'UndeclaredPhase a.yaml',
    'MissingAPIVersion b.yaml',
    'MissingName b.yaml',
  ]);
});

test('restricted to a namespace: other namespaces and cluster-scoped objects are refused', (t) => {
  const problems = check([
    at(cm('mine', 'team-a')),
    at(cm('theirs', 'team-b')),
    at({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-c' } }),
    at({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'admin' } }),
  ], { restrictToNamespace: 'team-a' });
  t.deepEqual(problems, [
    ['NamespaceNotAllowed', 'm.yaml: ConfigMap team-b/theirs: namespace team-b is not allowed, this Package may only write to namespace team-a'],
    ['ClusterScopedNotAllowed', 'm.yaml: Namespace team-c: Namespace is cluster-scoped, and this Package may only write to namespace team-a'],
    ['ClusterScopedNotAllowed', 'm.yaml: ClusterRoleBinding admin: ClusterRoleBinding is cluster-scoped, and this Package may only write to namespace team-a'],
  ]);
});

test('namespaces: targetNamespace overrides namespaced objects, cluster-scoped ones get none, unknown kinds are left alone', (t) => {
  const objects = [
    at(cm('a', 'elsewhere')),
    at(cm('b', null)),
    at({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r' } }),
    at({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n', namespace: 'stray' } }),
    at({ apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g', namespace: 'kept' } }),
  ];
  const scopeOf = scopeResolver(builtinIsNamespaced, []);
  const namespaceOf = (list: SourcedObject[]): Array<string | undefined> =>
    list.map((o) => (o.object.metadata as { namespace?: string }).namespace);
  t.deepEqual(namespaceOf(applyNamespaces(objects, { scopeOf, targetNamespace: 'prod' })), ['prod', 'prod', undefined, undefined, 'kept']);
  t.deepEqual(namespaceOf(applyNamespaces(objects, { scopeOf, defaultNamespace: 'pkg' })), ['elsewhere', 'pkg', undefined, undefined, 'kept']);
  t.deepEqual(namespaceOf(applyNamespaces(objects, { scopeOf })), ['elsewhere', undefined, undefined, undefined, 'kept']);
  t.deepEqual(namespaceOf(objects), ['elsewhere', undefined, undefined, 'stray', 'kept'], 'the input objects are not modified');
});
