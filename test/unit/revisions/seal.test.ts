// The seal and the signature of PackageRevisions, and the keyring in the
// trellis-revision-key Secret: blobs round-trip and are deterministic under a
// key, any change is refused, hashes are keyed, a signature covers the
// revision's identity and records, and the keyring creates, reads and rotates
// its Secret without ever rewriting a key.
import { brotliDecompressSync, gzipSync } from 'node:zlib';
import test from 'ava';
import type { PackageRevision } from '../../../apply-controller/api.ts';
import {
  CURRENT_KEY_ENTRY, decodePhases, encodePhases, keyedHash, keysOfSecret, openBytes, readRevisionPhases, REVISION_KEY_SECRET, revisionKey,
  RevisionKeyInvalidError, RevisionKeyMissingError, RevisionKeyring, RevisionTamperedError, sealBytes, verifySignature,
} from '../../../apply-controller/revisions/index.ts';
import { KubeApiError } from '../../../runtime/kube-transport.ts';
import type { KubeObject, ObjectRef } from '../../../runtime/object.ts';
import { signedRevision, testKey, testKeys } from './support.ts';

const key = testKey();
const other = testKey('other', 9);
const secretText = 'password: hunter2-never-in-clear';

test('a sealed blob opens with its key only, is the same bytes every time, and holds no clear text', (t) => {
  const plain = Buffer.from(secretText);
  const sealed = sealBytes(key, plain);
  t.deepEqual(sealBytes(key, plain), sealed, 'deterministic under one key');
  t.notDeepEqual(sealBytes(other, plain), sealed);
  t.false(sealed.includes(plain));
  t.deepEqual(openBytes(key, sealed, 'blob'), plain);
  t.throws(() => openBytes(other, sealed, 'blob'), { instanceOf: RevisionTamperedError, message: /sealed with key test-1, not with the revision's key other/ });
  const flipped = Buffer.from(sealed);
  flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
  t.throws(() => openBytes(key, flipped, 'blob'), { instanceOf: RevisionTamperedError, message: /does not authenticate/ });
  t.throws(() => openBytes(key, gzipSync(plain), 'blob'), { instanceOf: RevisionTamperedError, message: /is not sealed/ });
});

test('recorded phases are sealed: no clear text and no plain gzip inside, and they decode with the key', (t) => {
  const phases = [{ name: 'default', objects: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'shop' }, stringData: { 'values.yaml': secretText } }] }];
  const encoded = encodePhases(phases, key);
  const bytes = Buffer.from(encoded.phases[0]?.objects ?? '', 'base64');
  t.false(bytes.includes(Buffer.from('hunter2')));
  t.throws(() => decodePhases(encoded.phases, other), { instanceOf: RevisionTamperedError });
  t.deepEqual(decodePhases(encoded.phases, key), phases);
});

test('new records are brotli inside the seal; records written with gzip before it still decode', (t) => {
  const phases = [{ name: 'default', objects: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'shop' }, data: { 'app.conf': 'x = 1\n'.repeat(200) } }] }];
  const encoded = encodePhases(phases, key);
  const inside = openBytes(key, Buffer.from(encoded.phases[0]?.objects ?? '', 'base64'), 'phase');
  t.not(inside[0], 0x1f, 'not gzip');
  t.is(inside[0]! & 0x0f, 0x0b, 'a brotli stream with the fixed 2^22 window');
  t.deepEqual(JSON.parse(brotliDecompressSync(inside).toString('utf8')), phases[0]?.objects);
  t.true(inside.length < 200, `compressed: ${inside.length} bytes`);
  // The same phase as a controller before brotli recorded it: gzip, sealed.
  const old = { ...encoded.phases[0]!, objects: sealBytes(key, gzipSync(JSON.stringify(phases[0]?.objects))).toString('base64') };
  t.deepEqual(decodePhases([old], key), phases);
});

test('hashes are keyed: the same data hashes differently under another key and for another purpose', (t) => {
  t.regex(keyedHash(key, 'values', 'x'), /^sha256:[0-9a-f]{64}$/);
  t.not(keyedHash(key, 'values', 'x'), keyedHash(other, 'values', 'x'));
  t.not(keyedHash(key, 'values', 'x'), keyedHash(key, 'content', 'x'));
});

