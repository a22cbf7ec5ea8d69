// Multi-tenancy against the real apiserver with RBAC on: a Package applies as its
// service account (denied without RBAC, allowed with it), a controller can force a
// default account on every Package, and cross-namespace references are forbidden
// unless the controller allows them (more in test/integration/tenancy/).
import anyTest from 'ava';
import type { KubeClient } from '../../../runtime/kube.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, ArtifactPublisher, conditionOf, configMap, createPackage, createSource, getObject, isReadyAt, isStalled,
  releasePackagesOnTeardown, runLabel, startPackageController, waitForPackage,
} from './support.ts';

const test = withCluster(anyTest);
/** Packages reconciled by a single-tenant controller (--allow-cross-namespace-refs). */
const open = runLabel();
/** Packages reconciled by a controller with --default-service-account and the lockdown (the default). */
const locked = runLabel();
let publisher: ArtifactPublisher;
const stops: (() => Promise<void>)[] = [];

test.before(async () => {
  const cluster = await useCluster();
  publisher = await ArtifactPublisher.start();
  const a = await startPackageController(cluster, open.selector, { allowCrossNamespaceRefs: true });
  const b = await startPackageController(cluster, locked.selector, { defaultServiceAccount: 'tenant-default' });
  stops.push(() => a.packages.stop(), () => b.packages.stop());
});

test.after.always(async () => {
  await Promise.all(stops.map((stop) => stop()));
  await publisher?.stop();
});

/** A service account and, with `allow`, a Role letting it manage ConfigMaps in its namespace. */
async function serviceAccount(client: KubeClient, ns: string, name: string): Promise<void> {
  await client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } });
}

async function allowConfigMaps(client: KubeClient, ns: string, account: string): Promise<void> {
  await client.create({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: `${account}-configmaps`, namespace: ns },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] }],
  });
  await client.create({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: `${account}-configmaps`, namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${account}-configmaps` },
    subjects: [{ kind: 'ServiceAccount', name: account, namespace: ns }],
  });
}

test('a Package applies as its service account: denied without RBAC, allowed with it', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  await serviceAccount(client, ns, 'deployer');
  const artifact = await publisher.publish(ns, 'src', { 'app.yaml': [configMap('tenant-config', { a: '1' })] });
  await createSource(client, ns, 'src', artifact);
  await createPackage(client, ns, 'tenant', open, { sourceRef: { kind: 'OCIRepository', name: 'src' }, serviceAccountName: 'deployer' });

  const denied = await waitForPackage(client, ns, 'tenant', (p) => conditionOf(p, 'ApplyFailed')?.status === 'True');
  const message = conditionOf(denied, 'ApplyFailed')?.message ?? '';
  t.true(message.includes('forbidden'), message);
  t.true(message.includes(`system:serviceaccount:${ns}:deployer`), message);
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'tenant-config'), undefined, 'nothing was written as the controller itself');

  await allowConfigMaps(client, ns, 'deployer');
  const allowed = await waitForPackage(client, ns, 'tenant', (p) => isReadyAt(p, artifact.revision));
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'tenant-config'));
  t.is(conditionOf(allowed, 'ApplyFailed'), undefined);

  // The finalizer deletes as the account too.
  await client.delete({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'tenant' });
  await waitForPackage(client, ns, 'tenant', () => false, 20_000).catch(() => undefined);
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'tenant-config'), undefined);
});

test('--default-service-account makes a Package without an account apply as that account of its namespace', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  await serviceAccount(client, ns, 'tenant-default');

  const artifact = await publisher.publish(ns, 'src', { 'app.yaml': [configMap('mine', {})] });
  await createSource(client, ns, 'src', artifact);
  await createPackage(client, ns, 'pkg', locked, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  const denied = await waitForPackage(client, ns, 'pkg', (p) => conditionOf(p, 'ApplyFailed')?.status === 'True');
  t.true(conditionOf(denied, 'ApplyFailed')?.message.includes(`system:serviceaccount:${ns}:tenant-default`));
  await allowConfigMaps(client, ns, 'tenant-default');
  await waitForPackage(client, ns, 'pkg', (p) => isReadyAt(p, artifact.revision));
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'mine'));

  // Outside its namespace only where the account may write: here nowhere, refused before any write.
  const escape = await publisher.publish(ns, 'escape', { 'app.yaml': [configMap('out', {}, { namespace: 'default' })] });
  await createSource(client, ns, 'escape', escape);
  await createPackage(client, ns, 'escaping', locked, { sourceRef: { kind: 'OCIRepository', name: 'escape' } });
  const refused = await waitForPackage(client, ns, 'escaping', (p) => conditionOf(p, 'Ready')?.reason === 'AccessDenied');
  t.true(conditionOf(refused, 'Ready')?.message.includes('ConfigMap default/out'));
  t.is(await getObject(client, 'v1', 'ConfigMap', 'default', 'out'), undefined);
});

test('the lockdown refuses a source in another namespace; --allow-cross-namespace-refs allows it', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  const other = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const artifact = await publisher.publish(other, 'shared', { 'app.yaml': [configMap('from-shared', {})] });
  await createSource(client, other, 'shared', artifact);

  await createPackage(client, ns, 'crossing', locked, { sourceRef: { kind: 'OCIRepository', name: 'shared', namespace: other } });
  const refused = await waitForPackage(client, ns, 'crossing', (p) => isStalled(p, 'CrossNamespaceRefNotAllowed'));
  t.true(conditionOf(refused, 'Stalled')?.message.includes(`OCIRepository ${other}/shared`));
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'from-shared'), undefined);

  await createPackage(client, ns, 'allowed', open, { sourceRef: { kind: 'OCIRepository', name: 'shared', namespace: other } });
  await waitForPackage(client, ns, 'allowed', (p) => isReadyAt(p, artifact.revision));
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'from-shared'));
});
