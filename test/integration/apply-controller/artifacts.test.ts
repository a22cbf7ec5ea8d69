// Artifacts and apply refusals against the real apiserver and a real artifact
// server: a digest that does not match, a hostile archive, an unreachable server,
// a package too large to record, and an immutable field changed with and without
// `force`. Each refusal applies nothing. The download itself against a plain HTTP
// server: redirects, errors, oversize and stalled bodies.
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import anyTest from 'ava';
import { revisionSliceResource } from '../../../apply-controller/api.ts';
import { ArtifactCache, ArtifactError, type ArtifactErrorReason } from '../../../apply-controller/artifact.ts';
import type { PackageController } from '../../../apply-controller/reconcile/controller.ts';
import { listRevisions } from '../../../apply-controller/revisions/index.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { craftTarGz } from '../../unit/archive/craft.ts';
import {
  adminClient, ArtifactPublisher, conditionOf, configMap, createPackage, createSource, deployment, getObject, isReadyAt, isStalled,
  patchSpec, releasePackagesOnTeardown, runLabel, setArtifact, startPackageController, waitForPackage, yamlOf,
} from './support.ts';

const test = withCluster(anyTest);
const label = runLabel();
const small = runLabel();
let publisher: ArtifactPublisher;
let packages: PackageController;
const stops: (() => Promise<void>)[] = [];

test.before(async () => {
  const cluster = await useCluster();
  publisher = await ArtifactPublisher.start();
  const started = await startPackageController(cluster, label.selector);
  packages = started.packages;
  const limited = await startPackageController(cluster, small.selector, { revisionSizeLimit: 4_000 });
  stops.push(() => started.packages.stop(), () => limited.packages.stop());
});

test.after.always(async () => {
  await Promise.all(stops.map((stop) => stop()));
  await publisher?.stop();
});

test('an artifact whose bytes do not match its published digest is refused before it is unpacked', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const good = await publisher.publish(ns, 'src', { 'a.yaml': [configMap('first', {})] });
  await createSource(client, ns, 'src', good);
  await createPackage(client, ns, 'pkg', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  await waitForPackage(client, ns, 'pkg', (p) => isReadyAt(p, good.revision));

  const next = await publisher.publish(ns, 'src', { 'a.yaml': [configMap('first', {}), configMap('second', {})] });
  const claimed = `sha256:${'0'.repeat(64)}`;
  await setArtifact(client, ns, 'src', { ...next, digest: claimed, revision: `1.9.0@${claimed}` });
  const refused = await waitForPackage(client, ns, 'pkg', (p) => conditionOf(p, 'ArtifactFailed')?.reason === 'DigestMismatch');
  t.true(conditionOf(refused, 'ArtifactFailed')?.message.includes(`not the published ${claimed}`));
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'second'), undefined, 'nothing of it was applied');
  t.false(await packages.artifacts.has(claimed), 'nothing of it was kept');
  t.false(await packages.artifacts.has(next.digest));
  t.is(refused.status?.lastAppliedRevision, good.revision);
});

test('a hostile archive is refused as unsafe and nothing lands outside the cache', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const escapee = `escape-${randomBytes(4).toString('hex')}.yaml`;
  const hostile = await publisher.publishBytes(ns, 'src', craftTarGz([
    { path: 'ok.yaml', body: yamlOf([configMap('innocent', {})]) },
    { path: `../${escapee}`, body: yamlOf([configMap('escaped', {})]) },
  ]));
  await createSource(client, ns, 'src', hostile);
  await createPackage(client, ns, 'pkg', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  const stalled = await waitForPackage(client, ns, 'pkg', (p) => isStalled(p, 'UnsafeArchive'));
  t.regex(conditionOf(stalled, 'ArtifactFailed')?.message ?? '', /path-traversal/);
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'innocent'), undefined);
  t.false(existsSync(join(dirname(packages.artifacts.dir), escapee)));
  t.false(existsSync(join(packages.artifacts.dir, escapee)));
  t.false(readdirSync(packages.artifacts.dir).some((name) => name === hostile.digest.slice('sha256:'.length)));
});

