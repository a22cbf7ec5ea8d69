// Sliced PackageRevisions as plain data: content-defined chunking (deterministic,
// bounded, and local — one changed object rewrites one or two slices of a
// 10,000-object phase), the inline/sliced threshold, slice names, and a reader
// that verifies every slice and the revision's content hash.
import { createHash, randomBytes } from 'node:crypto';
import test from 'ava';
import type { PackageRevision, RevisionSlice } from '../../../apply-controller/api.ts';
import type { KubeObject } from '../../../apply-controller/bundle/object.ts';
import {
  chunkPhase, CONTENT_HASH_ANNOTATION, contentHashOf, contentHashOfTexts, CorruptRevisionError, DEFAULT_SLICE_SIZE_LIMIT, isSliced,
  MAX_SINGLE_OBJECT_SLICE, planRecord, readRevisionPhases, RevisionTooLargeError, sliceName, sliceRefsOf, unfinishedInventory, type RecordPlan,
  type RevisionPhase, withObjectTexts,
} from '../../../apply-controller/revisions/index.ts';
import { keyedContentHash, keyedHash, openBytes, RevisionTamperedError, sealText } from '../../../apply-controller/revisions/index.ts';
import { compressText, compressTextAsync, decompressText } from '../../../apply-controller/revisions/encode.ts';
import { canonicalJSON } from '../../../apply-controller/bundle/canonical.ts';
import { DNS1123_SUBDOMAIN_PATTERN } from '../../../runtime/schema.ts';
import { signedRevision, testKey, testKeys } from '../revisions/support.ts';

const key = testKey();
const keys = testKeys(key);

const WORDS = ['timeout', 'replicas', 'enabled', 'endpoint', 'retries', 'region', 'level', 'cache', 'pool', 'queue'];

/** A ConfigMap of configuration-like text (~600 bytes), different per `i` and `version`. */
function configMap(i: number, version = 0): KubeObject {
  const data: Record<string, string> = {};
  for (let k = 0; k < 12; k += 1) data[`${WORDS[(i + k) % WORDS.length] ?? ''}.${k}`] = `value-${(i * 31 + k * 7 + version) % 1009}-${'x'.repeat((i + k) % 13)}`;
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, namespace: 'shop', labels: { app: 'shop' } }, data };
}

const manyConfigMaps = (n: number): KubeObject[] => Array.from({ length: n }, (_, i) => configMap(i));
const digests = async (objects: readonly KubeObject[], limit = DEFAULT_SLICE_SIZE_LIMIT): Promise<string[]> =>
  (await chunkPhase(objects, { key, sliceSizeLimit: limit })).map((c) => c.digest);
const added = (before: readonly string[], after: readonly string[]): string[] => after.filter((d) => !before.includes(d));

test('chunking is deterministic, keeps every object in order, and ignores key order', async (t) => {
  const objects = manyConfigMaps(2_000);
  const chunks = await chunkPhase(objects, { key, sliceSizeLimit: 32 * 1024 });
  t.true(chunks.length > 3, `${chunks.length} chunks`);
  t.deepEqual(chunks.map((c) => c.digest), await digests(objects, 32 * 1024));
  t.is(chunks.reduce((n, c) => n + c.count, 0), objects.length);
  t.deepEqual(chunks.flatMap((c) => JSON.parse(c.bytes.toString('utf8')) as KubeObject[]), objects);
  const reordered = objects.map((o) => ({ data: o.data, metadata: o.metadata, kind: o.kind, apiVersion: o.apiVersion }));
  t.deepEqual(await digests(reordered, 32 * 1024), await digests(objects, 32 * 1024));
  t.deepEqual(await chunkPhase([], { key, sliceSizeLimit: 1024 }), []);
});

test('a chunk holds exactly the UTF-8 of its objects\' canonical JSON array, and its digest and seal are of those bytes', async (t) => {
  // Text outside ASCII takes two to four bytes a character: the bytes are counted, not the characters.
  const objects = Array.from({ length: 300 }, (_, i) => ({ ...configMap(i), data: { note: `grüße ${i} — 数据 🌱 ${'é'.repeat(i % 7)}` } }));
  const chunks = await chunkPhase(objects, { key, sliceSizeLimit: 4 * 1024 });
  t.true(chunks.length > 3, `${chunks.length} chunks`);
  let at = 0;
  for (const chunk of chunks) {
    const text = `[${objects.slice(at, at + chunk.count).map((o) => canonicalJSON(o)).join(',')}]`;
    t.true(chunk.bytes.equals(Buffer.from(text, 'utf8')));
    t.is(chunk.digest, keyedHash(key, 'slice', text));
    t.is(decompressText(openBytes(key, chunk.compressed ?? Buffer.alloc(0), 'chunk')), text);
    at += chunk.count;
  }
  t.is(at, objects.length);
});

