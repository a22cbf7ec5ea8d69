// GitRepository credentials and outages, in-process against the real apiserver and
// a real Git server: basic auth from a Secret, wrong or missing credentials (and
// the password appears nowhere), and a server that goes away and comes back.
import anyTest from 'ava';
import { randomBytes } from 'node:crypto';
import { pushCommit } from '../../../hack/git-fixtures.ts';
import type { GitRepository } from '../../../source-controller/api.ts';
import { withCluster } from '../../support/cluster.ts';
import { restartGitServer, useGitServer, withServers } from '../../support/servers.ts';
import { conditionOf, download, sha256, useSourceHarness } from './support.ts';

const test = withServers(withCluster(anyTest));

let repoCounter = 0;
const repoName = (prefix: string): string => `${prefix}-${process.pid}-${++repoCounter}`;

/** Every form a secret could leak in. */
function leakForms(secret: string, username: string): string[] {
  return [secret, Buffer.from(secret).toString('base64'), Buffer.from(`${username}:${secret}`).toString('base64')];
}

test('basic auth from a Secret; wrong, missing and bearer credentials fail clearly and no secret appears in status, events or logs', async (t) => {
  const h = await useSourceHarness(t);
  const server = await useGitServer({ auth: true });
  const { username, password } = server.auth!;
  const repo = repoName('auth');
  await pushCommit(server, repo, { files: { 'a.yaml': 'a\n' } });
  await h.secret('git-creds', { username, password });
  await h.createGit('auth', { url: server.repoUrl(repo), interval: '30s', secretRef: { name: 'git-creds' } });
  t.is((await h.reconcile('GitRepository', 'auth')).kind, 'requeue');
  const good = (await h.get<GitRepository>('GitRepository', 'auth'))!.status!.artifact!;
  t.regex(good.revision, /^main@sha1:[0-9a-f]{40}$/);

  const wrong = `wrong-${randomBytes(12).toString('hex')}`;
  const token = `tok-${randomBytes(12).toString('hex')}`;
  const cases: Array<{ secret: Record<string, string>; reason: string }> = [
    { secret: { username, password: wrong }, reason: 'AuthenticationFailed' },
    { secret: { bearerToken: token }, reason: 'AuthenticationFailed' },
    { secret: { user: 'x' }, reason: 'InvalidSecret' },
  ];
  const messages: string[] = [];
  for (const c of cases) {
    await h.client.delete({ apiVersion: 'v1', kind: 'Secret', namespace: h.namespace, name: 'git-creds' });
    await h.secret('git-creds', c.secret);
    const report = await h.reconcile('GitRepository', 'auth');
    t.like(report, { kind: 'waiting', reason: c.reason, afterMs: 30_000 }, 'retried at the interval, not in a hot loop');
    if (report.kind === 'waiting') messages.push(report.message);
    const obj = await h.get<GitRepository>('GitRepository', 'auth');
    t.like(conditionOf(obj, 'FetchFailed'), { status: 'True', reason: c.reason });
    t.deepEqual(obj?.status?.artifact, good, 'the last good artifact stays published');
  }
  await h.client.delete({ apiVersion: 'v1', kind: 'Secret', namespace: h.namespace, name: 'git-creds' });
  t.like(await h.reconcile('GitRepository', 'auth'), { kind: 'waiting', reason: 'SecretNotFound' });
  t.like(conditionOf(await h.get<GitRepository>('GitRepository', 'auth'), 'FetchFailed'), {
    reason: 'SecretNotFound', message: `Secret ${h.namespace}/git-creds not found`,
  });

  const obj = await h.get<GitRepository>('GitRepository', 'auth');
  const everything = [
    JSON.stringify(obj), JSON.stringify(await h.events('auth')), h.logs.join('\n'), messages.join('\n'),
  ].join('\n');
  t.true(everything.includes('AuthenticationFailed'), 'the failures were recorded');
  for (const leak of [...leakForms(password, username), ...leakForms(wrong, username), token]) {
    t.false(everything.includes(leak), 'no secret value in status, events, logs or errors');
  }
});

test('an unreachable Git server: FetchFailed with backoff, the artifact kept and served; back again, it recovers without a restart', async (t) => {
  const h = await useSourceHarness(t, { backoffBaseMs: 500 });
  let server = await useGitServer();
  const repo = repoName('outage');
  await pushCommit(server, repo, { files: { 'a.yaml': '1\n' } });
  await h.createGit('outage', { url: server.repoUrl(repo), interval: '2s' });
  await h.reconcile('GitRepository', 'outage');
  const good = (await h.get<GitRepository>('GitRepository', 'outage'))!.status!.artifact!;

  await server.stop();
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    const report = await h.reconcile('GitRepository', 'outage');
    t.like(report, { kind: 'waiting', reason: 'Unreachable' });
    if (report.kind === 'waiting') delays.push(report.afterMs);
  }
  t.deepEqual(delays, [500, 1000, 2000, 2000], 'exponential backoff, capped at the interval');
  const down = await h.get<GitRepository>('GitRepository', 'outage');
  t.like(conditionOf(down, 'FetchFailed'), { status: 'True', reason: 'Unreachable' });
  t.like(conditionOf(down, 'Ready'), { status: 'False', reason: 'Unreachable' });
  t.deepEqual(down?.status?.artifact, good);
  t.is(sha256(await download(good.url)), good.digest, 'the last good artifact is still served');
  t.true((await h.events('outage')).some((e) => e.type === 'Warning' && e.reason === 'Unreachable'));

  server = await restartGitServer(server);
  const sha = await pushCommit(server, repo, { files: { 'a.yaml': '2\n' } });
  t.deepEqual(await h.reconcile('GitRepository', 'outage'), { kind: 'requeue', afterMs: 2000 });
  const up = await h.get<GitRepository>('GitRepository', 'outage');
  t.is(up?.status?.artifact?.revision, `main@sha1:${sha}`);
  t.is(conditionOf(up, 'FetchFailed'), undefined);
  t.is(conditionOf(up, 'Ready')?.status, 'True');
  // The backoff starts over after a success.
  await server.stop();
  t.like(await h.reconcile('GitRepository', 'outage'), { kind: 'waiting', afterMs: 500 });
});
