// PackageRevision encoding: compressed per phase, decoded exactly, a content hash
// that ignores key order, and a clear error past the size limit.
import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { PackageRevision } from '../../../apply-controller/api.ts';
import {
  CONTENT_HASH_ANNOTATION, contentHashOf, CorruptRevisionError, decodePhases, encodePhases, keyedContentHash, recordsSame, revisionName,
  RevisionTooLargeError,
} from '../../../apply-controller/revisions/index.ts';
import { testKey } from '../revisions/support.ts';

const key = testKey();

const phases = [
  { name: 'crds', objects: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }] },
  { name: 'default', objects: [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop' }, data: { a: '1' } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' }, spec: { replicas: 2 } },
  ] },
];

test('phases round-trip through gzip, the seal and base64 with their counts', (t) => {
  const encoded = encodePhases(phases, key);
  t.deepEqual(encoded.phases.map((p) => [p.name, p.count]), [['crds', 1], ['default', 2]]);
  t.true(encoded.phases.every((p) => /^[A-Za-z0-9+/]+=*$/.test(p.objects ?? '')));
  t.is(encoded.size, encoded.phases.reduce((n, p) => n + Buffer.from(p.objects ?? '', 'base64').length, 0));
  t.deepEqual(decodePhases(encoded.phases, key), phases);
  t.is(encoded.contentHash, keyedContentHash(key, contentHashOf(phases)));
});

test('the same objects give the same bytes and hash whatever their key order', (t) => {
  const reordered = [phases[0]!, { name: 'default', objects: [
    { data: { a: '1' }, metadata: { namespace: 'shop', name: 'cfg' }, kind: 'ConfigMap', apiVersion: 'v1' },
    { spec: { replicas: 2 }, kind: 'Deployment', apiVersion: 'apps/v1', metadata: { namespace: 'shop', name: 'web' } },
  ] }];
  t.deepEqual(encodePhases(reordered, key).phases, encodePhases(phases, key).phases);
  t.is(contentHashOf(reordered), contentHashOf(phases));
  const changed = structuredClone(phases);
  (changed[1]!.objects[1] as { spec: { replicas: number } }).spec.replicas = 3;
  t.not(contentHashOf(changed), contentHashOf(phases));
});

test('a package too large to record fails with its size and the limit', (t) => {
  // Random data does not compress: about 200 KB compressed.
  const big = [{ name: 'default', objects: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { blob: randomBytes(150_000).toString('base64') } }] }];
  const err = t.throws(() => encodePhases(big, key, 100_000), { instanceOf: RevisionTooLargeError });
  t.true(err.size > 100_000);
  t.is(err.limit, 100_000);
  t.regex(err.message, /takes? \d+ bytes compressed, more than the 100000 bytes a PackageRevision can record/);
  t.notThrows(() => encodePhases(big, key, 1_000_000));
});

test('a revision whose objects cannot be decoded is reported, not misread', (t) => {
  t.throws(() => decodePhases([{ name: 'x', objects: 'bm90IGd6aXA=', count: 1 }], key), { instanceOf: CorruptRevisionError });
  const one = encodePhases([{ name: 'x', objects: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }] }], key).phases[0]!;
  t.throws(() => decodePhases([{ ...one, count: 2 }], key), { instanceOf: CorruptRevisionError, message: /expected 2 objects/ });
});

test('recordsSame compares content hash, source and values hash', (t) => {
  const source = { kind: 'OCIRepository' as const, name: 'src', namespace: 'shop', revision: `1.0.0@sha256:${'a'.repeat(64)}`, digest: `sha256:${'b'.repeat(64)}` };
  const hash = contentHashOf(phases);
  const rev = {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageRevision',
    metadata: { name: revisionName('web', 3), annotations: { [CONTENT_HASH_ANNOTATION]: hash } },
    spec: { packageName: 'web', revision: 3, source, valuesHash: `sha256:${'c'.repeat(64)}`, phases: [], size: 0 },
  } satisfies PackageRevision;
  t.is(rev.metadata.name, 'web-3');
  t.true(recordsSame(rev, hash, { ...source }, rev.spec.valuesHash));
  t.false(recordsSame(rev, hash, { ...source, digest: `sha256:${'d'.repeat(64)}` }, rev.spec.valuesHash));
  t.false(recordsSame(rev, hash, source, `sha256:${'e'.repeat(64)}`));
  t.false(recordsSame(rev, contentHashOf([]), source, rev.spec.valuesHash));
});
