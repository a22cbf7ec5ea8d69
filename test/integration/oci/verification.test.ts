// What the client refuses, against a real registry whose storage was tampered
// with on disk (the registry serves whatever its filesystem holds): blobs whose
// bytes do not match their digest, descriptors that lie about sizes, manifests
// that are invalid or altered, and blobs over the size limit. Nothing is left on
// disk after a refusal.
import anyTest, { type ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../../../hack/registry.ts';
import {
  DigestMismatchError, ManifestInvalidError, OCI_MANIFEST_MEDIA_TYPE, OciClient, RegistryError, SizeLimitError,
  TRELLIS_CONTENT_MEDIA_TYPE, parseReference, type OciReference,
} from '../../../source-controller/oci/index.ts';
import { scratchDir } from '../../support/cluster.ts';

const test = anyTest;
const hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A registry whose storage folder the test can reach. */
async function registryWithStorage(): Promise<{ registry: Registry; storage: string }> {
  const dir = scratchDir('oci-registry');
  const registry = await startRegistry({ dir, log: () => undefined });
  return { registry, storage: join(dir, 'storage', 'docker', 'registry', 'v2') };
}

const blobData = (storage: string, digestHex: string): string => join(storage, 'blobs', 'sha256', digestHex.slice(0, 2), digestHex, 'data');

/**
 * Stores `bytes` as a manifest of `repository` tagged `tag` directly in the
 * registry's filesystem, the way the registry itself lays it out — bypassing the
 * validation a PUT would do, like a registry less strict than Distribution.
 */
function plantManifest(storage: string, repository: string, tag: string, bytes: Uint8Array): string {
  const h = hex(bytes);
  mkdirSync(join(storage, 'blobs', 'sha256', h.slice(0, 2), h), { recursive: true });
  writeFileSync(blobData(storage, h), bytes);
  const manifests = join(storage, 'repositories', repository, '_manifests');
  for (const link of [join(manifests, 'revisions', 'sha256', h), join(manifests, 'tags', tag, 'current'), join(manifests, 'tags', tag, 'index', 'sha256', h)]) {
    mkdirSync(link, { recursive: true });
    writeFileSync(join(link, 'link'), `sha256:${h}`);
  }
  return `sha256:${h}`;
}

function emptyDir(): string {
  return mkdtempSync(join(scratchDir('oci-pull'), 'p-'));
}

async function setup(t: ExecutionContext, name: string) {
  const { registry, storage } = await registryWithStorage();
  const client = new OciClient({ insecure: true, maxRetries: 1 });
  t.teardown(async () => { client.close(); await registry.stop(); });
  const repo: OciReference = parseReference(`oci://${registry.host}/${name}`);
  return { registry, storage, client, repo };
}

test('a blob whose stored bytes were altered is a DigestMismatch and leaves no file', async (t) => {
  const { storage, client, repo } = await setup(t, 'team/corrupt');
  const content = randomBytes(50_000);
  const pushed = await client.pushArtifact(repo, { layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, bytes: content }], tag: '1.0.0' });
  const layerHex = hex(content);
  const altered = Buffer.from(content);
  altered[100] = altered[100]! ^ 0xff;
  writeFileSync(blobData(storage, layerHex), altered);

  const dest = emptyDir();
  const err = await t.throwsAsync(client.pullArtifact(repo, { tag: '1.0.0' }, dest), { instanceOf: DigestMismatchError });
  t.is(err.expected, `sha256:${layerHex}`);
  t.is(err.actual, `sha256:${hex(altered)}`);
  t.is(err.reason, 'DigestMismatch');
  t.deepEqual(readdirSync(dest), [], 'neither the layer nor a temp file is left');
  t.truthy(pushed.digest);
});

