// The client against a real Distribution registry: push an ORAS-style artifact,
// resolve it by tag, digest and semver range, pull it back byte for byte, and see
// that a second push of the same content uploads no blob.
import anyTest from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  NoMatchingVersionError, NotFoundError, OCI_EMPTY_DIGEST, OCI_INDEX_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE, PlatformSelectionError, OciClient, TRELLIS_ARTIFACT_TYPE, TRELLIS_CONFIG_MEDIA_TYPE,
  TRELLIS_CONTENT_MEDIA_TYPE, parseReference, type OciReference, type PushProgress,
} from '../../../source-controller/oci/index.ts';
import { scratchDir } from '../../support/cluster.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { startTokenAuthProxy } from '../../support/token-auth-proxy.ts';

const test = withServers(anyTest);
const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A bundle-like file of `size` random bytes in a fresh folder. */
function contentFile(size: number): { file: string; bytes: Buffer } {
  const bytes = randomBytes(size);
  const file = join(mkdtempSync(join(scratchDir('oci-content'), 'c-')), 'web-1.0.0.tgz');
  writeFileSync(file, bytes);
  return { file, bytes };
}

async function pushVersion(client: OciClient, repo: OciReference, tag: string, content: Uint8Array) {
  return client.pushArtifact(repo, {
    artifactType: TRELLIS_ARTIFACT_TYPE,
    config: { mediaType: TRELLIS_CONFIG_MEDIA_TYPE, bytes: new TextEncoder().encode(JSON.stringify({ name: 'web', version: tag })) },
    layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, bytes: content, title: `web-${tag}.tgz` }],
    annotations: { 'org.opencontainers.image.version': tag },
    tag,
  });
}

test('a pushed artifact is resolved and pulled back with identical bytes', async (t) => {
  const registry = await useRegistry();
  const client = new OciClient({ insecure: true });
  t.teardown(() => client.close());
  const repo = parseReference(`oci://${registry.host}/team/web`);
  const { file, bytes } = contentFile(3 * 1024 * 1024 + 17);
  const progress: PushProgress[] = [];
  const pushed = await client.pushArtifact(repo, {
    artifactType: TRELLIS_ARTIFACT_TYPE,
    config: { mediaType: TRELLIS_CONFIG_MEDIA_TYPE, bytes: new TextEncoder().encode('{"name":"web"}') },
    layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, file }],
    annotations: { 'org.opencontainers.image.source': 'https://git.example.com/web', 'org.opencontainers.image.version': '1.0.0' },
    tag: '1.0.0',
    onProgress: (p) => progress.push(p),
  });
  t.is(pushed.digest, sha256(pushed.manifest));
  t.is(pushed.revision, `1.0.0@${pushed.digest}`);
  t.deepEqual(pushed.blobs.map((b) => b.uploaded), [true, true]);
  const layerProgress = progress.filter((p) => p.mediaType === TRELLIS_CONTENT_MEDIA_TYPE);
  t.is(layerProgress.at(-1)?.sent, bytes.length, 'progress reaches the layer size');
  t.true(layerProgress.length > 1, 'a 3 MiB upload reports progress more than once');

  const resolved = await client.resolve(repo, { tag: '1.0.0' });
  t.is(resolved.digest, pushed.digest);
  t.is(resolved.revision, `1.0.0@${pushed.digest}`);
  t.is(resolved.size, pushed.size);

  const dest = mkdtempSync(join(scratchDir('oci-pull'), 'p-'));
  const pulled = await client.pullArtifact(repo, { tag: '1.0.0' }, dest, { maxBytes: 10 * 1024 * 1024 });
  // Compare digests: AVA's deep diff of multi-megabyte buffers takes seconds.
  t.is(sha256(readFileSync(pulled.file)), sha256(bytes));
  t.is(pulled.layer.annotations?.['org.opencontainers.image.title'], 'web-1.0.0.tgz');
  t.is(pulled.annotations['org.opencontainers.image.source'], 'https://git.example.com/web');
  t.is(pulled.manifest.artifactType, TRELLIS_ARTIFACT_TYPE);
  t.is(pulled.revision, resolved.revision);
  t.is(pulled.operation, 'extract');
  const config = await client.fetchBlobBytes(repo, pulled.manifest.config);
  t.is(config.toString(), '{"name":"web"}');
});

