// The Git fetcher against a real `git http-backend` server with commits pushed by
// the real git CLI: resolve, fetch and pack every ref kind; new, force-pushed and
// pinned commits; credentials; missing refs; an unreachable server that comes back.
import anyTest from 'ava';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pushCommit } from '../../../hack/git-fixtures.ts';
import { GitAuthError, GitRefNotFoundError, GitUnreachableError } from '../../../source-controller/git/errors.ts';
import { fetchTree } from '../../../source-controller/git/fetch.ts';
import { packTree } from '../../../source-controller/git/pack.ts';
import { listRemoteRefs, resolveRef } from '../../../source-controller/git/refs.ts';
import { restartGitServer, useGitServer, withServers } from '../../support/servers.ts';

const test = withServers(anyTest);

let repoCounter = 0;
const repoName = (prefix: string): string => `${prefix}-${process.pid}-${++repoCounter}`;
const work = (): Promise<string> => mkdtemp(join(tmpdir(), 'trellis-git-'));

test('branch, annotated tag, semver and commit each resolve, fetch and pack', async (t) => {
  const server = await useGitServer();
  const repo = repoName('kinds');
  const c1 = await pushCommit(server, repo, { files: { 'app.yaml': 'version: 1\n' }, tags: ['v1.0.0'], annotatedTags: true });
  const c2 = await pushCommit(server, repo, { files: { 'app.yaml': 'version: 2\n' }, tags: ['v1.1.0', 'v2.0.0-rc.1'] });
  const c3 = await pushCommit(server, repo, { files: { 'app.yaml': 'version: 3\n' } });
  const url = server.repoUrl(repo);

  const cases = [
    { ref: { branch: 'main' }, revision: `main@sha1:${c3}`, content: 'version: 3\n' },
    { ref: {}, revision: `main@sha1:${c3}`, content: 'version: 3\n' },
    { ref: { tag: 'v1.0.0' }, revision: `v1.0.0@sha1:${c1}`, content: 'version: 1\n' },
    { ref: { semver: '^1.0.0' }, revision: `v1.1.0@sha1:${c2}`, content: 'version: 2\n' },
    { ref: { semver: '~1.0' }, revision: `v1.0.0@sha1:${c1}`, content: 'version: 1\n' },
    { ref: { commit: c2 }, revision: `sha1:${c2}`, content: 'version: 2\n' },
  ];
  const base = await work();
  for (const [i, c] of cases.entries()) {
    const resolved = await resolveRef(url, c.ref);
    t.is(resolved.revision, c.revision, JSON.stringify(c.ref));
    const tree = await fetchTree(url, resolved, join(base, `tree-${i}`));
    t.is(tree.revision, c.revision);
    t.is(await readFile(join(tree.dir, 'app.yaml'), 'utf8'), c.content, JSON.stringify(c.ref));
    t.deepEqual(await readdir(tree.dir), ['app.yaml'], 'the checkout holds the tree only, no .git');
    const packed = await packTree(tree.dir, join(base, `artifact-${i}.tgz`));
    t.is(packed.digest, `sha256:${createHash('sha256').update(await readFile(join(base, `artifact-${i}.tgz`))).digest('hex')}`);
    t.true(gunzipSync(await readFile(join(base, `artifact-${i}.tgz`))).toString().includes(c.content));
  }
  t.deepEqual(await readdir(base).then((names) => names.filter((n) => n.includes('gitdir'))), [], 'no git directory is left behind');
});

test('the same commit packs to the same digest; a new commit is a new revision', async (t) => {
  const server = await useGitServer();
  const repo = repoName('new-commit');
  const first = await pushCommit(server, repo, { files: { 'a.yaml': 'a: 1\n', 'dir/b.yaml': 'b: 1\n' } });
  const url = server.repoUrl(repo);
  const base = await work();
  const one = await fetchTree(url, { branch: 'main' }, join(base, 'one'));
  const two = await fetchTree(url, { branch: 'main' }, join(base, 'two'));
  t.is(one.revision, `main@sha1:${first}`);
  const packedOne = await packTree(one.dir, join(base, 'one.tgz'));
  const packedTwo = await packTree(two.dir, join(base, 'two.tgz'));
  t.is(packedOne.digest, packedTwo.digest, 'two checkouts of one commit give one artifact digest');

  const second = await pushCommit(server, repo, { files: { 'a.yaml': 'a: 2\n' } });
  const resolved = await resolveRef(url, { branch: 'main' });
  t.is(resolved.revision, `main@sha1:${second}`);
  const three = await fetchTree(url, resolved, join(base, 'three'));
  t.is(await readFile(join(three.dir, 'a.yaml'), 'utf8'), 'a: 2\n');
  t.not((await packTree(three.dir, join(base, 'three.tgz'))).digest, packedOne.digest);
});