test('descriptors that lie about the size are DigestMismatch, in both directions', async (t) => {
  const { client, repo } = await setup(t, 'team/sizes');
  const content = randomBytes(10_000);
  const layer = await client.pushBlob(repo, { bytes: content });
  const config = await client.pushBlob(repo, { bytes: new TextEncoder().encode('{}') });
  for (const [tag, size, message] of [['smaller', 4_000, /more bytes arrived than the descriptor's size of 4000/], ['larger', 20_000, /got 10000 bytes, the descriptor says 20000/]] as const) {
    // Distribution accepts these manifests: it checks that the blobs exist, not their sizes.
    const manifest = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_MANIFEST_MEDIA_TYPE,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: config.digest, size: config.size },
      layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, digest: layer.digest, size }],
    }));
    await client.pushManifest(repo, tag, manifest, OCI_MANIFEST_MEDIA_TYPE);
    const dest = emptyDir();
    await t.throwsAsync(client.pullArtifact(repo, { tag }, dest, { maxBytes: 1_000_000 }), { instanceOf: DigestMismatchError, message });
    t.deepEqual(readdirSync(dest), [], tag);
  }
});

test('a stored manifest that is JSON but not a valid manifest is ManifestInvalid', async (t) => {
  const { storage, client, repo } = await setup(t, 'team/invalid');
  const bad = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST_MEDIA_TYPE,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'not-a-digest', size: -4 }, layers: [],
  }));
  const digest = plantManifest(storage, 'team/invalid', 'broken', bad);
  const resolved = await client.resolve(repo, { tag: 'broken' });
  t.is(resolved.digest, digest, 'the registry serves it, with a correct digest');
  const err = await t.throwsAsync(client.fetchManifest(repo, 'broken'), { instanceOf: ManifestInvalidError });
  t.regex(err.message, /config has an invalid digest "not-a-digest"/);
  t.is(err.reason, 'ManifestInvalid');
  const dest = emptyDir();
  await t.throwsAsync(client.pullArtifact(repo, { tag: 'broken' }, dest), { instanceOf: ManifestInvalidError });
  t.deepEqual(readdirSync(dest), []);
});

test('a stored manifest that is not JSON: Distribution refuses to serve it (500), a bounded RegistryError', async (t) => {
  const { storage, client, repo } = await setup(t, 'team/garbage');
  plantManifest(storage, 'team/garbage', 'garbage', new TextEncoder().encode('this is not json'));
  // Distribution parses manifests before serving them, so the bytes never reach the
  // client; the client's own check for non-JSON bytes is covered in test/unit/oci/manifest.test.ts.
  const err = await t.throwsAsync(client.fetchManifest(repo, 'garbage'), { instanceOf: RegistryError });
  t.regex(err.message, /HTTP 500.* after 2 attempts/);
  t.true(err.transient);
});

test('a stored manifest whose bytes were altered no longer matches its digest', async (t) => {
  const { storage, client, repo } = await setup(t, 'team/altered');
  const pushed = await client.pushArtifact(repo, { layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, bytes: randomBytes(100) }], tag: '1.0.0' });
  const file = blobData(storage, pushed.digest.slice('sha256:'.length));
  // Still valid JSON, one byte longer: the registry serves it under the old digest.
  writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from(' ')]));
  const byTag = await t.throwsAsync(client.fetchManifest(repo, '1.0.0'), { instanceOf: DigestMismatchError });
  t.regex(byTag.message, /does not match Docker-Content-Digest/);
  const byDigest = await t.throwsAsync(client.fetchManifest(repo, pushed.digest), { instanceOf: DigestMismatchError });
  t.regex(byDigest.message, /does not match the reference/);
});

test('a layer over the size limit is refused before download; nothing is written', async (t) => {
  const { client, repo } = await setup(t, 'team/big');
  const content = randomBytes(300_000);
  await client.pushArtifact(repo, { layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, bytes: content }], tag: '1.0.0' });
  const dest = emptyDir();
  const err = await t.throwsAsync(client.pullArtifact(repo, { tag: '1.0.0' }, dest, { maxBytes: 100_000 }), { instanceOf: SizeLimitError });
  t.regex(err.message, /300000 bytes, over the size limit of 100000/);
  t.is(err.limit, 100_000);
  t.deepEqual(readdirSync(dest), []);
  const ok = await client.pullArtifact(repo, { tag: '1.0.0' }, dest, { maxBytes: 300_000 });
  t.true(readFileSync(ok.file).equals(content), 'exactly at the limit is allowed');
});
