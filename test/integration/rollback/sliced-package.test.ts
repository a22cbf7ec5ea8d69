// A Package too large for an inline PackageRevision, end to end through the
// real controller: installed with its revision in RevisionSlices, upgraded
// (one object changed, one added in a phase of its own: the new revision
// shares every slice but the one holding the changed object),
// pinned back to the sliced first revision with its artifact server stopped,
// and uninstalled (its objects and, with the Package, its slices go).
import { randomBytes } from 'node:crypto';
import anyTest from 'ava';
import { statusInventory, revisionSliceResource, type RevisionSlice } from '../../../apply-controller/api.ts';
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
/** Phases `default`, then `extra` (which only revision 2 has objects in). */
const manifest = 'apiVersion: apply.trellis.dev/v1alpha1\nkind: PackageManifest\nname: big\nversion: 1.0.0\nphases: [default, extra]\n';
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
  const v1 = await doomed.publish(ns, 'src', { 'package.yaml': manifest, 'manifests/config.yaml': objects });
  // Where a run of objects ends depends on each object's identity and size (chunk.ts), and the
  // namespace is part of the identity, so the runs differ from one test run to the next. A new
  // blob of the same length keeps every boundary; an object added to the default phase would
  // change the run it lands in, so the added one has a phase of its own.
  const changed = [configMap('cm-0', { blob: randomBytes(2_000).toString('base64') }), ...objects.slice(1)];
  const added = configMap('only-v2', { v: '2' }, { annotations: { 'apply.trellis.dev/phase': 'extra' } });
  const v2 = await doomed.publish(ns, 'src', { 'package.yaml': manifest, 'manifests/config.yaml': changed, 'manifests/extra.yaml': [added] });
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
  const phaseRefs = (name: string): string[] => (rev2?.spec.phases.find((p) => p.name === name)?.slices ?? []).map((s) => s.name);
  const fresh = phaseRefs('default').filter((name) => !refs1.includes(name));
  // One slice holds cm-0. Its run keeps its objects, so it is cut the same way unless its compressed
  // size crosses the slice limit with the new blob (a window of a few bytes): then two.
  t.true(fresh.length >= 1 && fresh.length <= 2, `revision 2 writes ${fresh.length} new slices of the default phase's ${phaseRefs('default').length}`);
  const dropped = refs1.filter((name) => !phaseRefs('default').includes(name));
  t.true(dropped.length >= 1 && dropped.length <= 2, `revision 2 reuses all but ${dropped.length} of revision 1's ${refs1.length} slices`);
  t.is(phaseRefs('extra').length, 1, 'the added phase has a slice of its own');
  t.false(refs1.includes(phaseRefs('extra')[0] ?? ''));

  // With the artifact server gone, the pin can only come from the slices.
  await doomed.stop();
  await patchSpec(client, ns, 'big', { rollback: { revision: 1 } });
  const pinned = await waitForPackage(client, ns, 'big', (p) => isReadyAt(p) && p.status?.currentRevision === 1, 120_000);
  t.is(conditionOf(pinned, 'Ready')?.reason, 'Pinned');
  t.is(((await getObject(client, 'v1', 'ConfigMap', ns, 'cm-0')) as Data | undefined)?.data?.blob, (objects[0] as Data).data?.blob);
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'only-v2'), undefined, 'what revision 2 added is pruned');
  t.is(statusInventory(pinned.status).length, 200);

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