test('an unreachable artifact server is retried, and the next artifact is applied', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const real = await publisher.publish(ns, 'src', { 'a.yaml': [configMap('arrives', {})] });
  await createSource(client, ns, 'src', { ...real, url: real.url.replace(/:\d+\//, ':9/') });
  await createPackage(client, ns, 'pkg', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  const failing = await waitForPackage(client, ns, 'pkg', (p) => conditionOf(p, 'ArtifactFailed')?.reason === 'DownloadFailed');
  t.is(conditionOf(failing, 'Stalled'), undefined, 'a download failure is retried, not stalled');
  t.is(conditionOf(failing, 'Reconciling')?.status, 'True');
  await setArtifact(client, ns, 'src', real);
  await waitForPackage(client, ns, 'pkg', (p) => isReadyAt(p, real.revision));
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'arrives'));
});

test('a package too large to record in a PackageRevision stalls with its size and the limit', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const big = await publisher.publish(ns, 'src', { 'big.yaml': [configMap('big', { blob: randomBytes(6_000).toString('base64') })] });
  await createSource(client, ns, 'src', big);
  await createPackage(client, ns, 'pkg', small, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  const stalled = await waitForPackage(client, ns, 'pkg', (p) => isStalled(p, 'RevisionTooLarge'));
  t.regex(conditionOf(stalled, 'Stalled')?.message ?? '', /take \d+ bytes compressed, more than the 4000 bytes a PackageRevision can record/);
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'big'), undefined, 'nothing is applied without its record');
  t.is((await listRevisions(client, ns, 'pkg')).length, 0);
  // The cap counts what slices would hold too, and is checked before any slice is written.
  const { items: slices } = await client.list({ apiVersion: revisionSliceResource.apiVersion, kind: revisionSliceResource.kind, namespace: ns });
  t.is(slices.length, 0);
});

test('an immutable field change is refused without force and re-creates the object with it', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const v1 = await publisher.publish(ns, 'src', { 'web.yaml': [deployment('web')] });
  await createSource(client, ns, 'src', v1);
  await createPackage(client, ns, 'pkg', label, { sourceRef: { kind: 'OCIRepository', name: 'src' } });
  await waitForPackage(client, ns, 'pkg', (p) => isReadyAt(p, v1.revision));
  const before = await getObject(client, 'apps/v1', 'Deployment', ns, 'web');

  const changed = deployment('web') as { spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> } } } };
  changed.spec.selector.matchLabels = { app: 'web', track: 'new' };
  changed.spec.template.metadata.labels = { app: 'web', track: 'new' };
  const v2 = await publisher.publish(ns, 'src', { 'web.yaml': [changed] });
  await setArtifact(client, ns, 'src', v2);
  const refused = await waitForPackage(client, ns, 'pkg', (p) => isStalled(p, 'ImmutableFieldChanged'));
  t.regex(conditionOf(refused, 'ApplyFailed')?.message ?? '', new RegExp(`Deployment/${ns}/web: .*force`));
  t.is((await getObject(client, 'apps/v1', 'Deployment', ns, 'web'))?.metadata?.uid, before?.metadata?.uid);

  await patchSpec(client, ns, 'pkg', { force: true });
  await waitForPackage(client, ns, 'pkg', (p) => isReadyAt(p, v2.revision), 90_000);
  const after = await getObject<KubeObject & { spec?: { selector?: { matchLabels?: Record<string, string> } } }>(client, 'apps/v1', 'Deployment', ns, 'web');
  t.not(after?.metadata?.uid, before?.metadata?.uid, 're-created');
  t.is(after?.spec?.selector?.matchLabels?.track, 'new');
});

