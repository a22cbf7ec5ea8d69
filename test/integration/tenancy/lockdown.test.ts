// The multi-tenant lockdown against the real apiserver with RBAC on: by default a
// Package may not reference another namespace's source, and one without a service
// account may not write outside its namespace; a Package with an account reaches
// as far as the account's RBAC (groups included) and no further, refused before
// its revision is recorded; --allow-cross-namespace-refs opts out; valuesFrom is
// read as the account.
import anyTest, { type ExecutionContext } from 'ava';
import type { KubeClient } from '../../../runtime/kube.ts';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, ArtifactPublisher, conditionOf, configMap, createPackage, createSource, eventsAbout, getObject, isReadyAt, isStalled,
  releasePackagesOnTeardown, runLabel, startPackageController, waitForPackage,
} from '../apply-controller/support.ts';
import type { Package } from '../../../apply-controller/api.ts';

const test = withCluster(anyTest);
/** A controller with the defaults: the lockdown, no default account. */
const locked = runLabel();
/** A controller with the lockdown and `--default-service-account tenant-default`. */
const defaulted = runLabel();
/** A single-tenant controller: `--allow-cross-namespace-refs`. */
const open = runLabel();
let publisher: ArtifactPublisher;
const stops: (() => Promise<void>)[] = [];

test.before(async () => {
  const cluster = await useCluster();
  publisher = await ArtifactPublisher.start();
  const started = await Promise.all([
    startPackageController(cluster, locked.selector),
    startPackageController(cluster, defaulted.selector, { defaultServiceAccount: 'tenant-default' }),
    startPackageController(cluster, open.selector, { allowCrossNamespaceRefs: true }),
  ]);
  for (const s of started) stops.push(() => s.packages.stop());
});

test.after.always(async () => {
  await Promise.all(stops.map((stop) => stop()));
  await publisher?.stop();
});

const RBAC = 'rbac.authorization.k8s.io/v1';

/** A Role on ConfigMaps in `ns` bound to `subject` (a ServiceAccount or a Group). */
async function grantConfigMaps(client: KubeClient, ns: string, name: string, subject: { kind: 'ServiceAccount' | 'Group'; name: string; namespace?: string }): Promise<void> {
  await client.create({
    apiVersion: RBAC, kind: 'Role', metadata: { name, namespace: ns },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] }],
  });
  await client.create({
    apiVersion: RBAC, kind: 'RoleBinding', metadata: { name, namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [subject.kind === 'Group' ? { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: subject.name } : { ...subject }],
  });
}

async function serviceAccount(client: KubeClient, ns: string, name: string): Promise<void> {
  await client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } });
}

