// The apply controller's public planning API (apply-controller/index.ts) against the
// real apiserver: a plain folder of manifests planned for a Package that exists only
// in memory. Nothing runs a controller; the tests check what a plan reports and that
// nothing was written.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type ExecutionContext } from 'ava';
import { BundleValidationError, MASK, planPackage, type Package, type PackageSpecInput, type PackageStatus } from '../../../apply-controller/index.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import { scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';

const test = withCluster(anyTest);

interface Ctx { readonly ns: string; readonly client: KubeClient; readonly dir: string }

async function setup(t: ExecutionContext, manifests: string): Promise<Ctx> {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const dir = scratchDir('plan');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'objects.yaml'), manifests);
  return { ns, client: new KubeClient(cluster.kubeConfig), dir };
}

/** A Package as the apiserver would hold it (the defaults the schema fills in are left out: the controller defaults them too). */
function pkgOf(ns: string, spec: Partial<PackageSpecInput> = {}, status?: PackageStatus): Package {
  return {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name: 'web', namespace: ns },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'web' }, ...spec } satisfies PackageSpecInput as Package['spec'],
    ...(status ? { status } : {}),
  };
}

const OBJECTS = `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast}
---
apiVersion: v1
kind: Secret
metadata: {name: token}
stringData: {token: hunter2}
`;

test('a plan lists creates (Secret values masked) and the stale inventory, and writes nothing', async (t) => {
  const c = await setup(t, OBJECTS);
  const pkg = pkgOf(c.ns, {}, { objects: [`${c.ns}_old__ConfigMap v1`] });
  const plan = await planPackage(pkg, { client: c.client, source: { dir: c.dir } });
  // In apply order: Secrets before ConfigMaps.
  t.deepEqual(plan.changes.map((d) => `${d.action} ${d.subject}`), [`create Secret/${c.ns}/token`, `create ConfigMap/${c.ns}/settings`]);
  t.deepEqual(plan.inventory.map((e) => e.id), [`${c.ns}_token__Secret`, `${c.ns}_settings__ConfigMap`]);
  t.deepEqual(plan.prune.map((e) => e.id), [`${c.ns}_old__ConfigMap`]);
  const secret = JSON.stringify(plan.changes[0]);
  t.false(secret.includes('hunter2'), secret);
  t.true(secret.includes(MASK));
  t.is(await c.client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: c.ns, name: 'settings' }), undefined, 'dry-run only');

  const kept = await planPackage(pkgOf(c.ns, { prune: false }, pkg.status), { client: c.client, source: { dir: c.dir } });
  t.deepEqual(kept.prune, [], 'spec.prune false: nothing would be deleted');
});

test('an object equal to the rendered one is not a change; values overrides reach the bundle reader', async (t) => {
  const c = await setup(t, OBJECTS);
  const pkg = pkgOf(c.ns);
  await c.client.apply({
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: c.ns, labels: { 'apply.trellis.dev/package': 'web', 'apply.trellis.dev/package-namespace': c.ns } },
    data: { mode: 'fast' },
  }, { fieldManager: 'trellis' });
  const plan = await planPackage(pkg, { client: c.client, source: { dir: c.dir } });
  t.deepEqual(plan.changes.map((d) => d.subject), [`Secret/${c.ns}/token`]);

  // A plain folder takes no values: the override reaches the bundle reader, which refuses it as the controller would.
  const err = await t.throwsAsync(planPackage(pkg, { client: c.client, source: { dir: c.dir }, values: () => ({ mode: 'slow' }) }));
  t.true(err instanceof BundleValidationError, String(err));
});

test('a Package without an account is confined to its namespace, as the controller confines it by default', async (t) => {
  const c = await setup(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: plan-test-reader}
rules: []
`);
  const open = await planPackage(pkgOf(c.ns), { client: c.client, source: { dir: c.dir }, flags: { allowCrossNamespaceRefs: true } });
  t.deepEqual(open.changes.map((d) => `${d.action} ${d.subject}`), ['create ClusterRole/plan-test-reader']);
  const err = await t.throwsAsync(planPackage(pkgOf(c.ns), { client: c.client, source: { dir: c.dir } }));
  t.true(err instanceof BundleValidationError, String(err));
});