test('a branch that moved after resolving is fetched at its new tip, and the result says so', async (t) => {
  const server = await useGitServer();
  const repo = repoName('moved');
  await pushCommit(server, repo, { files: { 'a.yaml': 'old\n' } });
  const url = server.repoUrl(repo);
  const stale = await resolveRef(url, { branch: 'main' });
  const newer = await pushCommit(server, repo, { files: { 'a.yaml': 'new\n' } });
  const tree = await fetchTree(url, stale, join(await work(), 'tree'));
  t.is(tree.revision, `main@sha1:${newer}`);
  t.is(await readFile(join(tree.dir, 'a.yaml'), 'utf8'), 'new\n');
});

test('a force-pushed branch gives a new revision with the rewritten content', async (t) => {
  const server = await useGitServer();
  const repo = repoName('force');
  const before = await pushCommit(server, repo, { files: { 'a.yaml': 'a\n', 'gone.yaml': 'x\n' } });
  const url = server.repoUrl(repo);
  t.is((await resolveRef(url, {})).commit, before);
  const after = await pushCommit(server, repo, { files: { 'a.yaml': 'rewritten\n' }, force: true });
  const resolved = await resolveRef(url, {});
  t.is(resolved.revision, `main@sha1:${after}`);
  const tree = await fetchTree(url, resolved, join(await work(), 'tree'));
  t.deepEqual(await readdir(tree.dir), ['a.yaml']);
  t.is(await readFile(join(tree.dir, 'a.yaml'), 'utf8'), 'rewritten\n');
});

test('a pinned commit deep in history is fetched; an unknown one is GitRefNotFoundError', async (t) => {
  const server = await useGitServer();
  const repo = repoName('pinned');
  const old = await pushCommit(server, repo, { files: { 'a.yaml': 'first\n' } });
  await pushCommit(server, repo, { files: { 'a.yaml': 'second\n' } });
  await pushCommit(server, repo, { files: { 'a.yaml': 'third\n' }, branch: 'other' });
  const url = server.repoUrl(repo);
  const base = await work();
  const tree = await fetchTree(url, { commit: old }, join(base, 'pinned'));
  t.is(tree.revision, `sha1:${old}`);
  t.is(await readFile(join(tree.dir, 'a.yaml'), 'utf8'), 'first\n');
  const onBranch = await fetchTree(url, { commit: old, branch: 'main' }, join(base, 'on-branch'));
  t.is(onBranch.revision, `main@sha1:${old}`);

  const err = await t.throwsAsync(fetchTree(url, { commit: 'f'.repeat(40) }, join(base, 'missing')), { instanceOf: GitRefNotFoundError });
  t.regex(err?.message ?? '', /commit f{40} not found/);
  t.false(existsSync(join(base, 'missing')), 'a failed fetch leaves no destination behind');
});

test('a tag that does not exist and a semver range nothing matches are GitRefNotFoundError', async (t) => {
  const server = await useGitServer();
  const repo = repoName('missing-refs');
  await pushCommit(server, repo, { files: { 'a.yaml': 'a\n' }, tags: ['v1.0.0'] });
  const url = server.repoUrl(repo);
  await t.throwsAsync(resolveRef(url, { tag: 'v9.0.0' }), { instanceOf: GitRefNotFoundError, message: /tag "v9\.0\.0" not found/ });
  await t.throwsAsync(resolveRef(url, { semver: '>=2.0.0' }), { instanceOf: GitRefNotFoundError, message: /no tag matches/ });
  await t.throwsAsync(resolveRef(url, { branch: 'nope' }), { instanceOf: GitRefNotFoundError });
  await t.throwsAsync(fetchTree(url, { tag: 'v9.0.0' }, join(await work(), 'x')), { instanceOf: GitRefNotFoundError });
  const noRepo = await t.throwsAsync(resolveRef(server.repoUrl('does-not-exist'), {}), { instanceOf: GitUnreachableError });
  t.is(noRepo?.reason, 'RepositoryNotFound');
});