test('every chunk fits the slice limit, even for data that does not compress', async (t) => {
  const limit = 16 * 1024;
  const objects = Array.from({ length: 60 }, (_, i) => ({ ...configMap(i), data: { blob: randomBytes(1_500).toString('base64') } }));
  const chunks = await chunkPhase(objects, { key, sliceSizeLimit: limit });
  t.true(chunks.every((c) => c.size <= limit && c.compressed?.length === c.size), chunks.map((c) => c.size).join(','));
  t.is(chunks.reduce((n, c) => n + c.count, 0), 60);
  // One object larger than the limit gets a chunk of its own; one past what a slice can hold is refused by id only.
  const big = { ...configMap(1), data: { blob: randomBytes(40_000).toString('base64') } };
  const alone = await chunkPhase([configMap(0), big, configMap(2)], { key, sliceSizeLimit: limit });
  t.true(alone.some((c) => c.count === 1 && c.size > limit));
  const huge = { ...configMap(3), data: { secret: randomBytes(MAX_SINGLE_OBJECT_SLICE).toString('base64') } };
  const err = await t.throwsAsync(chunkPhase([huge], { key, sliceSizeLimit: limit }), { instanceOf: RevisionTooLargeError });
  t.regex(err.message, /object shop_cm-3__ConfigMap alone takes \d+ bytes compressed/);
  t.false(err.message.includes(huge.data.secret.slice(0, 16)), 'the message does not carry the data');
  // Runs compress concurrently; the error is still the first run's in order, whichever finished first: here the later
  // object is a third of the size, so its compression fails first.
  const slow = { ...configMap(3), data: { secret: randomBytes(3 * MAX_SINGLE_OBJECT_SLICE).toString('base64') } };
  const fast = { ...configMap(4), data: { secret: randomBytes(MAX_SINGLE_OBJECT_SLICE).toString('base64') } };
  const many = [...manyConfigMaps(3), slow, fast, ...manyConfigMaps(40).map((o, i) => ({ ...o, metadata: { ...o.metadata, name: `later-${i}` } }))];
  for (let i = 0; i < 3; i += 1) {
    const first = await t.throwsAsync(chunkPhase(many, { key, sliceSizeLimit: limit, targetBytes: 4 * 1024 }), { instanceOf: RevisionTooLargeError });
    t.regex(first.message, /object shop_cm-3__ConfigMap alone/);
  }
});

test('compression on the thread pool gives the same bytes as the synchronous one', async (t) => {
  const text = canonicalJSON(manyConfigMaps(300));
  t.deepEqual(await compressTextAsync(text), compressText(text));
  t.is(decompressText(await compressTextAsync(text)), text);
});

test('one changed, added or removed object in a 10,000-object phase changes only one or two chunks', async (t) => {
  const objects = manyConfigMaps(10_000);
  const before = await digests(objects);
  t.true(before.length >= 8, `${before.length} chunks: enough for locality to mean something`);

  const changed = [...objects];
  changed[4_321] = configMap(4_321, 1);
  const afterChange = await digests(changed);
  t.true(added(before, afterChange).length >= 1 && added(before, afterChange).length <= 2, `${added(before, afterChange).length} new chunks`);
  t.true(afterChange.length - added(before, afterChange).length >= before.length - 2, 'the other chunks are the same');

  const inserted = [...objects.slice(0, 7_000), configMap(20_000), ...objects.slice(7_000)];
  t.true(added(before, await digests(inserted)).length <= 2);
  const removed = [...objects.slice(0, 100), ...objects.slice(101)];
  t.true(added(before, await digests(removed)).length <= 2);
});

test('chunks already stored are named by digest and not compressed again', async (t) => {
  const objects = manyConfigMaps(3_000);
  const first = await chunkPhase(objects, { key, sliceSizeLimit: 32 * 1024 });
  const known = new Map(first.map((c) => [c.digest, c.size]));
  const again = await chunkPhase(objects, { key, sliceSizeLimit: 32 * 1024, known });
  t.deepEqual(again.map((c) => [c.digest, c.size]), first.map((c) => [c.digest, c.size]));
  t.true(again.every((c) => c.compressed === undefined));
});

test('the content hash computed from stored texts equals the one computed from objects', async (t) => {
  const phases: RevisionPhase[] = [{ name: 'crds', objects: [] }, { name: 'default', objects: manyConfigMaps(500) }];
  const texts = await Promise.all(phases.map(async (p) => ({ name: p.name, texts: (await chunkPhase(p.objects, { key, sliceSizeLimit: 8 * 1024 })).map((c) => c.bytes) })));
  t.true((texts[1]?.texts.length ?? 0) > 1);
  t.is(contentHashOfTexts(texts), contentHashOf(phases));
  // Both are the sha256 of the canonical JSON of the phases' names and objects, whichever way it is fed to the hash.
  t.is(contentHashOf(phases), `sha256:${createHash('sha256').update(canonicalJSON(phases.map((p) => ({ name: p.name, objects: p.objects })))).digest('hex')}`);
});