const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop' }, data: { a: '1' } };
const noSlices = { get: () => Promise.reject(new Error('an inline revision needs no slice')) };

test('the signature covers the Package, the number, the source and the records', async (t) => {
  const rev = signedRevision({ revision: 3, phases: [{ name: 'default', objects: [cm] }] });
  t.notThrows(() => verifySignature(key, rev, 'rev'));
  t.deepEqual((await readRevisionPhases(noSlices, rev, testKeys(), { packageUid: 'uid-1' }))[0]?.objects, [cm]);
  const changes: Record<string, (r: PackageRevision) => void> = {
    'package uid': (r) => { r.metadata.ownerReferences = r.metadata.ownerReferences?.map((o) => ({ ...o, uid: 'uid-2' })); },
    'package name': (r) => { r.spec.packageName = 'other'; },
    'revision number': (r) => { r.spec.revision = 4; },
    'source revision': (r) => { r.spec.source.revision = `9.9.9@sha256:${'9'.repeat(64)}`; },
    'values hash': (r) => { r.spec.valuesHash = `sha256:${'f'.repeat(64)}`; },
    'records': (r) => { r.spec.phases = signedRevision({ revision: 3, phases: [{ name: 'default', objects: [] }] }).spec.phases; },
    'namespace': (r) => { r.metadata.namespace = 'elsewhere'; },
  };
  for (const [what, change] of Object.entries(changes)) {
    const changed = structuredClone(rev);
    change(changed);
    t.throws(() => verifySignature(key, changed, 'rev'), { instanceOf: RevisionTamperedError }, what);
  }
  // Signed right, but for another Package of the same name (a Package deleted and made again).
  await t.throwsAsync(readRevisionPhases(noSlices, rev, testKeys(), { packageUid: 'uid-9' }), { instanceOf: RevisionTamperedError, message: /recorded for another Package/ });
  // A key nobody holds any more.
  await t.throwsAsync(readRevisionPhases(noSlices, rev, testKeys(other)), { instanceOf: RevisionKeyMissingError });
});

/** A Secret store standing in for the apiserver: get, create and update of Secrets and Namespaces. */
function fakeSecrets(): { objects: Map<string, KubeObject>; writes: string[]; client: ConstructorParameters<typeof RevisionKeyring>[0]['client'] } {
  const objects = new Map<string, KubeObject>();
  const writes: string[] = [];
  const keyOf = (ref: ObjectRef | KubeObject): string => {
    const r = ref as { kind?: string; namespace?: string; name?: string; metadata?: { namespace?: string; name?: string } };
    return `${r.kind ?? ''}/${r.namespace ?? r.metadata?.namespace ?? ''}/${r.name ?? r.metadata?.name ?? ''}`;
  };
  const client = {
    get: <T extends KubeObject>(ref: ObjectRef) => Promise.resolve(structuredClone(objects.get(keyOf(ref))) as T | undefined),
    create: <T extends KubeObject>(obj: T) => {
      writes.push(`create ${keyOf(obj)}`);
      if (objects.has(keyOf(obj))) return Promise.reject(new KubeApiError(409, 'AlreadyExists', 'exists'));
      if (obj.kind === 'Secret' && !objects.has(`Namespace//${obj.metadata?.namespace ?? ''}`)) return Promise.reject(new KubeApiError(404, 'NotFound', 'namespace not found'));
      objects.set(keyOf(obj), structuredClone(obj));
      return Promise.resolve(obj);
    },
    update: <T extends KubeObject>(obj: T) => {
      writes.push(`update ${keyOf(obj)}`);
      objects.set(keyOf(obj), structuredClone(obj));
      return Promise.resolve(obj);
    },
  } as ConstructorParameters<typeof RevisionKeyring>[0]['client'];
  return { objects, writes, client };
}