test('credentials: right ones work, wrong or missing ones are GitAuthError that never shows the password', async (t) => {
  const server = await useGitServer({ auth: true });
  const creds = server.auth;
  if (!creds) return t.fail('the auth server has no credentials');
  const repo = repoName('auth');
  const sha = await pushCommit(server, repo, { files: { 'a.yaml': 'private\n' } });
  const url = server.repoUrl(repo);
  const base = await work();

  const tree = await fetchTree(url, { branch: 'main' }, join(base, 'ok'), { auth: creds });
  t.is(tree.revision, `main@sha1:${sha}`);

  const wrongPassword = `${creds.password}-wrong-Zq9`;
  const wrong = { username: creds.username, password: wrongPassword };
  const userinfoUrl = url.replace('http://', `http://${creds.username}:${wrongPassword}@`);
  const failures = [
    await t.throwsAsync(resolveRef(url, { branch: 'main' }, { auth: wrong }), { instanceOf: GitAuthError }),
    await t.throwsAsync(fetchTree(url, { branch: 'main' }, join(base, 'wrong'), { auth: wrong }), { instanceOf: GitAuthError }),
    await t.throwsAsync(resolveRef(userinfoUrl, { branch: 'main' }), { instanceOf: GitAuthError }),
    await t.throwsAsync(resolveRef(url, { branch: 'main' }, { auth: { bearerToken: `${wrongPassword}-token` } }), { instanceOf: GitAuthError }),
  ];
  for (const err of failures) {
    const everything = `${err?.message}\n${err?.stack}\n${JSON.stringify(err)}`;
    t.false(everything.includes(wrongPassword), everything);
    t.false(everything.includes(Buffer.from(`${creds.username}:${wrongPassword}`).toString('base64')));
    t.is(err?.reason, 'AuthenticationFailed');
  }
  const none = await t.throwsAsync(listRemoteRefs(url), { instanceOf: GitAuthError });
  t.regex(none?.message ?? '', /requires credentials/);
  t.false(existsSync(join(base, 'wrong')));
});

test('a stopped server is GitUnreachableError; restarted on the same folder and port it works again', async (t) => {
  let server = await useGitServer();
  const repo = repoName('restart');
  const sha = await pushCommit(server, repo, { files: { 'a.yaml': 'a\n' } });
  const url = server.repoUrl(repo);
  t.is((await resolveRef(url, {})).commit, sha);

  await server.stop();
  const down = await t.throwsAsync(resolveRef(url, {}), { instanceOf: GitUnreachableError });
  t.is(down?.reason, 'Unreachable');
  await t.throwsAsync(fetchTree(url, { branch: 'main' }, join(await work(), 'down')), { instanceOf: GitUnreachableError });

  server = await restartGitServer(server);
  t.is(server.repoUrl(repo), url);
  t.is((await resolveRef(url, {})).commit, sha);
  const tree = await fetchTree(url, { branch: 'main' }, join(await work(), 'up'));
  t.is(await readFile(join(tree.dir, 'a.yaml'), 'utf8'), 'a\n');
});

test('a repo with symlinks pointing outside it does not leak outside content into the artifact', async (t) => {
  const server = await useGitServer();
  const repo = repoName('symlinks');
  await pushCommit(server, repo, {
    files: { 'deploy/app.yaml': 'kind: App\n' },
    symlinks: {
      'deploy/passwd.yaml': '/etc/passwd',
      'deploy/up.yaml': '../../../../../../../../etc/hostname',
      'deploy/alias.yaml': 'app.yaml',
      'hostdir': '/etc',
    },
  });
  const base = await work();
  const tree = await fetchTree(server.repoUrl(repo), {}, join(base, 'tree'));
  const packed = await packTree(tree.dir, join(base, 'artifact.tgz'));
  const tarText = gunzipSync(await readFile(join(base, 'artifact.tgz'))).toString('latin1');
  t.false(tarText.includes('root:x:0:0'), 'no /etc/passwd content');
  t.false(tarText.includes((await readFile('/etc/hostname', 'utf8').catch(() => 'NO-HOSTNAME-FILE')).trim() + '\n'), 'no /etc/hostname content');
  t.true(tarText.includes('kind: App'));
  t.deepEqual(packed.skipped.map((s) => s.path).sort(), ['deploy/passwd.yaml', 'deploy/up.yaml', 'hostdir']);
  t.is(packed.entries, 3, 'deploy/, deploy/app.yaml and deploy/alias.yaml (a copy of app.yaml)');
});
