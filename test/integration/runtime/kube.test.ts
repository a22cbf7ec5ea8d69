// The runtime KubeClient against the real apiserver: CRUD, server-side apply,
// status patches, paging, watches, discovery of new kinds, impersonation, and
// when it reads the kubeconfig's TLS material and credentials.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest from 'ava';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../../runtime/kube.ts';
import { isConflict, isForbidden, type KubeApiError } from '../../../runtime/kube-transport.ts';
import { UnknownKindError } from '../../../runtime/discovery.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { adminClient, createWidgetCrd, until, type Widget } from './support.ts';

const test = withCluster(anyTest);

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const cm = (namespace: string, name: string, data: Record<string, string> = {}): ConfigMap =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data });

test('create, get, update, delete a ConfigMap; get of a missing object is undefined', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  const created = await client.create(cm(ns, 'a', { k: 'v' }));
  t.truthy(created.metadata?.uid);
  const read = await client.get<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'a' });
  t.is(read?.data?.k, 'v');
  t.is(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'missing' }), undefined);

  const stale = { ...created, data: { k: 'stale' } };
  await client.update({ ...created, data: { k: 'v2' } });
  const err = await t.throwsAsync(client.update(stale));
  t.true(isConflict(err), 'an update with an old resourceVersion is refused');

  t.true(await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'a' }));
  t.false(await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'a' }), 'already gone');
  t.is(client.requests.count('delete'), 2);
});

test('the kubeconfig\'s CA file is read once per client, credentials on every request', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const current = cluster.kubeConfig.getCurrentCluster();
  const token = cluster.kubeConfig.getCurrentUser()?.token;
  if (!current?.caData || !token) throw new Error('the test cluster\'s kubeconfig should carry its CA inline and a token');
  const dir = mkdtempSync(join(tmpdir(), 'trellis-ca-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, Buffer.from(current.caData, 'base64'));
  // An exec credential plugin whose credential has already expired runs for every request it authenticates.
  const calls = join(dir, 'calls');
  const plugin = join(dir, 'credential.sh');
  const credential = { apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token, expirationTimestamp: '2000-01-01T00:00:00Z' } };
  writeFileSync(plugin, `#!/bin/sh\necho >> '${calls}'\necho '${JSON.stringify(credential)}'\n`, { mode: 0o700 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: current.server, caFile, skipTLSVerify: false }],
    users: [{ name: 'u', exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: plugin } }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x',
  });
  const client = new KubeClient(kubeConfig, { qps: 0 });
  const lookups = (): number => readFileSync(calls, 'utf8').split('\n').length - 1;
  try {
    await client.create(cm(ns, 'a'));
    const afterFirst = lookups();
    // A Pod's CA file is read when the client first connects, as client-go does.
    rmSync(caFile);
    t.truthy(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'a' }), 'the second request does not read the CA file again');
    t.is(lookups(), afterFirst + 1, 'the credential is still asked for on every request');
  } finally {
    client.transport.close();
  }
});

test('server-side apply: field managers, conflicts, force and dry run', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  const applied = await client.apply(cm(ns, 'ssa', { owned: 'by-trellis' }), { fieldManager: 'trellis' });
  t.is(applied.data?.owned, 'by-trellis');
  const err = await t.throwsAsync(client.apply(cm(ns, 'ssa', { owned: 'by-someone' }), { fieldManager: 'someone' }));
  t.true(isConflict(err), 'another manager changing our field conflicts');
  t.regex((err as KubeApiError).message, /conflict/i);

  const writesBefore = client.requests.writes();
  const dry = await client.apply(cm(ns, 'ssa', { owned: 'dry' }), { fieldManager: 'trellis', dryRun: true });
  t.is(dry.data?.owned, 'dry', 'dry run returns the would-be object');
  t.is(client.requests.writes(), writesBefore, 'a dry run is not counted as a write');
  t.is(client.requests.count('apply', true), 1);
  const still = await client.get<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'ssa' });
  t.is(still?.data?.owned, 'by-trellis', 'dry run persisted nothing');

  const forced = await client.apply(cm(ns, 'ssa', { owned: 'by-someone' }), { fieldManager: 'someone', force: true });
  t.is(forced.data?.owned, 'by-someone');
});

