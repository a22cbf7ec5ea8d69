// Forged revisions (issue 14): whoever may patch PackageRevisions must not be
// able to make the controller apply anything. A revision whose record was
// replaced (here: a ClusterRoleBinding added and an image changed) or replayed
// from another revision is refused before anything is applied, with
// Ready=False reason RevisionTampered; an untampered pin still works.
import { gzipSync } from 'node:zlib';
import anyTest from 'ava';
import { packageRevisionResource, type PackageRevision } from '../../../apply-controller/api.ts';
import { CONTENT_HASH_ANNOTATION, getRevision } from '../../../apply-controller/revisions/index.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import { REQUESTED_AT_ANNOTATION } from '../../../runtime/predicates.ts';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, conditionOf, configMap, createPackage, createSource, deployment, eventsAbout, getObject, isReadyAt, patchSpec,
  releasePackagesOnTeardown, runLabel, setArtifact, usePackageTestBed, waitForPackage,
} from '../apply-controller/support.ts';

const test = withCluster(anyTest);
const label = runLabel();
const bed = usePackageTestBed(test, label);

type Deploy = { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } };
type Data = { data?: Record<string, string> };

function revisionRef(ns: string, name: string): { apiVersion: string; kind: string; namespace: string; name: string } {
  return { apiVersion: packageRevisionResource.apiVersion, kind: packageRevisionResource.kind, namespace: ns, name };
}

async function imageOf(client: KubeClient, ns: string): Promise<string | undefined> {
  return (await getObject<Deploy & { apiVersion: string; kind: string }>(client, 'apps/v1', 'Deployment', ns, 'web'))?.spec?.template?.spec?.containers?.[0]?.image;
}

async function settingOf(client: KubeClient, ns: string): Promise<string | undefined> {
  return ((await getObject(client, 'v1', 'ConfigMap', ns, 'cfg')) as Data | undefined)?.data?.v;
}

test('a tampered revision is refused before anything is applied; an untampered pin still restores', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  t.teardown(() => client.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: `forged-${ns}` }).catch(() => undefined));
  const versions = [];
  for (const [v, image] of [['1', 'nginx:1.25'], ['2', 'nginx:1.26'], ['3', 'nginx:1.27']] as const) {
    versions.push(await bed().publisher.publish(ns, 'src', { 'app.yaml': [configMap('cfg', { v }), deployment('web', image)] }));
  }
  const [v1, v2, v3] = versions;
  if (!v1 || !v2 || !v3) return t.fail('not published');
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'web', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  for (const v of [v1, v2, v3]) {
    await setArtifact(client, ns, 'src', v);
    await waitForPackage(client, ns, 'web', (p) => isReadyAt(p, v.revision));
  }

  // Someone allowed to patch PackageRevisions replaces revision 1's record: its objects plus a binding to cluster-admin, and another image.
  const forged = [
    configMap('cfg', { v: '1' }, { namespace: ns }),
    { ...deployment('web', 'registry.example/evil:latest'), metadata: { name: 'web', namespace: ns } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `forged-${ns}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: ns }],
    },
  ];
  await client.patch(revisionRef(ns, 'web-1'), { spec: { phases: [{ name: 'default', count: forged.length, objects: gzipSync(JSON.stringify(forged)).toString('base64') }] } });

  await patchSpec(client, ns, 'web', { rollback: { revision: 1 } });
  const refused = await waitForPackage(client, ns, 'web', (p) => conditionOf(p, 'Ready')?.reason === 'RevisionTampered'
    && conditionOf(p, 'Ready')?.observedGeneration === p.metadata.generation);
  t.is(conditionOf(refused, 'Ready')?.status, 'False');
  t.regex(conditionOf(refused, 'Ready')?.message ?? '', /refused to restore revision 1 .*signature does not match.*nothing was applied/);
  t.is(conditionOf(refused, 'ApplyFailed')?.reason, 'RevisionTampered');
  t.is(await getObject(client, 'rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', undefined, `forged-${ns}`), undefined, 'no binding was made');
  t.is(await imageOf(client, ns), 'nginx:1.27', 'the image is the one revision 3 applied');
  t.is(await settingOf(client, ns), '3');
  const event = await eventually(async () => (await eventsAbout(client, ns, 'web')).find((e) => e.reason === 'RevisionTampered'));
  t.is(event.type, 'Warning');

  // A replay: revision 3's own sealed record and content hash copied into revision 1. Each part is genuine; the whole is not.
  const rev3 = await getRevision(client, ns, 'web', 3) as PackageRevision;
  await client.patch(revisionRef(ns, 'web-1'), {
    metadata: { annotations: { [CONTENT_HASH_ANNOTATION]: rev3.metadata.annotations?.[CONTENT_HASH_ANNOTATION] ?? '' } },
    spec: { phases: rev3.spec.phases, size: rev3.spec.size },
  });
  const requestedAt = new Date().toISOString();
  await client.patch({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'web' },
    { metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: requestedAt } } });
  const again = await waitForPackage(client, ns, 'web', (p) => p.status?.lastHandledReconcileAt === requestedAt);
  t.is(conditionOf(again, 'Ready')?.reason, 'RevisionTampered');
  t.is(again.status?.currentRevision, 3);

  // An untampered revision restores as ever.
  await patchSpec(client, ns, 'web', { rollback: { revision: 2 } });
  const pinned = await waitForPackage(client, ns, 'web', (p) => conditionOf(p, 'Ready')?.reason === 'Pinned' && p.status?.currentRevision === 2);
  t.is(conditionOf(pinned, 'Ready')?.status, 'True');
  t.is(await imageOf(client, ns), 'nginx:1.26');
  t.is(await settingOf(client, ns), '2');
});
