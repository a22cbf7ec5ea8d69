// Trellis's own installation package, applied to the real apiserver: every object
// is accepted, and the RBAC it grants is as narrow as it claims (checked by
// acting as the controllers' service accounts).
import anyTest, { type ExecutionContext } from 'ava';
import { isDeepStrictEqual } from 'node:util';
import { synth } from '../../../packages-cdk8s/kit/index.ts';
import trellis, { TRELLIS_NAMESPACE } from '../../../packages-cdk8s/trellis/package.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import { KubeApiError } from '../../../runtime/kube-transport.ts';
import type { KubeObject, ObjectRef } from '../../../runtime/object.ts';
import { eventually, useCluster, withCluster } from '../../support/cluster.ts';
import { withTrellisInstallLock } from './packages.ts';

const test = withCluster(anyTest);

interface Obj extends KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

const refOf = (o: Obj): ObjectRef => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) });

/** 'allowed' or 'forbidden' (403); get answers undefined for a missing object, which is allowed. */
async function access(call: () => Promise<unknown>): Promise<'allowed' | 'forbidden'> {
  try {
    await call();
    return 'allowed';
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 403) return 'forbidden';
    throw err;
  }
}

test('every object of the Trellis installation is accepted by the apiserver, and its RBAC is least privilege', async (t) => {
  const cluster = await useCluster();
  const admin = new KubeClient(cluster.kubeConfig);
  const objects = synth(trellis) as unknown as Obj[];
  await withTrellisInstallLock(async () => {
    try {
      await installAndCheck(t, admin, objects);
    } finally {
      // The CRDs stay (every test uses them); everything else goes.
      for (const o of [...objects].reverse()) {
        if (o.kind !== 'CustomResourceDefinition') await admin.delete(refOf(o)).catch(() => undefined);
      }
      // The next installer must not meet a namespace that is still terminating.
      await eventually(async () => (await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: TRELLIS_NAMESPACE })) === undefined, 120_000, 500);
    }
  });
});

async function installAndCheck(t: ExecutionContext, admin: KubeClient, objects: readonly Obj[]): Promise<void> {
  for (const o of objects) {
    const applied = await admin.apply<Obj>(o, { fieldManager: 'trellis-install-test', force: true });
    t.is(applied.metadata.name, o.metadata.name, `${o.kind} ${o.metadata.name} applied`);
  }
  for (const o of objects) {
    const live = await admin.get<Obj & { spec?: unknown; rules?: unknown }>(refOf(o));
    t.truthy(live, `${o.kind} ${o.metadata.name} exists`);
    // An aggregated ClusterRole's rules are filled in by the apiserver from the roles it selects.
    const aggregated = (o as { aggregationRule?: unknown }).aggregationRule !== undefined;
    if ((o.kind === 'ClusterRole' && !aggregated) || o.kind === 'Role') t.true(isDeepStrictEqual(live?.rules, (o as { rules?: unknown }).rules), `${o.metadata.name}: rules as written`);
  }
  const deployment = await admin.get<Obj & { spec: { template: { spec: { containers: { securityContext: unknown }[] } } } }>(
    { apiVersion: 'apps/v1', kind: 'Deployment', namespace: TRELLIS_NAMESPACE, name: 'apply-controller' });
  t.like(deployment?.spec.template.spec.containers[0]?.securityContext, { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });

  const source = admin.impersonate(TRELLIS_NAMESPACE, 'source-controller');
  const apply = admin.impersonate(TRELLIS_NAMESPACE, 'apply-controller');
  const list = (client: KubeClient, apiVersion: string, kind: string, namespace?: string) =>
    () => client.list({ apiVersion, kind, ...(namespace ? { namespace } : {}) });
  const get = (client: KubeClient, apiVersion: string, kind: string, name: string, namespace?: string) =>
    () => client.get({ apiVersion, kind, name, ...(namespace ? { namespace } : {}) });

  t.is(await access(list(source, 'source.trellis.dev/v1alpha1', 'OCIRepository')), 'allowed');
  t.is(await access(get(source, 'v1', 'Secret', 'registry-credentials', 'default')), 'allowed', 'a referenced Secret is read by name');
  t.is(await access(list(source, 'v1', 'Secret', 'default')), 'forbidden', 'but Secrets are not listed');
  t.is(await access(list(source, 'apply.trellis.dev/v1alpha1', 'Package')), 'forbidden', 'the source controller has no business with Packages');
  t.is(await access(get(source, 'coordination.k8s.io/v1', 'Lease', 'trellis-source-controller', TRELLIS_NAMESPACE)), 'allowed');
  t.is(await access(get(source, 'coordination.k8s.io/v1', 'Lease', 'anything', 'default')), 'forbidden', 'leases only in its own namespace');
  t.is(await access(list(apply, 'apply.trellis.dev/v1alpha1', 'PackageRevision')), 'allowed');
  t.is(await access(list(apply, 'source.trellis.dev/v1alpha1', 'GitRepository')), 'allowed');
}