test('pushing the same artifact twice uploads no blob twice and gives the same digest', async (t) => {
  const registry = await useRegistry();
  const client = new OciClient({ insecure: true });
  t.teardown(() => client.close());
  const repo = parseReference(`oci://${registry.host}/team/again`);
  const content = randomBytes(200_000);
  const first = await pushVersion(client, repo, '1.0.0', content);
  // The second push goes through a recording proxy, to see what was actually sent.
  const proxy = await startTokenAuthProxy({ upstream: registry, auth: 'none' });
  t.teardown(() => proxy.stop());
  const second = await pushVersion(client, parseReference(`oci://${proxy.host}/team/again`), '1.0.0', content);
  t.deepEqual(first.blobs.map((b) => b.uploaded), [true, true]);
  t.deepEqual(second.blobs.map((b) => b.uploaded), [false, false]);
  t.is(second.digest, first.digest);
  t.deepEqual(proxy.requests.map((r) => `${r.method} ${r.path.replace(/sha256:[a-f0-9]+/, 'D')} ${r.status}`), [
    'HEAD /v2/team/again/blobs/D 200', 'HEAD /v2/team/again/blobs/D 200', 'PUT /v2/team/again/manifests/1.0.0 201',
  ], 'only existence checks and the manifest');
  // A new version with the same content shares the layer: only the new config is sent.
  const third = await pushVersion(client, repo, '1.0.1', content);
  t.deepEqual(third.blobs.map((b) => [b.mediaType, b.uploaded]), [[TRELLIS_CONFIG_MEDIA_TYPE, true], [TRELLIS_CONTENT_MEDIA_TYPE, false]]);
  const direct = await client.pushBlob(repo, { bytes: content });
  t.false(direct.uploaded);
});

test('an artifact without a config gets the ORAS empty config; digest refs resolve and pull', async (t) => {
  const registry = await useRegistry();
  const client = new OciClient({ insecure: true });
  t.teardown(() => client.close());
  const repo = parseReference(`oci://${registry.host}/plain`);
  const content = randomBytes(1000);
  const pushed = await client.pushArtifact(repo, { artifactType: 'application/vnd.example', layers: [{ mediaType: 'text/plain', bytes: content }] });
  t.is(pushed.reference.tag, undefined, 'pushed by digest only');
  const fetched = await client.fetchManifest(repo, pushed.digest);
  t.is(fetched.manifest.config.digest, OCI_EMPTY_DIGEST);
  const byDigest = await client.resolve(repo, { digest: pushed.digest });
  t.is(byDigest.revision, pushed.digest);
  const dest = mkdtempSync(join(scratchDir('oci-pull'), 'p-'));
  const pulled = await client.pullArtifact(repo, { digest: pushed.digest }, dest, { layerSelector: { mediaType: 'text/plain', operation: 'copy' } });
  t.true(readFileSync(pulled.file).equals(content));
  t.is(pulled.operation, 'copy');
  t.is(pulled.revision, pushed.digest);
});

test('tag() points a new tag at an existing manifest without uploading anything', async (t) => {
  const registry = await useRegistry();
  const client = new OciClient({ insecure: true });
  t.teardown(() => client.close());
  const repo = parseReference(`oci://${registry.host}/team/tagged`);
  const pushed = await pushVersion(client, repo, '2.0.0', randomBytes(100));
  t.is(await client.tag(repo, '2.0.0', 'stable'), pushed.digest);
  t.is((await client.resolve(repo, { tag: 'stable' })).digest, pushed.digest);
});