test('the keyring creates its Secret (and a missing namespace) once, then reads it; two keyrings agree', async (t) => {
  const store = fakeSecrets();
  const keyring = new RevisionKeyring({ client: store.client, namespace: 'trellis-system' });
  const current = await keyring.current();
  t.deepEqual(store.writes, ['create Secret/trellis-system/trellis-revision-key', 'create Namespace//trellis-system', 'create Secret/trellis-system/trellis-revision-key']);
  t.is((await keyring.current()).id, current.id);
  const secret = store.objects.get(`Secret/trellis-system/${REVISION_KEY_SECRET}`) as KubeObject & { data: Record<string, string> };
  t.is(Buffer.from(secret.data[CURRENT_KEY_ENTRY] ?? '', 'base64').toString(), current.id);
  t.is(Buffer.from(secret.data[current.id] ?? '', 'base64').length, 32);
  // Another replica reads the same key.
  const replica = new RevisionKeyring({ client: store.client, namespace: 'trellis-system' });
  t.deepEqual(await replica.current(), current);
  t.is(store.writes.length, 3, 'no key is ever written again');
});

test('rotation: a new current key is used after the refresh, old keys still open their revisions, unknown ids are looked up at once', async (t) => {
  const store = fakeSecrets();
  let now = 0;
  const keyring = new RevisionKeyring({ client: store.client, namespace: 'ns', refreshMs: 60_000, now: () => now });
  store.objects.set('Namespace//ns', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } });
  const first = await keyring.current();
  const ref = `Secret/ns/${REVISION_KEY_SECRET}`;
  const secret = store.objects.get(ref) as KubeObject & { data: Record<string, string> };
  secret.data.k2 = Buffer.alloc(32, 2).toString('base64');
  secret.data[CURRENT_KEY_ENTRY] = Buffer.from('k2').toString('base64');
  t.is((await keyring.current()).id, first.id, 'until the refresh, the key in memory');
  t.is((await keyring.byId('k2')).id, 'k2', 'an unknown id reads the Secret again');
  now = 60_000;
  t.is((await keyring.current()).id, 'k2');
  t.is((await keyring.byId(first.id)).id, first.id, 'the old key still opens old revisions');
  await t.throwsAsync(keyring.byId('gone'), { instanceOf: RevisionKeyMissingError, message: /revision key "gone" is not in the trellis-revision-key Secret/ });
});

test('the key hashes are compared with is the one in memory: no read of the Secret, however old the copy', async (t) => {
  const store = fakeSecrets();
  let now = 0;
  let reads = 0;
  const counting = { ...store.client, get: <T extends KubeObject>(ref: ObjectRef) => { reads += 1; return store.client.get<T>(ref); } };
  const keyring = new RevisionKeyring({ client: counting, namespace: 'ns', refreshMs: 60_000, now: () => now });
  store.objects.set('Namespace//ns', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } });
  const first = await keyring.hashingKey();
  t.is(reads, 1, 'read once when nothing is known');
  now = 10 * 60_000;
  t.is((await keyring.hashingKey()).id, first.id);
  t.is(reads, 1);
  await keyring.current();
  t.is(reads, 2, 'a revision about to be written reads it again');
});

test('a key Secret without a usable current key is refused, never rewritten', (t) => {
  const data = (d: Record<string, string>): KubeObject & { data: Record<string, string> } => ({ apiVersion: 'v1', kind: 'Secret', metadata: {}, data: d });
  const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
  t.throws(() => keysOfSecret(data({ k1: b64(Buffer.alloc(32)) })), { instanceOf: RevisionKeyInvalidError, message: /no usable current key/ });
  t.throws(() => keysOfSecret(data({ current: b64('k1'), k1: b64(Buffer.alloc(16)) })), { instanceOf: RevisionKeyInvalidError, message: /16 bytes/ });
  // A malformed old entry does not stop the current one.
  const ok = keysOfSecret(data({ current: b64('k2'), k1: b64('short'), k2: b64(Buffer.alloc(32, 1)) }));
  t.deepEqual([...ok.keys.keys()], ['k2']);
  t.throws(() => revisionKey('current', Buffer.alloc(32)), { instanceOf: RevisionKeyInvalidError });
});
