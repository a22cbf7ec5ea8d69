// The OCIRepository reconciler, in-process, against the real apiserver and the real
// Distribution registry: tag, semver, digest and the default tag; cheap polls counted
// by a forwarding proxy; a registry that goes away and comes back; htpasswd auth
// from a dockerconfigjson Secret; TLS with a private CA from certSecretRef.
import anyTest from 'ava';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import type { OCIRepository } from '../../../source-controller/api.ts';
import { OciClient, credentialsForHost, parseDockerConfig } from '../../../source-controller/oci/index.ts';
import { OCI_STORAGE_KIND } from '../../../source-controller/ocirepository.ts';
import { withCluster } from '../../support/cluster.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { startTokenAuthProxy } from '../../support/token-auth-proxy.ts';
import { layerOf, pushLayer } from './oci-support.ts';
import { conditionOf, download, readTreeFile, sha256, unpackArtifact, useSourceHarness } from './support.ts';

const test = withServers(withCluster(anyTest));

test('tag, semver, digest and the default tag each become Ready with their revision, annotations and a served artifact', async (t) => {
  const h = await useSourceHarness(t);
  const registry = await useRegistry();
  const digests = new Map<string, string>();
  for (const tag of ['1.0.0', '1.4.2', '2.0.0', 'latest']) {
    const { digest } = await pushLayer(registry.host, 'team/app', tag, layerOf({ 'version.txt': `${tag}\n` }), {
      annotations: { 'org.opencontainers.image.version': tag, 'org.opencontainers.image.source': 'https://example.invalid/app' },
    });
    digests.set(tag, digest);
  }
  const url = `oci://${registry.host}/team/app`;
  const cases = [
    { name: 'tag', ref: { tag: '1.0.0' }, revision: `1.0.0@${digests.get('1.0.0')}`, content: '1.0.0\n' },
    { name: 'semver', ref: { semver: '^1' }, revision: `1.4.2@${digests.get('1.4.2')}`, content: '1.4.2\n' },
    { name: 'digest', ref: { digest: digests.get('2.0.0')! }, revision: digests.get('2.0.0')!, content: '2.0.0\n' },
    { name: 'default', ref: undefined, revision: `latest@${digests.get('latest')}`, content: 'latest\n' },
  ];
  for (const c of cases) {
    await h.createOci(c.name, { url, insecure: true, interval: '3m', ...(c.ref ? { ref: c.ref } : {}) });
    t.deepEqual(await h.reconcile('OCIRepository', c.name), { kind: 'requeue', afterMs: 180_000 }, c.name);
    const obj = await h.get<OCIRepository>('OCIRepository', c.name);
    const artifact = obj!.status!.artifact!;
    t.is(artifact.revision, c.revision, c.name);
    t.is(conditionOf(obj, 'Ready')?.status, 'True');
    t.is(artifact.metadata?.['org.opencontainers.image.source'], 'https://example.invalid/app');
    t.is(artifact.metadata?.['org.opencontainers.image.version'], c.content.trim(), 'the manifest annotations are the metadata');
    const bytes = await download(artifact.url);
    t.is(sha256(bytes), artifact.digest);
    t.true(artifact.url.startsWith(`${h.server.advertisedUrl}/${OCI_STORAGE_KIND}/${h.namespace}/${c.name}/`));
    t.is(await readTreeFile(await unpackArtifact(artifact.url), 'version.txt'), c.content, c.name);
  }
});