async function revisionsOf(client: KubeClient, ns: string): Promise<number> {
  const { items } = await client.list({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageRevision', namespace: ns });
  return items.length;
}

async function namespaces(t: ExecutionContext): Promise<{ client: KubeClient; a: string; b: string }> {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const a = await testNamespace(t, cluster);
  const b = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, a);
  return { client, a, b };
}

function readyReason(pkg: Package): string | undefined {
  const ready = conditionOf(pkg, 'Ready');
  return ready?.status === 'False' && pkg.status?.observedGeneration === pkg.metadata.generation ? ready.reason : undefined;
}

test('by default a Package may not use a source of another namespace; --allow-cross-namespace-refs allows it', async (t) => {
  const { client, a, b } = await namespaces(t);
  const artifact = await publisher.publish(b, 'shared', { 'app.yaml': [configMap('copied', {})] });
  await createSource(client, b, 'shared', artifact);

  await createPackage(client, a, 'crossing', locked, { sourceRef: { kind: 'OCIRepository', name: 'shared', namespace: b } });
  const refused = await waitForPackage(client, a, 'crossing', (p) => isStalled(p, 'CrossNamespaceRefNotAllowed'));
  const message = conditionOf(refused, 'Stalled')?.message ?? '';
  t.true(message.includes(`OCIRepository ${b}/shared`), message);
  t.true(message.includes('--allow-cross-namespace-refs'), message);
  t.is(await getObject(client, 'v1', 'ConfigMap', a, 'copied'), undefined);
  t.is(await revisionsOf(client, a), 0, 'nothing recorded');

  await createPackage(client, a, 'allowed', open, { sourceRef: { kind: 'OCIRepository', name: 'shared', namespace: b } });
  await waitForPackage(client, a, 'allowed', (p) => isReadyAt(p, artifact.revision));
  t.truthy(await getObject(client, 'v1', 'ConfigMap', a, 'copied'));
});

test('by default a Package without an account may not target another namespace: refused before any write', async (t) => {
  const { client, a, b } = await namespaces(t);
  const artifact = await publisher.publish(a, 'src', { 'app.yaml': [configMap('moved', {})] });
  await createSource(client, a, 'src', artifact);
  await createPackage(client, a, 'moving', locked, { sourceRef: { kind: 'OCIRepository', name: 'src' }, targetNamespace: b });
  const refused = await waitForPackage(client, a, 'moving', (p) => isStalled(p, 'NamespaceNotAllowed'));
  const message = conditionOf(refused, 'Stalled')?.message ?? '';
  t.true(message.includes(`ConfigMap ${b}/moved`), message);
  t.is(await getObject(client, 'v1', 'ConfigMap', b, 'moved'), undefined);
  t.is(await revisionsOf(client, a), 0, 'refused before the revision record, the first write');
});

test('a Package with an account targets another namespace only once the account may write there', async (t) => {
  const { client, a, b } = await namespaces(t);
  await serviceAccount(client, a, 'deployer');
  await grantConfigMaps(client, a, 'deployer-home', { kind: 'ServiceAccount', name: 'deployer', namespace: a });
  const artifact = await publisher.publish(a, 'src', { 'app.yaml': [configMap('placed', {})] });
  await createSource(client, a, 'src', artifact);
  await createPackage(client, a, 'placing', locked, {
    sourceRef: { kind: 'OCIRepository', name: 'src' }, serviceAccountName: 'deployer', targetNamespace: b,
  });
  const refused = await waitForPackage(client, a, 'placing', (p) => readyReason(p) === 'AccessDenied');
  const message = conditionOf(refused, 'Ready')?.message ?? '';
  t.true(message.includes(`system:serviceaccount:${a}:deployer may not create configmaps in namespace ${b}`), message);
  t.is(await getObject(client, 'v1', 'ConfigMap', b, 'placed'), undefined);
  t.is(await revisionsOf(client, a), 0, 'refused before the revision record, the first write');

  await grantConfigMaps(client, b, 'deployer-away', { kind: 'ServiceAccount', name: 'deployer', namespace: a });
  await waitForPackage(client, a, 'placing', (p) => isReadyAt(p, artifact.revision));
  t.truthy(await getObject(client, 'v1', 'ConfigMap', b, 'placed'));
});

test('--default-service-account applies a Package without an account as that account, and group RoleBindings count', async (t) => {
  const { client, a } = await namespaces(t);
  await serviceAccount(client, a, 'tenant-default');
  const artifact = await publisher.publish(a, 'src', { 'app.yaml': [configMap('mine', {})] });
  await createSource(client, a, 'src', artifact);
  await createPackage(client, a, 'pkg', defaulted, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  const denied = await waitForPackage(client, a, 'pkg', (p) => conditionOf(p, 'ApplyFailed')?.status === 'True');
  const message = conditionOf(denied, 'ApplyFailed')?.message ?? '';
  t.true(message.includes(`system:serviceaccount:${a}:tenant-default`), message);
  t.is(await getObject(client, 'v1', 'ConfigMap', a, 'mine'), undefined, 'nothing was written as the controller itself');

  // Bound to the namespace's service-account group, not to the account by name: the apiserver gives an
  // impersonated account its groups (the controller sends none, it may not impersonate groups).
  await grantConfigMaps(client, a, 'all-accounts', { kind: 'Group', name: `system:serviceaccounts:${a}` });
  await waitForPackage(client, a, 'pkg', (p) => isReadyAt(p, artifact.revision));
  t.truthy(await getObject(client, 'v1', 'ConfigMap', a, 'mine'));
});

test('valuesFrom is read as the account: a Secret it may not read is refused, and its value shown nowhere', async (t) => {
  const { client, a } = await namespaces(t);
  const secretValue = 'hunter2-never-shown';
  await client.create({
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: a },
    stringData: { 'values.yaml': `password: ${secretValue}\n` },
  });
  await serviceAccount(client, a, 'tenant-default');
  await grantConfigMaps(client, a, 'tenant-configmaps', { kind: 'ServiceAccount', name: 'tenant-default', namespace: a });
  const artifact = await publisher.publish(a, 'src', { 'app.yaml': [configMap('with-values', {})] });
  await createSource(client, a, 'src', artifact);
  await createPackage(client, a, 'reader', defaulted, {
    sourceRef: { kind: 'OCIRepository', name: 'src' }, valuesFrom: [{ kind: 'Secret', name: 'creds' }],
  });
  const refused = await waitForPackage(client, a, 'reader', (p) => readyReason(p) === 'ValuesForbidden');
  const message = conditionOf(refused, 'Ready')?.message ?? '';
  t.true(message.includes(`Secret ${a}/creds`), message);
  t.true(message.includes(`system:serviceaccount:${a}:tenant-default may not get it`), message);
  t.false(JSON.stringify(refused.status).includes(secretValue));
  // The Event is written after the status: wait for it rather than read once.
  const events = await eventually(async () => {
    const found = await eventsAbout(client, a, 'reader');
    return found.some((e) => e.reason === 'ValuesForbidden') ? found : undefined;
  }, 30_000);
  t.false(JSON.stringify(events).includes(secretValue));
  t.is(await revisionsOf(client, a), 0);
});
