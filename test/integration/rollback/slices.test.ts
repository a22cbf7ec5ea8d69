// Sliced PackageRevisions against the real apiserver: a 10,000-ConfigMap record
// round-trips through RevisionSlices; the next revision with one object changed
// creates only the changed slice(s) and names the rest again; a slice changed
// behind the controller's back is refused on read (and the guarded client
// refuses to change one); history GC deletes the slices no kept revision names,
// and never one a kept revision needs.
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import anyTest from 'ava';
import { packageResource, packageRevisionResource, revisionSliceResource, type Package, type PackageRevision, type RevisionSlice } from '../../../apply-controller/api.ts';
import type { KubeObject } from '../../../apply-controller/bundle/object.ts';
import { guardRevisionSpecs } from '../../../apply-controller/revisions/guard.ts';
import {
  CorruptRevisionError, getRevision, isSliced, listRevisions, readRevisionPhases, RevisionImmutableError, RevisionTamperedError, setRevisionStatus,
  sliceNamesOf, writeRevision,
  type RevisionPhase,
} from '../../../apply-controller/revisions/index.ts';
import { collectRevisions } from '../../../apply-controller/rollback/gc.ts';
import type { DeleteOptions, KubeClient } from '../../../runtime/kube.ts';
import type { ObjectRef } from '../../../runtime/object.ts';
import { createLogger } from '../../../runtime/logging.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { adminClient } from '../apply-controller/support.ts';
import { testKey, testKeys } from '../../unit/revisions/support.ts';

const key = testKey();
const keys = testKeys(key);

const test = withCluster(anyTest);
const log = createLogger({ level: 'silent' });
const valuesHash = `sha256:${'a'.repeat(64)}`;
const source = (n: number) => ({
  kind: 'OCIRepository' as const, name: 'src', namespace: 'x', revision: `1.0.${n}@sha256:${'1'.repeat(64)}`, digest: `sha256:${'1'.repeat(64)}`,
});
const WORDS = ['timeout', 'replicas', 'enabled', 'endpoint', 'retries', 'region', 'level', 'cache', 'pool', 'queue'];

/** A ConfigMap of configuration-like text, different per `i` and `version`. */
function configMap(ns: string, i: number, version = 0): KubeObject {
  const data: Record<string, string> = {};
  for (let k = 0; k < 12; k += 1) data[`${WORDS[(i + k) % WORDS.length] ?? ''}.${k}`] = `value-${(i * 31 + k * 7 + version) % 1009}-${'x'.repeat((i + k) % 13)}`;
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, namespace: ns }, data };
}

function phasesOf(ns: string, n: number, changed: ReadonlyMap<number, number> = new Map()): RevisionPhase[] {
  return [
    { name: 'namespaces', objects: [] },
    { name: 'default', objects: Array.from({ length: n }, (_, i) => configMap(ns, i, changed.get(i) ?? 0)) },
  ];
}

async function suspendedPackage(client: KubeClient, ns: string, name: string): Promise<Package> {
  return client.create<Package>({
    apiVersion: packageResource.apiVersion, kind: packageResource.kind, metadata: { name, namespace: ns },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'src' }, suspend: true } as Package['spec'],
  });
}

async function sliceNames(client: KubeClient, ns: string, packageName: string): Promise<string[]> {
  const { items } = await client.list<RevisionSlice>({ apiVersion: revisionSliceResource.apiVersion, kind: revisionSliceResource.kind, namespace: ns },
    { labelSelector: `apply.trellis.dev/package=${packageName}` });
  return items.map((s) => s.metadata.name ?? '').sort();
}

const sliceRefs = (rev: PackageRevision): string[] => rev.spec.phases.flatMap((p) => (p.slices ?? []).map((s) => s.name));

