// The GitRepository reconciler, in-process, against the real apiserver and a real
// `git http-backend` server with commits pushed by the git CLI: every ref kind,
// cheap polls (counted at the server), new and force-pushed commits, retention,
// ignore, suspend, deletion, and symlinks that point outside the repository.
import anyTest from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pushCommit } from '../../../hack/git-fixtures.ts';
import type { GitServer } from '../../../hack/git-server.ts';
import type { GitRepository } from '../../../source-controller/api.ts';
import { GIT_STORAGE_KIND } from '../../../source-controller/gitrepository.ts';
import { withCluster } from '../../support/cluster.ts';
import { useGitServer, withServers } from '../../support/servers.ts';
import {
  SOURCE_FINALIZER, conditionOf, download, readTreeFile, sha256, unpackArtifact, useSourceHarness,
} from './support.ts';

const test = withServers(withCluster(anyTest));

let repoCounter = 0;
const repoName = (prefix: string): string => `${prefix}-${process.pid}-${++repoCounter}`;

/** The requests the Git server answered so far (`GET /app.git/info/refs?service=git-upload-pack 200`). */
function gitRequests(server: GitServer): string[] {
  const file = join(server.dir, 'git-server.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => /^(GET|POST) /.test(l));
}

test('branch, tag, semver, commit and the default branch each become Ready with their revision and a served artifact', async (t) => {
  const h = await useSourceHarness(t);
  const server = await useGitServer();
  const repo = repoName('kinds');
  const c1 = await pushCommit(server, repo, { files: { 'app.yaml': 'version: 1\n' }, tags: ['v1.0.0'], annotatedTags: true });
  const c2 = await pushCommit(server, repo, { files: { 'app.yaml': 'version: 2\n' }, tags: ['v1.2.0'] });
  const c3 = await pushCommit(server, repo, { files: { 'app.yaml': 'version: 3\n' } });
  const url = server.repoUrl(repo);
  const cases = [
    { name: 'branch', ref: { branch: 'main' }, revision: `main@sha1:${c3}`, content: 'version: 3\n' },
    { name: 'default', ref: undefined, revision: `main@sha1:${c3}`, content: 'version: 3\n' },
    { name: 'tag', ref: { tag: 'v1.0.0' }, revision: `v1.0.0@sha1:${c1}`, content: 'version: 1\n' },
    { name: 'semver', ref: { semver: '^1.0.0' }, revision: `v1.2.0@sha1:${c2}`, content: 'version: 2\n' },
    { name: 'commit', ref: { commit: c2 }, revision: `sha1:${c2}`, content: 'version: 2\n' },
  ];
  for (const c of cases) {
    await h.createGit(c.name, { url, interval: '1m', ...(c.ref ? { ref: c.ref } : {}) });
    const report = await h.reconcile('GitRepository', c.name);
    t.deepEqual(report, { kind: 'requeue', afterMs: 60_000 }, c.name);
    const obj = await h.get<GitRepository>('GitRepository', c.name);
    t.is(obj?.status?.artifact?.revision, c.revision, c.name);
    t.is(conditionOf(obj, 'Ready')?.status, 'True', c.name);
    t.is(conditionOf(obj, 'Ready')?.message, `stored artifact for revision '${c.revision}'`);
    t.is(obj?.status?.observedGeneration, obj?.metadata.generation);
    t.deepEqual(obj?.metadata.finalizers, [SOURCE_FINALIZER]);
    const artifact = obj!.status!.artifact!;
    const bytes = await download(artifact.url);
    t.is(sha256(bytes), artifact.digest, 'the served bytes hash to status.artifact.digest');
    t.is(bytes.length, artifact.size);
    t.true(artifact.url.startsWith(`${h.server.advertisedUrl}/${GIT_STORAGE_KIND}/${h.namespace}/${c.name}/`));
    t.is(await readTreeFile(await unpackArtifact(artifact.url), 'app.yaml'), c.content, c.name);
    const events = await h.events(c.name);
    t.true(events.some((e) => e.type === 'Normal' && e.reason === 'NewArtifact' && e.note === `stored artifact for revision '${c.revision}'`));
  }
});

test('a poll with nothing new makes one ls-remote request, downloads and writes nothing; a new commit is picked up; retention keeps 2', async (t) => {
  const h = await useSourceHarness(t, { retention: 2 });
  const server = await useGitServer();
  const repo = repoName('poll');
  await pushCommit(server, repo, { files: { 'a.yaml': 'a: 1\n' } });
  await h.createGit('poll', { url: server.repoUrl(repo), interval: '10s' });
  t.is((await h.reconcile('GitRepository', 'poll')).kind, 'requeue');
  const before = await h.get<GitRepository>('GitRepository', 'poll');

  const seen = gitRequests(server).length;
  t.deepEqual(await h.reconcile('GitRepository', 'poll'), { kind: 'requeue', afterMs: 10_000 });
  const poll = gitRequests(server).slice(seen);
  t.deepEqual(poll, [`GET /${repo}.git/info/refs?service=git-upload-pack 200`], 'one ref listing, no upload-pack (no download)');
  const after = await h.get<GitRepository>('GitRepository', 'poll');
  t.is(after?.metadata.resourceVersion, before?.metadata.resourceVersion, 'an unchanged status is not written');

  const revisions = [before!.status!.artifact!.revision];
  for (const n of [2, 3]) {
    const sha = await pushCommit(server, repo, { files: { 'a.yaml': `a: ${n}\n` } });
    const start = gitRequests(server).length;
    await h.reconcile('GitRepository', 'poll');
    const obj = await h.get<GitRepository>('GitRepository', 'poll');
    t.is(obj?.status?.artifact?.revision, `main@sha1:${sha}`);
    t.true(gitRequests(server).slice(start).some((l) => l.startsWith(`POST /${repo}.git/git-upload-pack 200`)), 'the new commit was downloaded');
    t.is(await readTreeFile(await unpackArtifact(obj!.status!.artifact!.url), 'a.yaml'), `a: ${n}\n`);
    revisions.push(obj!.status!.artifact!.revision);
  }
  t.is(new Set(revisions).size, 3);
  const files = await readdir(h.storage.dirFor(GIT_STORAGE_KIND, h.namespace, 'poll'));
  t.is(files.filter((f) => f.endsWith('.tar.gz')).length, 2, 'retention keeps the current and one previous artifact');
});

test('a force-pushed branch is picked up with its rewritten content', async (t) => {
  const h = await useSourceHarness(t);
  const server = await useGitServer();
  const repo = repoName('force');
  await pushCommit(server, repo, { files: { 'old.yaml': 'old\n' } });
  await h.createGit('force', { url: server.repoUrl(repo), interval: '1m', ref: { branch: 'main' } });
  await h.reconcile('GitRepository', 'force');
  const rewritten = await pushCommit(server, repo, { files: { 'new.yaml': 'new\n' }, force: true });
  await h.reconcile('GitRepository', 'force');
  const obj = await h.get<GitRepository>('GitRepository', 'force');
  t.is(obj?.status?.artifact?.revision, `main@sha1:${rewritten}`);
  const tree = await unpackArtifact(obj!.status!.artifact!.url);
  t.deepEqual(await readdir(tree), ['new.yaml'], 'the artifact holds the rewritten tree only');
});

test('a tag that does not exist and a semver range nothing matches: FetchFailed, the last artifact kept and served, a Warning event', async (t) => {
  const h = await useSourceHarness(t);
  const server = await useGitServer();
  const repo = repoName('missing');
  await pushCommit(server, repo, { files: { 'a.yaml': 'a\n' }, tags: ['v1.0.0'] });
  await h.createGit('missing', { url: server.repoUrl(repo), interval: '45s', ref: { tag: 'v1.0.0' } });
  await h.reconcile('GitRepository', 'missing');
  const good = (await h.get<GitRepository>('GitRepository', 'missing'))!.status!.artifact!;

  for (const ref of [{ tag: 'v9.9.9' }, { semver: '>=5.0.0' }]) {
    await h.patchSpec('GitRepository', 'missing', { ref: { tag: null, semver: null, ...ref } });
    const report = await h.reconcile('GitRepository', 'missing');
    t.like(report, { kind: 'waiting', reason: 'RefNotFound', afterMs: 45_000 }, 'retried at the interval, no hot loop');
    const obj = await h.get<GitRepository>('GitRepository', 'missing');
    t.like(conditionOf(obj, 'FetchFailed'), { status: 'True', reason: 'RefNotFound' });
    t.like(conditionOf(obj, 'Ready'), { status: 'False', reason: 'RefNotFound' });
    t.like(conditionOf(obj, 'Reconciling'), { status: 'True', reason: 'ProgressingWithRetry' });
    t.is(conditionOf(obj, 'Stalled'), undefined);
    t.deepEqual(obj?.status?.artifact, good, 'status.artifact is the last good one');
    t.is(sha256(await download(good.url)), good.digest, 'and it is still served');
    t.is(obj?.status?.observedGeneration, obj?.metadata.generation);
  }
  const warnings = (await h.events('missing')).filter((e) => e.type === 'Warning' && e.reason === 'RefNotFound');
  t.true(warnings.some((e) => /v9\.9\.9/.test(e.note ?? '')));
  t.true(warnings.some((e) => />=5\.0\.0/.test(e.note ?? '')));

  await h.patchSpec('GitRepository', 'missing', { ref: { semver: '^1' } });
  await h.reconcile('GitRepository', 'missing');
  const fixed = await h.get<GitRepository>('GitRepository', 'missing');
  t.is(conditionOf(fixed, 'FetchFailed'), undefined, 'the failure condition is removed once fixed');
  t.is(conditionOf(fixed, 'Reconciling'), undefined);
  t.is(conditionOf(fixed, 'Ready')?.status, 'True');
});

test('an invalid semver range stalls (no retry until the spec changes)', async (t) => {
  const h = await useSourceHarness(t);
  const server = await useGitServer();
  const repo = repoName('stall');
  await pushCommit(server, repo, { files: { 'a.yaml': 'a\n' } });
  await h.createGit('stall', { url: server.repoUrl(repo), ref: { semver: '1.x.x.x' } });
  const seen = gitRequests(server).length;
  const report = await h.reconcile('GitRepository', 'stall');
  t.like(report, { kind: 'stalled', reason: 'InvalidRef' });
  const obj = await h.get<GitRepository>('GitRepository', 'stall');
  t.like(conditionOf(obj, 'Stalled'), { status: 'True', reason: 'InvalidRef' });
  t.like(conditionOf(obj, 'Ready'), { status: 'False', reason: 'InvalidRef' });
  t.is(conditionOf(obj, 'Reconciling'), undefined);
  t.is(gitRequests(server).length, seen, 'nothing was asked of the server');
});

test('ignore leaves paths out; changing ignore rebuilds the artifact at the same revision', async (t) => {
  const h = await useSourceHarness(t);
  const server = await useGitServer();
  const repo = repoName('ignore');
  await pushCommit(server, repo, { files: { 'deploy/app.yaml': 'app\n', 'docs/readme.md': 'docs\n', 'secret.env': 'x\n' } });
  await h.createGit('ignore', { url: server.repoUrl(repo), ignore: 'docs/\n*.env\n' });
  await h.reconcile('GitRepository', 'ignore');
  const first = (await h.get<GitRepository>('GitRepository', 'ignore'))!.status!.artifact!;
  t.deepEqual(await readdir(await unpackArtifact(first.url)), ['deploy']);

  await h.patchSpec('GitRepository', 'ignore', { ignore: '*.env\n' });
  await h.reconcile('GitRepository', 'ignore');
  const second = (await h.get<GitRepository>('GitRepository', 'ignore'))!.status!.artifact!;
  t.is(second.revision, first.revision);
  t.not(second.digest, first.digest, 'a spec change that changes the content rebuilds even when the revision is the same');
  t.deepEqual((await readdir(await unpackArtifact(second.url))).sort(), ['deploy', 'docs']);
});

test('a repo with symlinks pointing outside it: Ready, and no outside content in the artifact', async (t) => {
  const h = await useSourceHarness(t);
  const server = await useGitServer();
  const repo = repoName('symlinks');
  await pushCommit(server, repo, {
    files: { 'app.yaml': 'app\n' },
    symlinks: { 'passwd': '/etc/passwd', 'up': '../../../../../../etc/hostname', 'inside': 'app.yaml' },
  });
  await h.createGit('links', { url: server.repoUrl(repo) });
  t.is((await h.reconcile('GitRepository', 'links')).kind, 'requeue');
  const obj = await h.get<GitRepository>('GitRepository', 'links');
  const tree = await unpackArtifact(obj!.status!.artifact!.url);
  t.deepEqual((await readdir(tree)).sort(), ['app.yaml', 'inside'], 'links out of the repo are left out');
  t.is(await readTreeFile(tree, 'inside'), 'app\n', 'a link inside the repo becomes a copy of its target');
  const bytes = await download(obj!.status!.artifact!.url);
  t.false(bytes.includes(readFileSync('/etc/hostname')), 'no outside content');
});

test('suspend: nothing is fetched and nothing written; a requested reconcile is recorded once resumed', async (t) => {
  const h = await useSourceHarness(t);
  const server = await useGitServer();
  const repo = repoName('suspend');
  await pushCommit(server, repo, { files: { 'a.yaml': '1\n' } });
  await h.createGit('suspend', { url: server.repoUrl(repo) });
  await h.reconcile('GitRepository', 'suspend');
  await h.patchSpec('GitRepository', 'suspend', { suspend: true });
  const sha = await pushCommit(server, repo, { files: { 'a.yaml': '2\n' } });
  const before = await h.get<GitRepository>('GitRepository', 'suspend');
  const seen = gitRequests(server).length;
  t.deepEqual(await h.reconcile('GitRepository', 'suspend'), { kind: 'requeue', afterMs: undefined });
  t.is(gitRequests(server).length, seen, 'no request to the Git server');
  const during = await h.get<GitRepository>('GitRepository', 'suspend');
  t.is(during?.metadata.resourceVersion, before?.metadata.resourceVersion, 'nothing written');
  t.is(conditionOf(during, 'Ready')?.status, 'True', 'the last artifact is still Ready and served');

  await h.patchSpec('GitRepository', 'suspend', { suspend: false }, { annotations: { 'reconcile.trellis.dev/requestedAt': 'now-1' } });
  await h.reconcile('GitRepository', 'suspend');
  const after = await h.get<GitRepository>('GitRepository', 'suspend');
  t.is(after?.status?.artifact?.revision, `main@sha1:${sha}`);
  t.is(after?.status?.lastHandledReconcileAt, 'now-1');
});

test('deletion removes every stored artifact of the source and releases the finalizer', async (t) => {
  const h = await useSourceHarness(t);
  const server = await useGitServer();
  const repo = repoName('delete');
  await pushCommit(server, repo, { files: { 'a.yaml': '1\n' } });
  await h.createGit('delete', { url: server.repoUrl(repo) });
  await h.reconcile('GitRepository', 'delete');
  await pushCommit(server, repo, { files: { 'a.yaml': '2\n' } });
  await h.reconcile('GitRepository', 'delete');
  const dir = h.storage.dirFor(GIT_STORAGE_KIND, h.namespace, 'delete');
  t.is((await readdir(dir)).length, 2);
  const url = (await h.get<GitRepository>('GitRepository', 'delete'))!.status!.artifact!.url;

  await h.client.delete({ apiVersion: 'source.trellis.dev/v1alpha1', kind: 'GitRepository', namespace: h.namespace, name: 'delete' });
  const deleting = await h.get<GitRepository>('GitRepository', 'delete');
  t.truthy(deleting?.metadata.deletionTimestamp, 'the finalizer holds the object while artifacts exist');
  await h.reconcile('GitRepository', 'delete');
  t.false(existsSync(dir), 'the source folder is gone');
  t.is(await h.get('GitRepository', 'delete'), undefined, 'the object is gone once the finalizer is released');
  await t.throwsAsync(download(url), { message: /HTTP 404/ });
});
