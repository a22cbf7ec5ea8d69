// The generated CRDs on a real kube-apiserver: they install, the apiserver applies
// their defaults, and their schemas reject bad objects with a message that names
// the field. CRDs are cluster-wide and shared by the whole run, so they are applied
// idempotently (server-side apply) and never deleted.
//
// They are applied with runtime/kube.ts, which sends objects as plain JSON: client-
// node's typed serializer would silently drop `enum`, `default` and
// `x-kubernetes-preserve-unknown-fields` from a plain-object CRD (its model calls
// them `_enum`, `_default`, `xKubernetesPreserveUnknownFields`). Kubernetes 1.20
// names list items without an index in messages (`spec.phases.objects`), newer
// versions with one, hence the optional `(\[0\])?` below.
import anyTest, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { installCrds } from '../../hack/install-crds.ts';
import { gitRepositoryResource, ociRepositoryResource } from '../../source-controller/api.ts';
import { packageResource, packageRevisionResource } from '../../apply-controller/api.ts';
import { KubeClient } from '../../runtime/kube.ts';
import { testNamespace, useCluster, withCluster, type TestCluster } from '../support/cluster.ts';

const test = withCluster(anyTest);

type Resource = { readonly group: string; readonly version: string; readonly plural: string; readonly apiVersion: string; readonly kind: string };

async function setup(t: ExecutionContext): Promise<{ cluster: TestCluster; ns: string; api: k8s.CustomObjectsApi }> {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  return { cluster, ns, api: cluster.kubeConfig.makeApiClient(k8s.CustomObjectsApi) };
}

function create(api: k8s.CustomObjectsApi, r: Resource, ns: string, name: string, spec: unknown): Promise<Record<string, unknown>> {
  return api.createNamespacedCustomObject({
    group: r.group, version: r.version, plural: r.plural, namespace: ns,
    body: { apiVersion: r.apiVersion, kind: r.kind, metadata: { name }, spec },
  }) as Promise<Record<string, unknown>>;
}

/** The apiserver's own message from a failed request. */
function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
  return (parsed as { message?: string } | undefined)?.message ?? String(err);
}

/** Asserts that creating each spec fails with 422 and a message matching its pattern. */
async function assertRejected(t: ExecutionContext, api: k8s.CustomObjectsApi, r: Resource, ns: string,
  cases: readonly { readonly spec: unknown; readonly message: RegExp }[]): Promise<void> {
  for (const [i, c] of cases.entries()) {
    const err = await t.throwsAsync(create(api, r, ns, `bad-${i}`, c.spec), undefined, `case ${i} was accepted: ${JSON.stringify(c.spec)}`);
    if (!err) continue;
    t.is((err as unknown as { code?: number }).code, 422, `case ${i}: ${apiMessage(err)}`);
    t.regex(apiMessage(err), c.message, `case ${i}`);
  }
}

const digest = `sha256:${'a'.repeat(64)}`;