test('a 10,000-ConfigMap revision round-trips through slices, and the next one writes only what changed', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = guardRevisionSpecs(adminClient(cluster));
  const pkg = await suspendedPackage(client, ns, 'big');

  const first = phasesOf(ns, 10_000);
  client.requests.reset();
  const rev1 = await writeRevision(client, { pkg, revision: 1, source: source(1), valuesHash, phases: first }, { key });
  t.true(isSliced(rev1));
  const refs1 = sliceRefs(rev1);
  t.true(refs1.length >= 8, `${refs1.length} slices`);
  t.is(client.requests.count('create'), refs1.length + 1, 'every slice, then the revision');
  t.true(JSON.stringify(rev1).length < 16_384, 'the revision itself stays small: listing history does not read objects');
  t.deepEqual(await sliceNames(client, ns, 'big'), [...refs1].sort());
  const stored = await client.get<RevisionSlice>({ apiVersion: revisionSliceResource.apiVersion, kind: revisionSliceResource.kind, namespace: ns, name: refs1[0] ?? '' });
  t.is(stored?.metadata.ownerReferences?.[0]?.uid, pkg.metadata.uid, 'owned by the Package');
  t.true(Buffer.from(stored?.spec.objects ?? '', 'base64').length <= 256 * 1024);

  const read = await readRevisionPhases(client, (await getRevision(client, ns, 'big', 1)) as PackageRevision, keys);
  t.deepEqual(read, first, 'read back equal');

  // Revision 2: one object changed. Only its slice (or two) is created; the rest are named again.
  client.requests.reset();
  const rev2 = await writeRevision(client, { pkg, revision: 2, source: source(2), valuesHash, phases: phasesOf(ns, 10_000, new Map([[6_789, 1]])) }, { key });
  const refs2 = sliceRefs(rev2);
  const fresh = refs2.filter((name) => !refs1.includes(name));
  t.true(fresh.length >= 1 && fresh.length <= 2, `${fresh.length} new slices`);
  t.is(client.requests.count('create'), fresh.length + 1, 'only the changed slices and the revision are created');
  t.true(refs2.length - fresh.length >= refs1.length - 2, 'the others are shared');
  t.deepEqual((await readRevisionPhases(client, rev2, keys))[1]?.objects[6_789], configMap(ns, 6_789, 1));

  // Writing revision 2 again (a retry after a lost answer) creates nothing new.
  client.requests.reset();
  await writeRevision(client, { pkg, revision: 2, source: source(2), valuesHash, phases: phasesOf(ns, 10_000, new Map([[6_789, 1]])) },
    { key, history: [rev1, rev2] });
  t.is(client.requests.count('create'), 1, 'only the revision create, answered by a conflict');
});

test('a slice changed behind the controller\'s back is refused on read, and the guarded client cannot change one', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const raw = adminClient(cluster);
  const client = guardRevisionSpecs(raw);
  const pkg = await suspendedPackage(client, ns, 'web');
  const rev = await writeRevision(client, { pkg, revision: 1, source: source(1), valuesHash, phases: phasesOf(ns, 400) },
    { key, inlineLimit: 1_024, sliceSizeLimit: 8_192 });
  const [name] = sliceRefs(rev);
  const ref = { apiVersion: revisionSliceResource.apiVersion, kind: revisionSliceResource.kind, namespace: ns, name: name ?? '' };
  const slice = await client.get<RevisionSlice>(ref);
  if (!slice) return t.fail('the slice is not there');

  await t.throwsAsync(client.patch(ref, { spec: { count: 1 } }), { instanceOf: RevisionImmutableError, message: /RevisionSlice/ });
  await t.throwsAsync(client.update({ ...slice, spec: { ...slice.spec, count: 1 } }), { instanceOf: RevisionImmutableError });
  await t.throwsAsync(client.apply({ ...slice, spec: { ...slice.spec, count: 1 } }, { fieldManager: 'trellis' }), { instanceOf: RevisionImmutableError });
  await t.throwsAsync(client.patchStatus(ref, {}), { instanceOf: RevisionImmutableError });

  // The slice is sealed: its bytes are no gzip or brotli anyone can read.
  t.throws(() => gunzipSync(Buffer.from(slice.spec.objects, 'base64')));
  t.throws(() => brotliDecompressSync(Buffer.from(slice.spec.objects, 'base64')));
  // Someone with the rights swaps in other objects, keeping the claimed digest: unsealed, they are refused.
  const injected: KubeObject[] = [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'injected', namespace: ns }, data: { injected: 'yes' } }];
  await raw.patch(ref, { spec: { objects: gzipSync(JSON.stringify(injected)).toString('base64') } });
  await t.throwsAsync(readRevisionPhases(client, rev, keys), { instanceOf: RevisionTamperedError, message: /is not sealed/ });
  // Or the sealed bytes of another slice of the same Package: they open, but do not hash to the digest named.
  const [, otherName] = sliceRefs(rev);
  const other = await client.get<RevisionSlice>({ ...ref, name: otherName ?? '' });
  await raw.patch(ref, { spec: { objects: other?.spec.objects } });
  await t.throwsAsync(readRevisionPhases(client, rev, keys), { instanceOf: RevisionTamperedError, message: /was changed after it was written/ });
  // The apiserver does not check the text is base64 (that check cost more than the write): the reader refuses what is not.
  await raw.patch(ref, { spec: { objects: 'not base64 at all: {"kind":"ConfigMap"}' } });
  await t.throwsAsync(readRevisionPhases(client, rev, keys), { instanceOf: CorruptRevisionError });

  // A deleted slice: refused as well, naming it.
  await raw.delete(ref);
  await t.throwsAsync(readRevisionPhases(client, rev, keys), { instanceOf: CorruptRevisionError, message: new RegExp(`${name ?? ''}, which does not exist`) });
});