test('a poll with nothing new makes one HEAD (tag) or tag list + HEAD (semver), none for a digest, and downloads nothing; a new push is picked up', async (t) => {
  const h = await useSourceHarness(t);
  const registry = await useRegistry();
  const proxy = await startTokenAuthProxy({ upstream: registry, auth: 'none' });
  t.teardown(() => proxy.stop());
  const first = await pushLayer(proxy.host, 'team/poll', '1.0.0', layerOf({ 'a.txt': 'one\n' }));
  const url = `oci://${proxy.host}/team/poll`;
  await h.createOci('by-tag', { url, insecure: true, ref: { tag: '1.0.0' } });
  await h.createOci('by-semver', { url, insecure: true, ref: { semver: '1.x' } });
  await h.createOci('by-digest', { url, insecure: true, ref: { digest: first.digest } });
  for (const name of ['by-tag', 'by-semver', 'by-digest']) t.is((await h.reconcile('OCIRepository', name)).kind, 'requeue');

  const polls: Record<string, string[]> = {};
  for (const name of ['by-tag', 'by-semver', 'by-digest']) {
    const before = await h.get<OCIRepository>('OCIRepository', name);
    const start = proxy.requests.length;
    t.is((await h.reconcile('OCIRepository', name)).kind, 'requeue');
    polls[name] = proxy.requests.slice(start).map((r) => `${r.method} ${r.path} ${r.status}`);
    const after = await h.get<OCIRepository>('OCIRepository', name);
    t.is(after?.metadata.resourceVersion, before?.metadata.resourceVersion, `${name}: an unchanged status is not written`);
  }
  t.deepEqual(polls, {
    'by-tag': ['HEAD /v2/team/poll/manifests/1.0.0 200'],
    'by-semver': ['GET /v2/team/poll/tags/list?n=1000 200', 'HEAD /v2/team/poll/manifests/1.0.0 200'],
    'by-digest': [],
  });

  const second = await pushLayer(proxy.host, 'team/poll', '1.0.0', layerOf({ 'a.txt': 'two\n' }));
  const start = proxy.requests.length;
  await h.reconcile('OCIRepository', 'by-tag');
  const obj = await h.get<OCIRepository>('OCIRepository', 'by-tag');
  t.is(obj?.status?.artifact?.revision, `1.0.0@${second.digest}`);
  t.true(proxy.requests.slice(start).some((r) => r.method === 'GET' && r.path === `/v2/team/poll/blobs/${second.layerDigest}`), 'the new layer was downloaded');
  t.is(await readTreeFile(await unpackArtifact(obj!.status!.artifact!.url), 'a.txt'), 'two\n');
  t.is((await readdir(h.storage.dirFor(OCI_STORAGE_KIND, h.namespace, 'by-tag'))).length, 2, 'retention keeps 2 by default');
});

test('a registry that goes away: FetchFailed with backoff, the artifact kept; back at the same address, it recovers without a restart', async (t) => {
  const h = await useSourceHarness(t, { backoffBaseMs: 200 });
  const registry = await useRegistry();
  const proxy = await startTokenAuthProxy({ upstream: registry, auth: 'none' });
  t.teardown(() => proxy.stop());
  await pushLayer(proxy.host, 'team/outage', 'latest', layerOf({ 'a.txt': 'one\n' }));
  await h.createOci('outage', { url: `oci://${proxy.host}/team/outage`, insecure: true, interval: '5s' });
  await h.reconcile('OCIRepository', 'outage');
  const good = (await h.get<OCIRepository>('OCIRepository', 'outage'))!.status!.artifact!;

  await proxy.stop();
  const first = await h.reconcile('OCIRepository', 'outage');
  const second = await h.reconcile('OCIRepository', 'outage');
  t.like(first, { kind: 'waiting', reason: 'RegistryUnreachable', afterMs: 200 });
  t.like(second, { kind: 'waiting', reason: 'RegistryUnreachable', afterMs: 400 });
  const down = await h.get<OCIRepository>('OCIRepository', 'outage');
  t.like(conditionOf(down, 'FetchFailed'), { status: 'True', reason: 'RegistryUnreachable' });
  t.like(conditionOf(down, 'Reconciling'), { status: 'True', reason: 'ProgressingWithRetry' });
  t.deepEqual(down?.status?.artifact, good);
  t.is(sha256(await download(good.url)), good.digest);

  await proxy.restart();
  const next = await pushLayer(proxy.host, 'team/outage', 'latest', layerOf({ 'a.txt': 'two\n' }));
  t.deepEqual(await h.reconcile('OCIRepository', 'outage'), { kind: 'requeue', afterMs: 5000 });
  const up = await h.get<OCIRepository>('OCIRepository', 'outage');
  t.is(up?.status?.artifact?.revision, `latest@${next.digest}`);
  t.is(conditionOf(up, 'FetchFailed'), undefined);
  t.is(conditionOf(up, 'Ready')?.status, 'True');
});

