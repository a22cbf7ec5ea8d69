// The source reconcilers' security behaviour (mostly GitRepository's), in-process against the real
// apiserver and the real Git server: SSRF URLs refused with a clear condition,
// a server's secret-looking body never in the status or the Events, a Git bomb
// refused with the previous artifact kept, signed commits (real gpg keys)
// verified before anything is stored, and credentials read only from the
// GitRepository's own namespace.
import anyTest from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGpgKey, pushCommit, rawRepo, stopGpgAgent } from '../../../hack/git-fixtures.ts';
import type { GitRepository, OCIRepository } from '../../../source-controller/api.ts';
import { HostPolicy } from '../../../source-controller/net/host-policy.ts';
import { scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { useGitServer, withServers } from '../../support/servers.ts';
import { conditionOf, readTreeFile, unpackArtifact, useSourceHarness } from './support.ts';

const test = withServers(withCluster(anyTest));

let counter = 0;
const repoName = (prefix: string): string => `${prefix}-${process.pid}-${++counter}`;
const SECRET = 'sk-live-51HfakeFAKEfake0123456789abcdefSECRET';

test('a GitRepository at the cloud metadata address: FetchFailed HostDenied, no artifact, nothing fetched', async (t) => {
  const h = await useSourceHarness(t);
  await h.createGit('metadata', { url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials.git', interval: '1m' });
  const report = await h.reconcile('GitRepository', 'metadata');
  t.like(report, { kind: 'waiting', reason: 'HostDenied' });
  const obj = await h.get<GitRepository>('GitRepository', 'metadata');
  t.is(conditionOf(obj, 'FetchFailed')?.reason, 'HostDenied');
  t.regex(conditionOf(obj, 'Ready')?.message ?? '', /source host policy refuses 169\.254\.169\.254/);
  t.is(obj?.status?.artifact, undefined);
});

test('an OCIRepository at the cloud metadata address: FetchFailed HostDenied, no artifact', async (t) => {
  const h = await useSourceHarness(t);
  await h.createOci('metadata', { url: 'oci://169.254.169.254/latest/meta-data', insecure: true, interval: '1m' });
  t.like(await h.reconcile('OCIRepository', 'metadata'), { kind: 'waiting', reason: 'HostDenied' });
  const obj = await h.get<OCIRepository>('OCIRepository', 'metadata');
  t.is(conditionOf(obj, 'FetchFailed')?.reason, 'HostDenied');
  t.is(obj?.status?.artifact, undefined);
});

test('a host denied by the controller\'s policy after DNS (localhost at a denied port) is refused the same way', async (t) => {
  const server = await useGitServer();
  const h = await useSourceHarness(t, { hostPolicy: new HostPolicy({ deny: [`127.0.0.0/8:${server.port}`] }) });
  const repo = repoName('denied');
  await pushCommit(server, repo, { files: { 'a.yaml': 'a\n' } });
  await h.createGit('denied', { url: server.repoUrl(repo).replace('127.0.0.1', 'localhost'), interval: '1m' });
  t.like(await h.reconcile('GitRepository', 'denied'), { kind: 'waiting', reason: 'HostDenied' });
});

test('a server answering 500 with a secret body: the status and the Events hold the status code only', async (t) => {
  const h = await useSourceHarness(t);
  const server = createServer((_req, res) => {
    res.writeHead(500, `Oops ${SECRET}`, { 'content-type': 'text/plain' });
    res.end(`upstream said: ${SECRET}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  await h.createGit('leaky', { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/r.git`, interval: '1m' });
  await h.reconcile('GitRepository', 'leaky');
  const obj = await h.get<GitRepository>('GitRepository', 'leaky');
  t.regex(conditionOf(obj, 'FetchFailed')?.message ?? '', /HTTP 500 Internal Server Error/);
  const events = await h.events('leaky');
  t.true(events.some((e) => e.type === 'Warning'));
  const everything = JSON.stringify({ status: obj?.status, events }) + h.logs.join('');
  t.false(everything.includes('sk-live-51Hfake'), 'the body is nowhere: status, Events, logs');
});

test('a Git bomb: FetchFailed TooLarge, and the previous artifact stays published', async (t) => {
  const h = await useSourceHarness(t, { limits: { maxEntries: 2000 } });
  const server = await useGitServer();
  const repo = repoName('bomb');
  await pushCommit(server, repo, { files: { 'app.yaml': 'good\n' } });
  await h.createGit('bomb', { url: server.repoUrl(repo), interval: '1m' });
  t.is((await h.reconcile('GitRepository', 'bomb')).kind, 'requeue');
  const before = (await h.get<GitRepository>('GitRepository', 'bomb'))?.status?.artifact;
  const writer = await rawRepo(server, repo);
  let oid = await writer.blob('boom\n');
  let mode = '100644';
  for (let level = 0; level < 5; level++) {
    oid = await writer.tree(Array.from({ length: 10 }, (_, i) => ({ name: `d${i}`, mode, oid })));
    mode = '40000';
  }
  await writer.commit(oid);
  t.like(await h.reconcile('GitRepository', 'bomb'), { kind: 'waiting', reason: 'TooLarge' });
  const after = await h.get<GitRepository>('GitRepository', 'bomb');
  t.regex(conditionOf(after, 'FetchFailed')?.message ?? '', /more than 2000 entries/);
  t.deepEqual(after?.status?.artifact, before);
});

test('verify: a signed commit is stored with SourceVerified=True; an unsigned one and one signed by another key are not stored', async (t) => {
  const h = await useSourceHarness(t);
  const server = await useGitServer();
  const trusted = await createGpgKey(scratchDir('gpg'));
  const other = await createGpgKey(scratchDir('gpg'), 'Mallory <m@trellis.invalid>');
  t.teardown(async () => { await Promise.all([stopGpgAgent(trusted), stopGpgAgent(other)]); });
  const repo = repoName('verify');
  const signed = await pushCommit(server, repo, { files: { 'app.yaml': 'v: signed\n' }, sign: trusted });
  await h.secret('trusted-keys', { 'author.asc': trusted.publicKey });
  await h.createGit('verified', { url: server.repoUrl(repo), interval: '1m', verify: { mode: 'HEAD', secretRef: { name: 'trusted-keys' } } });
  t.is((await h.reconcile('GitRepository', 'verified')).kind, 'requeue');
  let obj = await h.get<GitRepository>('GitRepository', 'verified');
  t.is(obj?.status?.artifact?.revision, `main@sha1:${signed}`);
  t.like(conditionOf(obj, 'SourceVerified'), { status: 'True', reason: 'Succeeded' });
  const published = obj?.status?.artifact;

  for (const [label, spec] of [['unsigned', {}], ['wrong key', { sign: other }]] as const) {
    const commit = await pushCommit(server, repo, { files: { 'app.yaml': `v: ${label}\n` }, ...spec });
    t.like(await h.reconcile('GitRepository', 'verified'), { kind: 'waiting' }, label);
    obj = await h.get<GitRepository>('GitRepository', 'verified');
    t.is(conditionOf(obj, 'VerificationFailed')?.status, 'True', label);
    t.is(conditionOf(obj, 'SourceVerified')?.status, 'False', label);
    t.regex(conditionOf(obj, 'SourceVerified')?.message ?? '', new RegExp(commit), label);
    t.deepEqual(obj?.status?.artifact, published, `${label}: the verified artifact stays, no new one`);
    t.is(await readTreeFile(await unpackArtifact(published!.url), 'app.yaml'), 'v: signed\n');
    t.is((await h.storage.list('gitrepository', h.namespace, 'verified')).length, 1, `${label}: nothing else was stored`);
  }
});

test('verify: mode Tag without a tag ref stalls before any request; a Secret without keys fails', async (t) => {
  const h = await useSourceHarness(t);
  await h.secret('no-keys', { note: 'nothing here' });
  await h.createGit('tagless', { url: 'http://127.0.0.1:9/r.git', verify: { mode: 'Tag', secretRef: { name: 'no-keys' } } });
  t.like(await h.reconcile('GitRepository', 'tagless'), { kind: 'stalled', reason: 'InvalidSpec' });
  await h.createGit('keyless', { url: 'http://127.0.0.1:9/r.git', verify: { mode: 'HEAD', secretRef: { name: 'no-keys' } } });
  t.like(await h.reconcile('GitRepository', 'keyless'), { kind: 'waiting', reason: 'InvalidKeys' });
});

test('secretRef is read in the GitRepository\'s own namespace only: a same-named Secret elsewhere is never used', async (t) => {
  const h = await useSourceHarness(t);
  const cluster = await useCluster();
  const elsewhere = await testNamespace(t, cluster);
  await h.client.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-auth', namespace: elsewhere }, stringData: { username: 'u', password: 'p' } },
    { fieldManager: 'trellis-tests', force: true });
  await h.createGit('borrow', { url: 'http://127.0.0.1:9/r.git', secretRef: { name: 'git-auth' } });
  t.like(await h.reconcile('GitRepository', 'borrow'), { kind: 'waiting', reason: 'SecretNotFound' });
  const obj = await h.get<GitRepository>('GitRepository', 'borrow');
  t.is(conditionOf(obj, 'FetchFailed')?.message, `Secret ${h.namespace}/git-auth not found`);
});
