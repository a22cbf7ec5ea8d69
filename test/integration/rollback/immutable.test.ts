// A PackageRevision's spec is written once. Through the controller's own code
// paths — the store and the guarded client the reconciler uses — any attempt to
// change an existing revision's spec is refused with RevisionImmutableError and
// nothing reaches the apiserver; its status still moves.
import { randomBytes } from 'node:crypto';
import anyTest from 'ava';
import { packageResource, packageRevisionResource, revisionSliceResource, type Package, type PackageRevision } from '../../../apply-controller/api.ts';
import { guardRevisionSpecs } from '../../../apply-controller/revisions/guard.ts';
import {
  getRevision, RevisionImmutableError, RevisionTooLargeError, setRevisionStatus, writeRevision,
} from '../../../apply-controller/revisions/index.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { adminClient } from '../apply-controller/support.ts';
import { testKey } from '../../unit/revisions/support.ts';

const key = testKey();

const test = withCluster(anyTest);

const cm = (data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'x' }, data });
const source = { kind: 'OCIRepository' as const, name: 'src', namespace: 'x', revision: `1.0.0@sha256:${'1'.repeat(64)}`, digest: `sha256:${'1'.repeat(64)}` };
const valuesHash = `sha256:${'a'.repeat(64)}`;

test('an existing revision\'s spec cannot be changed through the store or the guarded client', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const raw = adminClient(cluster);
  const client = guardRevisionSpecs(raw);
  const pkg = await client.create<Package>({
    apiVersion: packageResource.apiVersion, kind: packageResource.kind, metadata: { name: 'web', namespace: ns },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'src' }, suspend: true } as Package['spec'],
  });
  const written = await writeRevision(client, { pkg, revision: 1, source, valuesHash, phases: [{ name: 'default', objects: [cm({ a: '1' })] }] }, { key });
  const ref = { apiVersion: packageRevisionResource.apiVersion, kind: packageRevisionResource.kind, namespace: ns, name: 'web-1' };

  // Writing the same state again returns the record as it is.
  const again = await writeRevision(client, { pkg, revision: 1, source, valuesHash, phases: [{ name: 'default', objects: [cm({ a: '1' })] }] }, { key });
  t.is(again.metadata.resourceVersion, written.metadata.resourceVersion);

  // Other objects under the same number: refused.
  await t.throwsAsync(writeRevision(client, { pkg, revision: 1, source, valuesHash, phases: [{ name: 'default', objects: [cm({ a: '2' })] }] }, { key }),
    { instanceOf: RevisionImmutableError, message: /already exists and records other objects/ });
  // Every other write of the spec through the guarded client (and its impersonating clients): refused.
  const changed = { ...written, spec: { ...written.spec, valuesHash: `sha256:${'b'.repeat(64)}` } };
  await t.throwsAsync(client.update(changed), { instanceOf: RevisionImmutableError });
  await t.throwsAsync(client.apply(changed, { fieldManager: 'trellis' }), { instanceOf: RevisionImmutableError });
  await t.throwsAsync(client.patch(ref, { spec: { revision: 7 } }), { instanceOf: RevisionImmutableError });
  await t.throwsAsync(client.impersonate(ns, 'someone').patch(ref, { spec: { revision: 7 } }), { instanceOf: RevisionImmutableError });

  const stored = await getRevision(raw, ns, 'web', 1);
  t.deepEqual(stored?.spec, written.spec, 'the stored spec is untouched');
  t.is(stored?.metadata.resourceVersion, written.metadata.resourceVersion, 'nothing was written');

  // The status is what moves.
  t.true(await setRevisionStatus(client, stored as PackageRevision, { phase: 'Available', message: 'Applied and healthy' }));
  t.is((await getRevision(raw, ns, 'web', 1))?.status?.phase, 'Available');
  // Other kinds pass through the guard.
  await client.patch({ apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace: ns, name: 'web' }, { metadata: { labels: { a: 'b' } } });
  t.is((await client.get<Package>({ apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace: ns, name: 'web' }))?.metadata.labels?.a, 'b');
});

test('a package too large to record is refused with its size and the limit, and nothing is written', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = guardRevisionSpecs(adminClient(cluster));
  const pkg = await client.create<Package>({
    apiVersion: packageResource.apiVersion, kind: packageResource.kind, metadata: { name: 'big', namespace: ns },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'src' }, suspend: true } as Package['spec'],
  });
  // Random data does not compress: 16 ConfigMaps of 4 KiB each against a 16 KiB limit.
  const objects = Array.from({ length: 16 }, (_, i) => ({ ...cm({ blob: randomBytes(3072).toString('base64') }),
    metadata: { name: `c${i}`, namespace: ns } }));
  const err = await t.throwsAsync(writeRevision(client, { pkg, revision: 1, source, valuesHash, phases: [{ name: 'default', objects }] }, { key, sizeLimit: 16_384 }),
    { instanceOf: RevisionTooLargeError });
  t.true((err?.size ?? 0) > 16_384);
  t.is(err?.limit, 16_384);
  t.regex(err?.message ?? '', /take \d+ bytes compressed, more than the 16384 bytes a PackageRevision can record/);
  t.is(await getRevision(client, ns, 'big', 1), undefined);
  // Too large inline, so it would have gone to slices: the cap counts them and is checked before any is written.
  const { items: slices } = await client.list({ apiVersion: revisionSliceResource.apiVersion, kind: revisionSliceResource.kind, namespace: ns });
  t.is(slices.length, 0);
});