const small: RevisionPhase[] = [{ name: 'default', objects: manyConfigMaps(10) }];
const large: RevisionPhase[] = [{ name: 'crds', objects: [] }, { name: 'default', objects: manyConfigMaps(3_000) }];

test('objects whose canonical texts were computed once give the same hashes, inline records and slices', async (t) => {
  for (const phases of [small, large]) {
    const withTexts = withObjectTexts(phases);
    t.deepEqual(withTexts.map((p) => p.texts), phases.map((p) => p.objects.map((o) => canonicalJSON(o))));
    t.is(contentHashOf(withTexts), contentHashOf(phases));
    const plain = await planRecord('web', phases, { key, sliceSizeLimit: 32 * 1024 });
    const reused = await planRecord('web', withTexts, { key, sliceSizeLimit: 32 * 1024 });
    // Sealing draws a fresh nonce: compare what the record names and hashes, not the ciphertext.
    t.is(reused.contentHash, plain.contentHash);
    t.deepEqual(reused.phases.map((p) => [p.name, p.count, p.objects === undefined, p.slices]), plain.phases.map((p) => [p.name, p.count, p.objects === undefined, p.slices]));
  }
});

test('a small revision stays inline; a large one names slices, all of them new the first time', async (t) => {
  const inline = await planRecord('web', small, { key });
  t.true(inline.phases.every((p) => p.objects !== undefined && p.slices === undefined));
  t.deepEqual(inline.newSlices, []);
  t.true(inline.size <= 32 * 1024);
  t.is(inline.contentHash, keyedContentHash(key, contentHashOf(small)));

  const sliced = await planRecord('web', large, { key, sliceSizeLimit: 32 * 1024 });
  t.true(sliced.phases.every((p) => p.objects === undefined));
  t.deepEqual(sliced.phases.map((p) => [p.name, p.count]), [['crds', 0], ['default', 3_000]]);
  const refs = sliced.phases.flatMap((p) => p.slices ?? []);
  t.true(refs.length > 1);
  t.deepEqual(sliced.newSlices.map((s) => s.name), refs.map((r) => r.name));
  t.is(sliced.size, refs.reduce((n, r) => n + r.size, 0));
  t.is(sliced.contentHash, keyedContentHash(key, contentHashOf(large)));

  // The threshold is an option: the same small package, sliced.
  t.true((await planRecord('web', small, { key, inlineLimit: 100 })).phases.every((p) => (p.slices ?? []).length > 0));
  // And the cap counts slices too.
  await t.throwsAsync(planRecord('web', large, { key, sizeLimit: 40_000 }), { instanceOf: RevisionTooLargeError, message: /more than the 40000 bytes a PackageRevision can record/ });
});

test('a second revision with one object changed needs only the changed slices', async (t) => {
  const first = await planRecord('web', large, { key, sliceSizeLimit: 32 * 1024 });
  const next = structuredClone<RevisionPhase[]>(large);
  (next[1]?.objects as KubeObject[])[1_234] = configMap(1_234, 5);
  const second = await planRecord('web', next, { key, sliceSizeLimit: 32 * 1024 }, sliceRefsOf([revisionOf(first)]));
  const refs = second.phases.flatMap((p) => p.slices ?? []);
  t.true(second.newSlices.length >= 1 && second.newSlices.length <= 2, `${second.newSlices.length} new of ${refs.length}`);
  t.true(refs.length > 4);
  t.not(second.contentHash, first.contentHash);
});

test('slice names are DNS subdomains under 253 characters, distinct per package', (t) => {
  const digest = `sha256:${'ab'.repeat(32)}`;
  t.is(sliceName('web', digest), `web-${'ab'.repeat(20)}`);
  const long = `${'a'.repeat(200)}.${'b'.repeat(52)}`;
  const other = `${'a'.repeat(200)}.${'c'.repeat(52)}`;
  for (const name of [sliceName(long, digest), sliceName(other, digest)]) {
    t.true(name.length <= 253, `${name.length}`);
    t.regex(name, new RegExp(DNS1123_SUBDOMAIN_PATTERN));
  }
  t.not(sliceName(long, digest), sliceName(other, digest));
});

/** A revision as the store would write it from a plan: sealed and signed. */
function revisionOf(plan: RecordPlan, packageName = 'web'): PackageRevision {
  return signedRevision({ revision: 1, plan, key, packageName });
}