test('history GC deletes the slices no kept revision names, and keeps every slice a kept revision needs', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = guardRevisionSpecs(adminClient(cluster));
  const pkg = await suspendedPackage(client, ns, 'gc');
  const opts = { key, inlineLimit: 1_024, sliceSizeLimit: 8_192 };
  const revs: PackageRevision[] = [];
  for (const n of [1, 2, 3, 4]) {
    // Each revision changes a few objects of its own, and revision 4 drops the last hundred.
    const changed = new Map([[n * 50, n], [n * 50 + 200, n]]);
    const rev = await writeRevision(client, { pkg, revision: n, source: source(n), valuesHash, phases: phasesOf(ns, n === 4 ? 300 : 400, changed) }, opts);
    await setRevisionStatus(client, rev, { phase: n === 4 ? 'Available' : 'Superseded', message: 'written by the test' });
    revs.push(rev);
  }
  const all = await sliceNames(client, ns, 'gc');
  t.true(all.length > sliceRefs(revs[3] as PackageRevision).length, 'older revisions hold slices the newest does not');

  // Revision 2 cannot be deleted this time: its slices must survive along with it.
  const failing = new Proxy(client, {
    get(target, prop) {
      if (prop === 'delete') {
        return async (ref: ObjectRef, options?: DeleteOptions) => {
          if (ref.kind === packageRevisionResource.kind && ref.name === 'gc-2') throw new Error('injected failure');
          return target.delete(ref, options);
        };
      }
      return Reflect.get(target, prop, target) as unknown;
    },
  });
  t.deepEqual(await collectRevisions(failing, revs, 1, 4, log), [1, 3]);
  const afterFailure = await sliceNames(client, ns, 'gc');
  const needed = sliceNamesOf(await listRevisions(client, ns, 'gc'));
  t.deepEqual(afterFailure, [...needed].sort(), 'exactly the slices of revisions 2 and 4 remain');
  for (const rev of await listRevisions(client, ns, 'gc')) t.is((await readRevisionPhases(client, rev, keys))[1]?.objects.length, rev.spec.revision === 4 ? 300 : 400);

  // The next GC takes revision 2 and the slices only it named.
  t.deepEqual(await collectRevisions(client, await listRevisions(client, ns, 'gc'), 1, 4, log), [2]);
  t.deepEqual(await sliceNames(client, ns, 'gc'), [...new Set(sliceRefs(revs[3] as PackageRevision))].sort());
  t.deepEqual((await readRevisionPhases(client, revs[3] as PackageRevision, keys))[1]?.objects.length, 300);
});
