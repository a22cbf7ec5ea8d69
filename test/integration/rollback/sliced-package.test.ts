// A Package too large for an inline PackageRevision, end to end through the
// real controller: installed with its revision in RevisionSlices, upgraded
// (one object changed: the new revision shares all but the changed slices),
// pinned back to the sliced first revision with its artifact server stopped,
// and uninstalled (its objects and, with the Package, its slices go).
import { randomBytes } from 'node:crypto';
import anyTest from 'ava';
import { revisionSliceResource, type RevisionSlice } from '../../../apply-controller/api.ts';
import { isSliced, listRevisions } from '../../../apply-controller/revisions/index.ts';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, ArtifactPublisher, conditionOf, configMap, createPackage, createSource, getObject, isReadyAt, patchSpec, releasePackagesOnTeardown,
  runLabel, setArtifact, usePackageTestBed, waitForPackage,
} from '../apply-controller/support.ts';

const test = withCluster(anyTest);
const label = runLabel();
usePackageTestBed(test, label);

type Data = { data?: Record<string, string> };
const sliceRefs = (rev: { spec: { phases: { slices?: { name: string }[] }[] } }): string[] => rev.spec.phases.flatMap((p) => (p.slices ?? []).map((s) => s.name));

test('a package recorded in slices installs, upgrades, pins back with its source gone, and uninstalls', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  // 200 ConfigMaps of random text: about 400 KB compressed, several slices, far past the inline limit.
  const objects = Array.from({ length: 200 }, (_, i) => configMap(`cm-${i}`, { blob: randomBytes(2_000).toString('base64') }));
  const doomed = await ArtifactPublisher.start();
  t.teardown(() => doomed.stop().catch(() => undefined));
  const v1 = await doomed.publish(ns, 'src', { 'config.yaml': objects });
  const changed = [configMap('cm-0', { blob: 'changed in v2' }), ...objects.slice(1), configMap('only-v2', { v: '2' })];
  const v2 = await doomed.publish(ns, 'src', { 'config.yaml': changed });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'big', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, timeout: '60s' });
  await waitForPackage(client, ns, 'big', (p) => isReadyAt(p, v1.revision), 120_000);

  const [rev1] = await listRevisions(client, ns, 'big');
  t.true(rev1 !== undefined && isSliced(rev1), 'revision 1 is recorded in slices');
  const refs1 = rev1 ? sliceRefs(rev1) : [];
  t.true(refs1.length >= 2, `${refs1.length} slices`);

  await setArtifact(client, ns, 'src', v2);
  await waitForPackage(client, ns, 'big', (p) => isReadyAt(p, v2.revision), 120_000);
  const rev2 = (await listRevisions(client, ns, 'big'))[1];
  const refs2 = rev2 ? sliceRefs(rev2) : [];
  const fresh = refs2.filter((name) => !refs1.includes(name));
  t.true(fresh.length >= 1 && fresh.length <= 2, `revision 2 adds ${fresh.length} slices to ${refs1.length}`);

  // With the artifact server gone, the pin can only come from the slices.
  await doomed.stop();
  await patchSpec(client, ns, 'big', { rollback: { revision: 1 } });
  const pinned = await waitForPackage(client, ns, 'big', (p) => isReadyAt(p) && p.status?.currentRevision === 1, 120_000);
  t.is(conditionOf(pinned, 'Ready')?.reason, 'Pinned');
  t.is(((await getObject(client, 'v1', 'ConfigMap', ns, 'cm-0')) as Data | undefined)?.data?.blob, (objects[0] as Data).data?.blob);
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'only-v2'), undefined, 'what revision 2 added is pruned');
  t.is(pinned.status?.inventory?.length, 200);

  // Uninstall: the finalizer reads the latest (sliced) revision, deletes every object; the slices go with the Package.
  await client.delete({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'big' });
  await eventually(async () => {
    const { items } = await client.list({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns });
    // Every namespace has its kube-root-ca.crt.
    return items.every((cm) => cm.metadata?.name === 'kube-root-ca.crt');
  }, 60_000, 200);
  await eventually(async () => {
    const { items } = await client.list<RevisionSlice>({ apiVersion: revisionSliceResource.apiVersion, kind: revisionSliceResource.kind, namespace: ns });
    return items.length === 0;
  }, 60_000, 500);
  t.pass();
});