test('the artifact cache downloads each digest once, shares concurrent downloads, and collects the least recently used', async (t) => {
  const cache = new ArtifactCache({ dir: scratchDir('cache-unit'), maxEntries: 1 });
  const a = await publisher.publish('cache', 'a', { 'a.yaml': [configMap('a', {})] });
  const b = await publisher.publish('cache', 'b', { 'b.yaml': [configMap('b', {})] });
  const read = (dir: string) => Promise.resolve(readdirSync(dir).sort());
  const [first, second] = await Promise.all([cache.withArtifact(a, read), cache.withArtifact(a, read)]);
  t.deepEqual(first, ['a.yaml']);
  t.deepEqual(second, ['a.yaml']);
  t.is(cache.stats.downloads, 1, 'two concurrent callers, one download');
  await cache.withArtifact(a, read);
  t.is(cache.stats.downloads, 1);
  t.is(cache.stats.hits, 1);
  // While `a` is held, unpacking `b` beyond the limit of one must not remove it.
  await cache.withArtifact(a, async () => {
    await cache.withArtifact(b, read);
    t.true(await cache.has(a.digest), 'a held artifact is never collected');
  });
  await cache.withArtifact(b, read);
  const c = await publisher.publish('cache', 'c', { 'c.yaml': [configMap('c', {})] });
  await cache.withArtifact(c, read);
  t.false(await cache.has(a.digest), 'the least recently used one was collected');
  t.true(await cache.has(c.digest));
  await t.throwsAsync(cache.withArtifact({ ...a, digest: 'md5:abc' }, read), { message: /not sha256/ });
});

test.serial('artifacts are downloaded without fetch, and a redirect, an HTTP error, an oversize or a stalled body leave nothing behind', async (t) => {
  const a = await publisher.publish('download', 'a', { 'a.yaml': [configMap('a', {})] });
  const read = (dir: string) => Promise.resolve(readdirSync(dir).sort());
  // Node's fetch compiles a WebAssembly HTTP parser that costs the controller memory (development notes, session 25).
  const original = globalThis.fetch;
  globalThis.fetch = () => Promise.reject(new Error('the artifact cache must not use fetch'));
  try {
    t.deepEqual(await new ArtifactCache({ dir: scratchDir('cache-download') }).withArtifact(a, read), ['a.yaml']);
  } finally {
    globalThis.fetch = original;
  }

  const server = createServer((req, res) => {
    if (req.url === '/moved.tar.gz') res.writeHead(302, { location: a.url }).end();
    else if (req.url === '/large.tar.gz') res.writeHead(200, { 'content-length': '5000' }).end(Buffer.alloc(5_000));
    else if (req.url === '/stalled.tar.gz') res.writeHead(200, { 'content-length': '3000' }).write(Buffer.alloc(100));
    else res.writeHead(404).end('not here');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { server.closeAllConnections(); server.close(); });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = scratchDir('cache-refused');
  const cache = new ArtifactCache({ dir, maxDownloadBytes: 4_000, downloadTimeoutMs: 1_000 });
  // Each carries the digest of `a`: followed, the redirect would find bytes that match it.
  const at = (name: string) => ({ url: `${base}/${name}.tar.gz`, digest: a.digest });
  const refused = async (name: string, reason: ArtifactErrorReason, message: RegExp): Promise<void> => {
    const err = await t.throwsAsync(cache.withArtifact(at(name), read), { instanceOf: ArtifactError, message }, name);
    t.is(err?.reason, reason, name);
  };
  await refused('moved', 'DownloadFailed', /HTTP 302 \(redirects are not followed\)/);
  await refused('missing', 'DownloadFailed', /HTTP 404/);
  await refused('large', 'ArtifactTooLarge', /5000 bytes, more than the limit of 4000/);
  await refused('stalled', 'DownloadFailed', /downloading .*stalled\.tar\.gz failed: .*abort/i);
  t.deepEqual(readdirSync(dir), [], 'no folder and no partial download');
  t.is(cache.stats.downloads, 0);
  t.is(cache.stats.failures, 4);
});