/** The slices of a plan as the apiserver would return them, and a reader over them. */
function sliceStore(plan: RecordPlan, packageName = 'web'): { slices: Map<string, RevisionSlice>; get: <T>(ref: { name: string }) => Promise<T | undefined> } {
  const slices = new Map(plan.newSlices.map((s): [string, RevisionSlice] => [s.name, {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'RevisionSlice', metadata: { name: s.name, namespace: 'shop' },
    spec: { packageName, digest: s.digest, count: s.count, objects: s.compressed.toString('base64') },
  }]));
  return { slices, get: <T>(ref: { name: string }) => Promise.resolve(structuredClone(slices.get(ref.name)) as T | undefined) };
}

test('a sliced revision reads back equal, and the reader verifies before it returns', async (t) => {
  const plan = await planRecord('web', large, { key, sliceSizeLimit: 32 * 1024 });
  const rev = revisionOf(plan);
  t.true(isSliced(rev));
  const store = sliceStore(plan);
  t.deepEqual(await readRevisionPhases(store, rev, keys), large);

  // A slice whose objects were swapped for others (its spec still claiming the old digest).
  const [firstName] = store.slices.keys();
  const victim = store.slices.get(firstName ?? '') as RevisionSlice;
  const evil = manyConfigMaps(victim.spec.count).map((o) => ({ ...o, data: { evil: 'yes' } }));
  victim.spec.objects = sealText(testKey('intruder', 9), canonicalJSON(evil)).toString('base64');
  await t.throwsAsync(readRevisionPhases(store, rev, keys), { instanceOf: RevisionTamperedError, message: /sealed with key intruder/ });
  // The same objects sealed with the right key but not what the revision names: the keyed digest says no.
  victim.spec.objects = sealText(key, canonicalJSON(evil)).toString('base64');
  await t.throwsAsync(readRevisionPhases(store, rev, keys), { instanceOf: RevisionTamperedError, message: /was changed after it was written/ });
  // Not sealed at all.
  victim.spec.objects = Buffer.from(canonicalJSON(evil)).toString('base64');
  await t.throwsAsync(readRevisionPhases(store, rev, keys), { instanceOf: RevisionTamperedError, message: /is not sealed/ });

  // A slice that is gone.
  store.slices.delete(firstName ?? '');
  await t.throwsAsync(readRevisionPhases(store, rev, keys), { instanceOf: CorruptRevisionError, message: /which does not exist/ });
});

test('a revision whose record was changed, or that names another package\'s slice, is refused', async (t) => {
  const plan = await planRecord('web', large, { key, sliceSizeLimit: 32 * 1024 });
  const tampered = revisionOf(plan);
  tampered.metadata.annotations = { ...tampered.metadata.annotations, [CONTENT_HASH_ANNOTATION]: keyedContentHash(key, contentHashOf(small)) };
  await t.throwsAsync(readRevisionPhases(sliceStore(plan), tampered, keys), { instanceOf: RevisionTamperedError, message: /signature does not match/ });

  // Slices reordered inside the revision: each verifies, the whole does not.
  const reordered = revisionOf(plan);
  const phase = reordered.spec.phases[1];
  if (phase?.slices) phase.slices = [...phase.slices].reverse();
  await t.throwsAsync(readRevisionPhases(sliceStore(plan), reordered, keys), { instanceOf: CorruptRevisionError });

  await t.throwsAsync(readRevisionPhases(sliceStore(plan, 'other'), revisionOf(plan), keys), { instanceOf: CorruptRevisionError, message: /belongs to Package other/ });

  const unsigned = revisionOf(await planRecord('web', small, { key }));
  unsigned.metadata.annotations = {};
  await t.throwsAsync(readRevisionPhases(sliceStore(plan), unsigned, keys), { instanceOf: CorruptRevisionError, message: /cannot be verified/ });
});

test('the unfinished inventory of a sliced revision is read from its slices once, then remembered', async (t) => {
  const plan = await planRecord('web', large, { key, sliceSizeLimit: 32 * 1024 });
  const rev = revisionOf(plan);
  rev.metadata.uid = `uid-${randomBytes(4).toString('hex')}`;
  const store = sliceStore(plan);
  let gets = 0;
  const counting = { get: <T>(ref: { name: string }) => { gets += 1; return store.get<T>(ref); } };
  const first = await unfinishedInventory(counting, [rev], undefined, keys);
  t.is(first.length, 3_000);
  t.is(gets, plan.newSlices.length);
  t.deepEqual(await unfinishedInventory(counting, [rev], undefined, keys), first);
  t.is(gets, plan.newSlices.length, 'no slice was read again');
});