test('htpasswd registry: credentials from a dockerconfigjson Secret; wrong ones are AuthenticationFailed at the interval, and the password is nowhere', async (t) => {
  const h = await useSourceHarness(t);
  const registry = await useRegistry({ auth: true });
  const { username, password } = registry.auth!;
  const config = (pw: string): string => JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${username}:${pw}`).toString('base64') } } });
  const pusher = new OciClient({ insecure: true, credentials: (host) => credentialsForHost(parseDockerConfig(config(password)), host) });
  t.teardown(() => pusher.close());
  const pushed = await pushLayer(registry.host, 'private/app', 'latest', layerOf({ 'a.txt': 'a\n' }), { client: pusher });
  await h.secret('regcred', { '.dockerconfigjson': config(password) }, 'kubernetes.io/dockerconfigjson');
  await h.createOci('auth', { url: `oci://${registry.host}/private/app`, insecure: true, interval: '40s', secretRef: { name: 'regcred' } });
  t.is((await h.reconcile('OCIRepository', 'auth')).kind, 'requeue');
  const good = (await h.get<OCIRepository>('OCIRepository', 'auth'))!.status!.artifact!;
  t.is(good.revision, `latest@${pushed.digest}`);

  const wrong = `wrong-${randomBytes(12).toString('hex')}`;
  await h.secret('regcred', { '.dockerconfigjson': config(wrong) }, 'kubernetes.io/dockerconfigjson');
  const report = await h.reconcile('OCIRepository', 'auth');
  t.like(report, { kind: 'waiting', reason: 'AuthenticationFailed', afterMs: 40_000 });
  const obj = await h.get<OCIRepository>('OCIRepository', 'auth');
  t.like(conditionOf(obj, 'FetchFailed'), { status: 'True', reason: 'AuthenticationFailed' });
  t.regex(conditionOf(obj, 'FetchFailed')!.message, /refused the credentials \(HTTP 401\)/);
  t.deepEqual(obj?.status?.artifact, good);

  await h.createOci('anonymous', { url: `oci://${registry.host}/private/app`, insecure: true });
  t.like(await h.reconcile('OCIRepository', 'anonymous'), { kind: 'waiting', reason: 'AuthenticationFailed' });
  await h.secret('not-docker', { token: 'x' });
  await h.createOci('bad-secret', { url: `oci://${registry.host}/private/app`, insecure: true, secretRef: { name: 'not-docker' } });
  t.like(await h.reconcile('OCIRepository', 'bad-secret'), { kind: 'waiting', reason: 'InvalidSecret' });

  const everything = [JSON.stringify(obj), JSON.stringify(await h.events('auth')), h.logs.join('\n'), report.kind === 'waiting' ? report.message : ''].join('\n');
  for (const leak of [password, wrong, Buffer.from(`${username}:${wrong}`).toString('base64'), Buffer.from(`${username}:${password}`).toString('base64')]) {
    t.false(everything.includes(leak), 'no credential in status, events, logs or errors');
  }
});

test('TLS registry: the CA from certSecretRef verifies it; without the CA it is TLSVerificationFailed', async (t) => {
  const h = await useSourceHarness(t);
  const registry = await useRegistry({ tls: true });
  const ca = readFileSync(registry.caFile!, 'utf8');
  const pusher = new OciClient({ ca });
  t.teardown(() => pusher.close());
  const pushed = await pushLayer(registry.host, 'secure/app', '1.0.0', layerOf({ 'a.txt': 'tls\n' }), { client: pusher });
  await h.secret('registry-ca', { 'ca.crt': ca });
  await h.createOci('tls', { url: `oci://${registry.host}/secure/app`, ref: { tag: '1.0.0' }, certSecretRef: { name: 'registry-ca' } });
  t.is((await h.reconcile('OCIRepository', 'tls')).kind, 'requeue');
  t.is((await h.get<OCIRepository>('OCIRepository', 'tls'))?.status?.artifact?.revision, `1.0.0@${pushed.digest}`);

  await h.createOci('no-ca', { url: `oci://${registry.host}/secure/app`, ref: { tag: '1.0.0' } });
  t.like(await h.reconcile('OCIRepository', 'no-ca'), { kind: 'waiting', reason: 'TLSVerificationFailed' });
  t.like(conditionOf(await h.get<OCIRepository>('OCIRepository', 'no-ca'), 'FetchFailed'), { reason: 'TLSVerificationFailed' });
});