test('a semver range selects the highest matching tag across several pages of the tag list', async (t) => {
  const registry = await useRegistry();
  const client = new OciClient({ insecure: true });
  t.teardown(() => client.close());
  const repo = parseReference(`oci://${registry.host}/team/versions`);
  const digests = new Map<string, string>();
  for (const tag of ['0.9.0', '1.0.0', '1.2.0', 'v1.10.3', '1.11.0-rc.1', '2.0.0', 'latest', 'main-abc123']) {
    digests.set(tag, (await pushVersion(client, repo, tag, Buffer.from(tag))).digest);
  }
  // Distribution 2.8 returns every tag in one page; the proxy pages them by `n` like the spec says.
  const proxy = await startTokenAuthProxy({ upstream: registry, auth: 'none', paginateTags: true });
  t.teardown(() => proxy.stop());
  const paged = parseReference(`oci://${proxy.host}/team/versions`);
  const tags = await client.listTags(paged, { pageSize: 3 });
  t.deepEqual([...tags].sort(), [...digests.keys()].sort());
  const pages = proxy.requests.filter((r) => r.path.includes('/tags/list'));
  t.is(pages.length, 3, '8 tags in pages of 3');

  const resolved = await client.resolve(paged, { semver: '^1.0.0' }, { pageSize: 3 });
  t.is(resolved.tag, 'v1.10.3');
  t.is(resolved.digest, digests.get('v1.10.3')!);
  t.is(resolved.revision, `v1.10.3@${digests.get('v1.10.3')}`);
  t.is((await client.resolve(paged, { semver: '~1.0' }, { pageSize: 3 })).tag, '1.0.0');
  t.is((await client.resolve(repo, { semver: '>=1.11.0-rc.0 <2' })).tag, '1.11.0-rc.1', 'unpaged, straight from the registry');

  const err = await t.throwsAsync(client.resolve(paged, { semver: '^3' }, { pageSize: 3 }), { instanceOf: NoMatchingVersionError });
  t.regex(err.message, /no tag of 127\.0\.0\.1:\d+\/team\/versions matches semver range "\^3" \(8 tags; highest versions: 2\.0\.0/);
});

test('a tag or a repository that does not exist is NotFound, naming the reference', async (t) => {
  const registry = await useRegistry();
  const client = new OciClient({ insecure: true });
  t.teardown(() => client.close());
  const repo = parseReference(`oci://${registry.host}/team/exists`);
  await pushVersion(client, repo, '1.0.0', randomBytes(10));
  const missingTag = await t.throwsAsync(client.resolve(repo, { tag: '9.9.9' }), { instanceOf: NotFoundError });
  t.regex(missingTag.message, new RegExp(`manifest ${registry.host}/team/exists:9\\.9\\.9 not found`));
  t.is(missingTag.reason, 'NotFound');
  const dest = mkdtempSync(join(scratchDir('oci-pull'), 'p-'));
  await t.throwsAsync(client.pullArtifact(repo, { tag: '9.9.9' }, dest), { instanceOf: NotFoundError });
  const missingDigest = `sha256:${'0'.repeat(64)}`;
  await t.throwsAsync(client.resolve(repo, { digest: missingDigest }), { instanceOf: NotFoundError, message: new RegExp(missingDigest) });
  await t.throwsAsync(client.listTags(parseReference(`oci://${registry.host}/no/such/repo`)), { instanceOf: NotFoundError, message: /NAME_UNKNOWN/ });
  t.deepEqual(readdirSync(dest), []);
});

test('an image index is refused without a platform and followed to the selected one', async (t) => {
  const registry = await useRegistry();
  const client = new OciClient({ insecure: true });
  t.teardown(() => client.close());
  const repo = parseReference(`oci://${registry.host}/team/multi`);
  const contents = { amd64: randomBytes(300), arm64: randomBytes(400) };
  const entries = [];
  for (const architecture of ['amd64', 'arm64'] as const) {
    const pushed = await client.pushArtifact(repo, { layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, bytes: contents[architecture] }] });
    entries.push({ mediaType: OCI_MANIFEST_MEDIA_TYPE, digest: pushed.digest, size: pushed.size, platform: { os: 'linux', architecture } });
  }
  const index = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX_MEDIA_TYPE, manifests: entries }));
  const { digest: indexDigest } = await client.pushManifest(repo, 'multi', index, OCI_INDEX_MEDIA_TYPE);
  const resolved = await client.resolve(repo, { tag: 'multi' });
  t.is(resolved.mediaType, OCI_INDEX_MEDIA_TYPE);
  t.is(resolved.digest, indexDigest);

  const dest = mkdtempSync(join(scratchDir('oci-pull'), 'p-'));
  const err = await t.throwsAsync(client.pullArtifact(repo, { tag: 'multi' }, dest), { instanceOf: PlatformSelectionError });
  t.regex(err.message, /image index \(platforms: linux\/amd64, linux\/arm64\); select a platform/);
  t.is(err.reason, 'PlatformRequired');
  const pulled = await client.pullArtifact(repo, { tag: 'multi' }, dest, { platform: { os: 'linux', architecture: 'arm64' } });
  t.true(readFileSync(pulled.file).equals(contents.arm64));
  t.is(pulled.digest, indexDigest, 'the revision names what the tag points at');
  t.is(pulled.manifestDigest, entries[1]!.digest);
  await t.throwsAsync(client.pullArtifact(repo, { tag: 'multi' }, dest, { platform: { os: 'linux', architecture: 's390x' } }),
    { instanceOf: PlatformSelectionError, message: /no manifest for linux\/s390x/ });
});
