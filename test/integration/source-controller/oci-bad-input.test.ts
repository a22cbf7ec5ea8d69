// Bad input for the OCIRepository reconciler, against the real registry (its storage
// tampered with on disk where a well-behaved registry would refuse the push): each
// case sets the right condition and KEEPS the last good artifact, stored and served.
import anyTest, { type ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import type { OCIRepository } from '../../../source-controller/api.ts';
import { OCI_MANIFEST_MEDIA_TYPE } from '../../../source-controller/oci/index.ts';
import { withCluster } from '../../support/cluster.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { craftTarGz, type CraftedEntry } from '../../unit/archive/craft.ts';
import {
  blobPath, keepsArtifact, layerOf, plantManifest, pushLayer, registryWithStorage, startManifestRewriter,
} from './oci-support.ts';
import { conditionOf, download, useSourceHarness, type SourceHarness } from './support.ts';

const test = withServers(withCluster(anyTest));

/** A source following `latest` of `repository` with one good artifact published. */
async function goodSource(t: ExecutionContext, h: SourceHarness, host: string, repository: string, name: string,
  spec: Record<string, unknown> = {}) {
  await pushLayer(host, repository, 'latest', layerOf({ 'good.txt': 'good\n' }));
  await h.createOci(name, { url: `oci://${host}/${repository}`, insecure: true, interval: '20s', ...spec });
  t.is((await h.reconcile('OCIRepository', name)).kind, 'requeue');
  return (await h.get<OCIRepository>('OCIRepository', name))!.status!.artifact!;
}

test('a tag that does not exist and a semver range nothing matches: FetchFailed, retried at the interval, the artifact kept', async (t) => {
  const h = await useSourceHarness(t);
  const registry = await useRegistry();
  const good = await goodSource(t, h, registry.host, 'team/missing', 'missing');
  for (const [ref, reason, pattern] of [
    [{ tag: '9.9.9' }, 'NotFound', /9\.9\.9 not found \(HTTP 404/],
    [{ semver: '>=3.0.0' }, 'NoMatchingVersion', />=3\.0\.0/],
  ] as const) {
    await h.patchSpec('OCIRepository', 'missing', { ref: Object.assign({ tag: null, semver: null }, ref) });
    t.like(await h.reconcile('OCIRepository', 'missing'), { kind: 'waiting', reason, afterMs: 20_000 });
    const obj = await h.get<OCIRepository>('OCIRepository', 'missing');
    t.like(conditionOf(obj, 'FetchFailed'), { status: 'True', reason });
    t.regex(conditionOf(obj, 'FetchFailed')!.message, pattern);
    t.like(conditionOf(obj, 'Ready'), { status: 'False', reason });
    await keepsArtifact(t, h, 'missing', good);
    t.true((await h.events('missing')).some((e) => e.type === 'Warning' && e.reason === reason));
  }
});

test('a layer whose stored bytes do not match its digest: FetchFailed DigestMismatch, nothing stored, the artifact kept', async (t) => {
  const h = await useSourceHarness(t);
  const { registry, storage } = await registryWithStorage(t);
  const good = await goodSource(t, h, registry.host, 'team/corrupt', 'corrupt');
  const layer = layerOf({ 'new.txt': 'new content\n' });
  const pushed = await pushLayer(registry.host, 'team/corrupt', 'latest', layer);
  const tampered = Buffer.from(layer);
  tampered[tampered.length - 10] = (tampered[tampered.length - 10]! + 1) % 256;
  writeFileSync(blobPath(storage, pushed.layerDigest), tampered);
  t.like(await h.reconcile('OCIRepository', 'corrupt'), { kind: 'waiting', reason: 'DigestMismatch', afterMs: 20_000 });
  t.like(conditionOf(await h.get<OCIRepository>('OCIRepository', 'corrupt'), 'FetchFailed'), { status: 'True', reason: 'DigestMismatch' });
  await keepsArtifact(t, h, 'corrupt', good);
});

test('a manifest that is not JSON, and one that is JSON but no valid manifest: FetchFailed ManifestInvalid, the artifact kept', async (t) => {
  const h = await useSourceHarness(t);
  const registry = await useRegistry();
  const rewriter = await startManifestRewriter(registry);
  t.teardown(() => rewriter.stop());
  const good = await goodSource(t, h, rewriter.host, 'team/manifests', 'manifests');
  const invalid = {
    schemaVersion: 2, mediaType: OCI_MANIFEST_MEDIA_TYPE,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'not-a-digest', size: -4 }, layers: [],
  };
  for (const [bytes, pattern] of [
    [Buffer.from('this is not json {'), /not valid JSON|not JSON/i],
    [Buffer.from(JSON.stringify(invalid)), /invalid digest "not-a-digest"/],
  ] as const) {
    rewriter.serve('team/manifests', 'latest', bytes);
    t.like(await h.reconcile('OCIRepository', 'manifests'), { kind: 'waiting', reason: 'ManifestInvalid', afterMs: 20_000 });
    const failed = conditionOf(await h.get<OCIRepository>('OCIRepository', 'manifests'), 'FetchFailed');
    t.like(failed, { status: 'True', reason: 'ManifestInvalid' });
    t.regex(failed!.message, pattern);
    await keepsArtifact(t, h, 'manifests', good);
  }
});

test('a non-JSON manifest stored in Distribution itself: the registry answers 500, a transient FetchFailed, the artifact kept', async (t) => {
  const h = await useSourceHarness(t);
  const { registry, storage } = await registryWithStorage(t);
  const good = await goodSource(t, h, registry.host, 'team/garbage', 'garbage');
  plantManifest(storage, 'team/garbage', 'latest', Buffer.from('this is not json {'));
  t.like(await h.reconcile('OCIRepository', 'garbage'), { kind: 'waiting', reason: 'RegistryError', afterMs: 1000 });
  t.regex(conditionOf(await h.get<OCIRepository>('OCIRepository', 'garbage'), 'FetchFailed')!.message, /HTTP 500/);
  await keepsArtifact(t, h, 'garbage', good);
});

test('unsafe layers are refused with extract (ArtifactFailed UnsafeArchive), the artifact kept; copy stores the verified layer as it is', async (t) => {
  const h = await useSourceHarness(t, { limits: { maxExtractBytes: 1024 * 1024, maxEntries: 100 } });
  const registry = await useRegistry();
  const good = await goodSource(t, h, registry.host, 'team/unsafe', 'unsafe');
  const many = Array.from({ length: 150 }, (_, i): CraftedEntry => ({ path: `f${i}.txt`, body: 'x' }));
  const cases: Array<[string, readonly CraftedEntry[], RegExp]> = [
    ['dot-dot', [{ path: 'ok.txt', body: 'ok' }, { path: '../escape.txt', body: 'x' }], /path-traversal/],
    ['absolute', [{ path: '/etc/cron.d/evil', body: 'x' }], /absolute-path/],
    ['symlink', [{ path: 'link', type: 'SymbolicLink', linkpath: '/etc/passwd' }], /\(link\)/],
    ['hard link', [{ path: 'a.txt', body: 'a' }, { path: 'hard', type: 'Link', linkpath: 'a.txt' }], /\(link\)/],
    ['device', [{ path: 'dev', type: 'CharacterDevice' }], /\(device\)/],
    ['bomb by size', [{ path: 'zeros', body: Buffer.alloc(3 * 1024 * 1024) }], /too-large|decompression-bomb/],
    ['bomb by entries', many, /too-many-entries/],
  ];
  for (const [what, entries, pattern] of cases) {
    await pushLayer(registry.host, 'team/unsafe', 'latest', craftTarGz(entries));
    t.like(await h.reconcile('OCIRepository', 'unsafe'), { kind: 'waiting', reason: 'UnsafeArchive' }, what);
    const obj = await h.get<OCIRepository>('OCIRepository', 'unsafe');
    t.like(conditionOf(obj, 'ArtifactFailed'), { status: 'True', reason: 'UnsafeArchive' }, what);
    t.regex(conditionOf(obj, 'ArtifactFailed')!.message, pattern, what);
    t.is(conditionOf(obj, 'FetchFailed'), undefined, `${what}: the download itself was fine`);
    await keepsArtifact(t, h, 'unsafe', good);
  }

  // With copy the layer is stored byte for byte, digest-verified and never unpacked.
  const raw = craftTarGz([{ path: '../escape.txt', body: 'x' }]);
  const pushed = await pushLayer(registry.host, 'team/unsafe', 'raw', raw);
  await h.createOci('copy', { url: `oci://${registry.host}/team/unsafe`, insecure: true, ref: { tag: 'raw' }, layerSelector: { operation: 'copy' } });
  t.is((await h.reconcile('OCIRepository', 'copy')).kind, 'requeue');
  const copied = (await h.get<OCIRepository>('OCIRepository', 'copy'))!.status!.artifact!;
  t.is(copied.digest, pushed.layerDigest, 'the artifact is the layer itself');
  t.true((await download(copied.url)).equals(raw));
});

test('layerSelector picks a layer by media type; one the manifest lacks is LayerNotFound', async (t) => {
  const h = await useSourceHarness(t);
  const registry = await useRegistry();
  const custom = 'application/vnd.example.config.v1.tar+gzip';
  const pushed = await pushLayer(registry.host, 'team/custom', '1.0.0', layerOf({ 'c.txt': 'custom\n' }), { mediaType: custom });
  await h.createOci('custom', { url: `oci://${registry.host}/team/custom`, insecure: true, ref: { tag: '1.0.0' }, layerSelector: { mediaType: custom } });
  t.is((await h.reconcile('OCIRepository', 'custom')).kind, 'requeue');
  t.is((await h.get<OCIRepository>('OCIRepository', 'custom'))?.status?.artifact?.revision, `1.0.0@${pushed.digest}`);
  await h.createOci('default-layer', { url: `oci://${registry.host}/team/custom`, insecure: true, ref: { tag: '1.0.0' } });
  t.like(await h.reconcile('OCIRepository', 'default-layer'), { kind: 'waiting', reason: 'LayerNotFound' });
  t.regex(conditionOf(await h.get<OCIRepository>('OCIRepository', 'default-layer'), 'FetchFailed')!.message, /set layerSelector\.mediaType/);
});