test('list pages through everything and reports a resourceVersion', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  await Promise.all(Array.from({ length: 12 }, (_, i) => client.create(cm(ns, `item-${i}`, { i: String(i) }))));
  const all = await client.list<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns });
  t.is(all.items.filter((c) => c.metadata?.name?.startsWith('item-')).length, 12);
  t.truthy(all.resourceVersion);
  t.true(all.items.every((c) => c.kind === 'ConfigMap' && c.apiVersion === 'v1'), 'items carry apiVersion and kind');
  const some = await client.list<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns },
    { fieldSelector: 'metadata.name=item-3' });
  t.deepEqual(some.items.map((c) => c.data?.i), ['3']);
});

test('patchStatus changes status only, on a custom kind discovered after the client was made', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  t.false(await client.serves('nothing.test.trellis.dev/v1', 'Nothing'));
  await t.throwsAsync(client.get({ apiVersion: 'nothing.test.trellis.dev/v1', kind: 'Nothing', name: 'x', namespace: ns }),
    { instanceOf: UnknownKindError });
  const type = await createWidgetCrd(t, client);
  const w = await client.create<Widget>({ ...type, metadata: { name: 'w', namespace: ns }, spec: { size: 1 } });
  const ref = { ...type, namespace: ns, name: 'w' };
  const patched = await client.patchStatus<Widget>(ref, { observed: 1, note: 'seen' });
  t.deepEqual(patched.status, { observed: 1, note: 'seen' });
  t.is(patched.metadata?.generation, w.metadata?.generation, 'a status patch does not bump the generation');
  // The status subresource ignores spec changes sent to it.
  await client.patch(ref, { spec: { size: 99 }, status: { observed: 2 } }, { subresource: 'status' });
  const read = await client.get<Widget>(ref);
  t.is(read?.spec?.size, 1);
  t.is(read?.status?.observed, 2);
});

test('watch delivers events in order and ends when aborted', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  const { resourceVersion } = await client.list({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns });
  const seen: string[] = [];
  const abort = new AbortController();
  const watching = client.watch<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns },
    { resourceVersion, signal: abort.signal }, (e) => { if (e.type !== 'BOOKMARK') seen.push(`${e.type} ${e.object.metadata?.name}`); });
  await client.create(cm(ns, 'w1'));
  await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'w1' }, { data: { a: 'b' } });
  await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'w1' });
  await until(() => seen.includes('DELETED w1'));
  abort.abort();
  await watching;
  t.deepEqual(seen.filter((s) => s.endsWith(' w1')), ['ADDED w1', 'MODIFIED w1', 'DELETED w1']);
});

test('an impersonated service account without RBAC is forbidden; after a RoleBinding it may create', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const admin = adminClient(cluster);
  const tenant = admin.impersonate(ns, 'deployer');
  t.is(tenant.impersonating, `system:serviceaccount:${ns}:deployer`);
  const denied = await t.throwsAsync(tenant.create(cm(ns, 'by-tenant')));
  t.true(isForbidden(denied), String(denied));
  t.regex(denied.message, new RegExp(`system:serviceaccount:${ns}:deployer`), 'the apiserver judged the impersonated user');

  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'configmaps', namespace: ns },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'get'] }],
  });
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'deployer', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmaps' },
    subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: ns }],
  });
  // RBAC is read from the apiserver's informer cache: allow it a moment.
  const created = await eventually(() => tenant.create(cm(ns, 'by-tenant')), 30_000);
  t.is(created.metadata?.name, 'by-tenant');
  const other = await t.throwsAsync(tenant.create(cm('default', `not-here-${Date.now()}`)));
  t.true(isForbidden(other), 'the RoleBinding grants nothing outside its namespace');
  t.true(admin.requests.count('create') >= 3, 'the impersonating client shares the request count');

  // The impersonated account also carries its groups: a binding to every service account of the namespace applies.
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'all-accounts', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmaps' },
    subjects: [{ kind: 'Group', name: `system:serviceaccounts:${ns}`, apiGroup: 'rbac.authorization.k8s.io' }],
  });
  const viaGroup = await eventually(() => admin.impersonate(ns, 'another').create(cm(ns, 'by-group')), 30_000);
  t.is(viaGroup.metadata?.name, 'by-group');
});

test('impersonation refuses names that are not valid Kubernetes names', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  t.throws(() => client.impersonate('ns', 'bad\nname'));
  t.throws(() => client.impersonate('Bad_NS', 'sa'));
});