test('the four CRDs install and become Established with names, categories and printer columns', async (t) => {
  const cluster = await useCluster();
  // useCluster installed them already; a second install is a no-op, not a conflict.
  await installCrds(new KubeClient(cluster.kubeConfig), { fieldManager: 'trellis-tests' });
  const ext = cluster.kubeConfig.makeApiClient(k8s.ApiextensionsV1Api);
  const names = new Map<string, string[]>();
  for (const name of ['gitrepositories.source.trellis.dev', 'ocirepositories.source.trellis.dev', 'packages.apply.trellis.dev', 'packagerevisions.apply.trellis.dev']) {
    const live = await ext.readCustomResourceDefinition({ name });
    t.true(live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'), name);
    t.deepEqual(live.spec.names.categories, ['trellis']);
    t.is(live.spec.scope, 'Namespaced');
    t.truthy(live.spec.versions[0]?.subresources?.status, `${name} has a status subresource`);
    names.set(name, live.spec.names.shortNames ?? []);
    const columns = live.spec.versions[0]?.additionalPrinterColumns?.map((c) => c.name) ?? [];
    t.true(columns.includes('Revision') && columns.includes('Status') && columns.includes('Age'), `${name}: ${columns.join(',')}`);
  }
  t.deepEqual(names.get('gitrepositories.source.trellis.dev'), ['gitrepo']);
  t.deepEqual(names.get('packagerevisions.apply.trellis.dev'), ['pkgrev']);
});

test('GitRepository: a valid one is accepted and defaulted', async (t) => {
  const { ns, api } = await setup(t);
  const created = await create(api, gitRepositoryResource, ns, 'app', {
    url: 'https://git.example.com/team/app.git', ref: { semver: '^1.4' }, secretRef: { name: 'git-auth' }, unknownField: 'pruned',
  });
  const spec = created.spec as Record<string, unknown>;
  t.is(spec.interval, '5m');
  t.is(spec.timeout, '60s');
  t.is(spec.suspend, false);
  t.false('unknownField' in spec, 'unknown fields are pruned');
});

test('GitRepository: invalid ones are rejected naming the field', async (t) => {
  const { ns, api } = await setup(t);
  const url = 'https://git.example.com/app.git';
  await assertRejected(t, api, gitRepositoryResource, ns, [
    { spec: { url: 'ftp://git.example.com/app.git' }, message: /spec\.url/ },
    { spec: { url: 'git@example.com:app.git' }, message: /spec\.url/ },
    { spec: {}, message: /spec\.url.*Required/ },
    { spec: { url, ref: { branch: 'main', tag: 'v1.0.0' } }, message: /spec\.ref.*at most 1 properties/ },
    { spec: { url, ref: {} }, message: /spec\.ref.*at least 1 properties/ },
    { spec: { url, ref: { commit: 'abc123' } }, message: /spec\.ref\.commit/ },
    { spec: { url, ref: { semver: 'latest' } }, message: /spec\.ref\.semver/ },
    { spec: { url, interval: '5 minutes' }, message: /spec\.interval/ },
    { spec: { url, secretRef: { name: 'Not_A_Name' } }, message: /spec\.secretRef\.name/ },
  ]);
});

test('OCIRepository: a valid one is accepted and defaulted', async (t) => {
  const { ns, api } = await setup(t);
  const created = await create(api, ociRepositoryResource, ns, 'web', {
    url: 'oci://127.0.0.1:5000/team/web', ref: { digest },
    layerSelector: { mediaType: 'application/vnd.trellis.package.content.v1.tar+gzip' },
    verify: { secretRef: { name: 'cosign-pub' } },
  });
  const spec = created.spec as { insecure: boolean; interval: string; layerSelector: { operation: string }; verify: { provider: string } };
  t.is(spec.insecure, false);
  t.is(spec.interval, '5m');
  t.is(spec.layerSelector.operation, 'extract');
  t.is(spec.verify.provider, 'cosign');
});

test('OCIRepository: invalid ones are rejected naming the field', async (t) => {
  const { ns, api } = await setup(t);
  const url = 'oci://registry.example.com/team/web';
  await assertRejected(t, api, ociRepositoryResource, ns, [
    { spec: { url: 'https://registry.example.com/team/web' }, message: /spec\.url/ },
    { spec: { url: 'oci://registry.example.com/team/web:1.4.0' }, message: /spec\.url/ },
    { spec: { url, ref: { digest: 'sha256:abc' } }, message: /spec\.ref\.digest/ },
    { spec: { url, ref: { tag: '1.0.0', digest } }, message: /spec\.ref.*at most 1 properties/ },
    { spec: { url, layerSelector: { operation: 'move' } }, message: /spec\.layerSelector\.operation/ },
    { spec: { url, verify: { provider: 'notary', secretRef: { name: 'k' } } }, message: /spec\.verify\.provider/ },
    { spec: { url, verify: {} }, message: /spec\.verify\.secretRef/ },
    { spec: { url, timeout: '-1s' }, message: /spec\.timeout/ },
  ]);
});

test('Package: a valid one is accepted and defaulted, values kept as written', async (t) => {
  const { ns, api } = await setup(t);
  const values = { replicas: 3, ingress: { hosts: ['a.example.com'], tls: { enabled: true } } };
  const created = await create(api, packageResource, ns, 'web', {
    sourceRef: { kind: 'OCIRepository', name: 'web' }, values,
    valuesFrom: [{ kind: 'ConfigMap', name: 'web-values' }],
  });
  const spec = created.spec as Record<string, unknown> & { drift: { mode: string }; rollback: { onFailure: boolean }; valuesFrom: { valuesKey: string; optional: boolean }[] };
  t.is(spec.prune, true);
  t.is(spec.wait, true);
  t.is(spec.historyLimit, 10);
  t.is(spec.interval, '10m');
  // Absent objects with `default: {}` are created, and their own defaults applied.
  t.is(spec.drift.mode, 'correct');
  t.is(spec.rollback.onFailure, false);
  t.is(spec.valuesFrom[0]?.valuesKey, 'values.yaml');
  t.deepEqual(spec.values, values, 'free-form values are neither pruned nor changed');
});

test('Package: invalid ones are rejected naming the field', async (t) => {
  const { ns, api } = await setup(t);
  const sourceRef = { kind: 'GitRepository', name: 'app' };
  await assertRejected(t, api, packageResource, ns, [
    { spec: { path: './' }, message: /spec\.sourceRef.*Required/ },
    { spec: { sourceRef: { kind: 'HelmRepository', name: 'app' } }, message: /spec\.sourceRef\.kind/ },
    { spec: { sourceRef, drift: { mode: 'fix' } }, message: /spec\.drift\.mode/ },
    { spec: { sourceRef, historyLimit: 0 }, message: /spec\.historyLimit/ },
    { spec: { sourceRef, historyLimit: 101 }, message: /spec\.historyLimit/ },
    { spec: { sourceRef, timeout: '5' }, message: /spec\.timeout/ },
    { spec: { sourceRef, valuesFrom: [{ kind: 'Pod', name: 'x' }] }, message: /spec\.valuesFrom(\[0\])?\.kind/ },
    { spec: { sourceRef, targetNamespace: 'Prod' }, message: /spec\.targetNamespace/ },
    { spec: { sourceRef, values: 'replicas: 3' }, message: /spec\.values/ },
  ]);
});

test('Package: status accepts conditions and the inventory in both shapes, and rejects malformed ones', async (t) => {
  const { ns, api } = await setup(t);
  await create(api, packageResource, ns, 'web', { sourceRef: { kind: 'OCIRepository', name: 'web' } });
  const target = { group: packageResource.group, version: packageResource.version, plural: packageResource.plural, namespace: ns, name: 'web' };
  const condition = { type: 'Ready', status: 'True', reason: 'Applied', message: 'Applied revision 1.4.0', lastTransitionTime: '2026-01-01T00:00:00Z' };
  const status = {
    observedGeneration: 1, conditions: [condition], currentRevision: 1, lastAppliedRevision: `1.4.0@${digest}`,
    objects: [`${ns}_web_apps_Deployment v1`, '_web__Namespace v1'],
  };
  const patched = await api.patchNamespacedCustomObjectStatus({ ...target, body: [{ op: 'add', path: '/status', value: status }] }) as { status: unknown };
  t.deepEqual(patched.status, status);
  const err = await t.throwsAsync(api.patchNamespacedCustomObjectStatus({
    ...target, body: [{ op: 'add', path: '/status/conditions/0/status', value: 'Yes' }],
  }));
  t.regex(apiMessage(err), /status\.conditions(\[0\])?\.status/);
  const bad = await t.throwsAsync(api.patchNamespacedCustomObjectStatus({
    ...target, body: [{ op: 'add', path: '/status/objects/0', value: 'web-deployment v1' }],
  }));
  t.regex(apiMessage(bad), /status\.objects(\[0\])?/);
  // The shape earlier controllers wrote is still accepted (and so kept) until a new status replaces it.
  const older = { inventory: [{ id: `${ns}_web_apps_Deployment`, v: 'v1' }] };
  const kept = await api.patchNamespacedCustomObjectStatus({ ...target, body: [{ op: 'add', path: '/status/inventory', value: older.inventory }] }) as {
    status: { inventory?: unknown };
  };
  t.deepEqual(kept.status.inventory, older.inventory);
  const badOld = await t.throwsAsync(api.patchNamespacedCustomObjectStatus({
    ...target, body: [{ op: 'add', path: '/status/inventory/0/id', value: 'web-deployment' }],
  }));
  t.regex(apiMessage(badOld), /status\.inventory(\[0\])?\.id/);
});

const revisionSpec = {
  packageName: 'web', revision: 3,
  source: { kind: 'OCIRepository', name: 'web', namespace: 'team', revision: `1.4.0@${digest}`, digest },
  valuesHash: digest,
  phases: [{ name: 'crds', objects: Buffer.from('gzip bytes').toString('base64'), count: 2 }],
  size: 10,
};

test('PackageRevision: a valid one is accepted and kept exactly; status takes a phase', async (t) => {
  const { ns, api } = await setup(t);
  const created = await create(api, packageRevisionResource, ns, 'web-3', { ...revisionSpec, notInSchema: true });
  // No field of a PackageRevision has a default (it is a record); pruning is what the apiserver applies.
  t.deepEqual(created.spec, revisionSpec);
  const target = { group: packageRevisionResource.group, version: packageRevisionResource.version, plural: packageRevisionResource.plural, namespace: ns, name: 'web-3' };
  const patched = await api.patchNamespacedCustomObjectStatus({
    ...target, body: [{ op: 'add', path: '/status', value: { phase: 'Available', message: 'healthy' } }],
  }) as { status: { phase: string } };
  t.is(patched.status.phase, 'Available');
  const err = await t.throwsAsync(api.patchNamespacedCustomObjectStatus({
    ...target, body: [{ op: 'add', path: '/status/phase', value: 'Done' }],
  }));
  t.regex(apiMessage(err), /status\.phase/);
});

test('PackageRevision: invalid ones are rejected naming the field', async (t) => {
  const { ns, api } = await setup(t);
  await assertRejected(t, api, packageRevisionResource, ns, [
    { spec: { ...revisionSpec, revision: 0 }, message: /spec\.revision/ },
    { spec: { ...revisionSpec, source: { ...revisionSpec.source, digest: 'sha256:xyz' } }, message: /spec\.source\.digest/ },
    { spec: { ...revisionSpec, valuesHash: 'abc' }, message: /spec\.valuesHash/ },
    // `objects` is not checked as base64 by the apiserver (slower than the write; the reader authenticates it): slices.test.ts.
    { spec: { ...revisionSpec, phases: [{ name: '', objects: 'H4sI', count: 1 }] }, message: /spec\.phases(\[0\])?\.name/ },
    { spec: { ...revisionSpec, phases: undefined }, message: /spec\.phases.*Required/ },
  ]);
});

test('kubectl shows the printer columns, short names and the trellis category', async (t) => {
  const { cluster, ns, api } = await setup(t);
  await create(api, gitRepositoryResource, ns, 'app', { url: 'https://git.example.com/app.git' });
  await api.patchNamespacedCustomObjectStatus({
    group: gitRepositoryResource.group, version: gitRepositoryResource.version, plural: gitRepositoryResource.plural, namespace: ns, name: 'app',
    body: [{ op: 'add', path: '/status', value: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'Succeeded', message: 'stored artifact for main@sha1:0123', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      artifact: { url: 'http://source-controller/a.tar.gz', revision: `main@sha1:${'0'.repeat(40)}`, digest, size: 10, lastUpdateTime: '2026-01-01T00:00:00Z' },
    } }],
  });
  const kubectl = async (...args: string[]): Promise<string> =>
    (await promisify(execFile)('kubectl', ['--kubeconfig', cluster.kubeconfigPath, '-n', ns, ...args])).stdout;
  const byShortName = await kubectl('get', 'gitrepo');
  t.regex(byShortName, /^NAME\s+REVISION\s+READY\s+STATUS\s+AGE/m);
  t.regex(byShortName, /^app\s+main@sha1:0{40}\s+True\s+stored artifact for main@sha1:0123\s/m);
  t.regex(await kubectl('get', 'trellis'), /gitrepository\.source\.trellis\.dev\/app/);
});
