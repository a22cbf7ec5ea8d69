// A Package's own namespace is deleted: its objects there go with the namespace,
// so the uninstall sends no delete for them (the namespace controller removes
// them), while an object of the same Package in another namespace is still
// deleted by the uninstall, and the Package is released.
import anyTest from 'ava';
import * as k8s from '@kubernetes/client-node';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, configMap, createPackage, createSource, getObject, getPackage, isReadyAt, runLabel, usePackageTestBed, waitForPackage,
} from './support.ts';

const test = withCluster(anyTest);
const label = runLabel();
// The other namespace is written as the controller: cross-namespace references allowed, as in namespace-deletion.test.ts.
const bed = usePackageTestBed(test, label, { allowCrossNamespaceRefs: true });
const COUNT = 12;

test('deleting a Package\'s namespace sends no delete for its objects there, and still deletes the one elsewhere', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const core = cluster.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const ns = await testNamespace(t, cluster);
  const other = await testNamespace(t, cluster);
  const names = Array.from({ length: COUNT }, (_, i) => `cm-${i}`);
  const outside = configMap('outside', { k: 'v' }, { namespace: other });
  const artifact = await bed().publisher.publish(ns, 'src', { 'cms.yaml': [...names.map((n) => configMap(n, { k: n })), outside] });
  await createSource(client, ns, 'src', artifact);
  await createPackage(client, ns, 'app', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, artifact.revision));
  t.truthy(await getObject(client, 'v1', 'ConfigMap', other, 'outside'));

  const deletesBefore = bed().client.requests.count('delete');
  await core.deleteNamespace({ name: ns });
  await eventually(async () => (await getPackage(client, ns, 'app')) === undefined, 60_000);
  const deletes = bed().client.requests.count('delete') - deletesBefore;
  t.is(deletes, 1, 'one delete: the object in the other namespace; none for the objects that go with theirs');
  await eventually(async () => (await getObject(client, 'v1', 'ConfigMap', other, 'outside')) === undefined, 30_000);
  await eventually(async () => (await client.get({ apiVersion: 'v1', kind: 'Namespace', name: ns })) === undefined, 60_000);
});
