// The harness's Git server is `git http-backend`: commits pushed with the real git
// CLI are cloned by isomorphic-git over smart HTTP, basic auth is enforced, and
// force pushes and tags look to a client as they would on any Git host.
import anyTest, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { InvalidRepoNameError, type GitServer } from '../../../hack/git-server.ts';
import { GitFixtureError, pushCommit } from '../../../hack/git-fixtures.ts';
import { scratchDir } from '../../support/cluster.ts';
import { restartGitServer, useGitServer, withServers } from '../../support/servers.ts';

const test = withServers(anyTest);

function credentials(server: GitServer): { username: string; password: string } {
  if (!server.auth) throw new Error('server has no auth');
  return server.auth;
}

async function cloneInto(t: ExecutionContext, url: string, opts: Partial<Parameters<typeof git.clone>[0]> = {}): Promise<string> {
  const dir = scratchDir('clone');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await git.clone({ fs, http, dir, url, ...opts });
  return dir;
}

/** The part of getRemoteInfo's answer these tests read (isomorphic-git types it as any). */
interface RemoteRefs { heads?: Record<string, string>; tags?: Record<string, string> }

async function remoteRefs(url: string, onAuth?: () => { username: string; password: string }): Promise<{ HEAD?: string; refs: RemoteRefs }> {
  const info = await git.getRemoteInfo({ http, url, ...(onAuth ? { onAuth } : {}) });
  return { ...(info.HEAD ? { HEAD: info.HEAD } : {}), refs: (info.refs ?? {}) as RemoteRefs };
}

function httpStatus(err: unknown): number | undefined {
  const e = err as { code?: string; data?: { statusCode?: number } };
  return e.code === 'HttpError' ? e.data?.statusCode : undefined;
}

test('a commit pushed with git is cloned by isomorphic-git over HTTP with the same contents', async (t) => {
  const server = await useGitServer();
  const binary = Buffer.from([0, 255, 1, 254, 10, 13]);
  const sha = await pushCommit(server, 'team/app', {
    files: { 'README.md': '# app\n', 'deploy/web.yaml': 'kind: ConfigMap\n', 'data.bin': binary },
    symlinks: { 'link.yaml': 'deploy/web.yaml' },
    message: 'first',
  });
  t.regex(sha, /^[0-9a-f]{40}$/);
  const dir = await cloneInto(t, server.repoUrl('team/app'));
  t.is(fs.readFileSync(join(dir, 'README.md'), 'utf8'), '# app\n');
  t.is(fs.readFileSync(join(dir, 'deploy/web.yaml'), 'utf8'), 'kind: ConfigMap\n');
  t.deepEqual(fs.readFileSync(join(dir, 'data.bin')), binary);
  t.is(fs.readlinkSync(join(dir, 'link.yaml')), 'deploy/web.yaml');
  t.is(await git.resolveRef({ fs, dir, ref: 'HEAD' }), sha);
  t.is(await git.currentBranch({ fs, dir }), 'main');
  const [head] = await git.log({ fs, dir, depth: 1 });
  t.is(head?.commit.message.trim(), 'first');

  // A second push changes and deletes files on top of the first commit.
  const second = await pushCommit(server, 'team/app', { files: { 'README.md': '# app v2\n', 'data.bin': null } });
  const dir2 = await cloneInto(t, server.repoUrl('team/app'));
  t.is(fs.readFileSync(join(dir2, 'README.md'), 'utf8'), '# app v2\n');
  t.false(fs.existsSync(join(dir2, 'data.bin')));
  t.true(fs.existsSync(join(dir2, 'deploy/web.yaml')), 'untouched files stay');
  const [top] = await git.log({ fs, dir: dir2, depth: 1 });
  t.is(top?.oid, second);
  t.deepEqual(top?.commit.parent, [sha]);
});

test('with auth, a clone without credentials fails with HTTP 401 and one with credentials succeeds', async (t) => {
  const server = await useGitServer({ auth: true });
  const auth = credentials(server);
  const sha = await pushCommit(server, 'private', { files: { 'secret.txt': 'classified' } });
  const url = server.repoUrl('private');

  const anonymous = await t.throwsAsync(cloneInto(t, url));
  t.is(httpStatus(anonymous), 401);
  let asked = 0;
  const wrong = await t.throwsAsync(cloneInto(t, url, {
    onAuth: () => { asked += 1; return { username: auth.username, password: 'not-the-password' }; },
  }));
  t.is(asked, 1, 'the server asked for credentials');
  t.is(httpStatus(wrong), 401, 'and refused the wrong ones');
  t.false(String(wrong?.message).includes(auth.password), 'no credentials in the error');

  const dir = await cloneInto(t, url, { onAuth: () => ({ username: auth.username, password: auth.password }) });
  t.is(fs.readFileSync(join(dir, 'secret.txt'), 'utf8'), 'classified');
  t.is(await git.resolveRef({ fs, dir, ref: 'HEAD' }), sha);
});

test('a fixture push with wrong credentials fails without printing them', async (t) => {
  const server = await useGitServer({ auth: true });
  const wrong = { ...server, auth: { username: credentials(server).username, password: 'wrong-password-123' } };
  const err = await t.throwsAsync(pushCommit(wrong, 'repo', { files: { a: 'b' } }), { instanceOf: GitFixtureError });
  t.false(String(err?.message).includes('wrong-password-123'));
  t.false(String(err?.message).includes(Buffer.from(`${wrong.auth.username}:wrong-password-123`).toString('base64')));
});

test('a force push of an orphan commit replaces the branch history', async (t) => {
  const server = await useGitServer();
  const url = server.repoUrl('rewritten');
  const before = await pushCommit(server, 'rewritten', { files: { 'old.txt': 'old' } });
  const after = await pushCommit(server, 'rewritten', { files: { 'new.txt': 'new' }, force: true });
  t.not(after, before);
  const refs = await git.listServerRefs({ http, url, prefix: 'refs/heads/' });
  t.deepEqual(refs, [{ ref: 'refs/heads/main', oid: after }]);
  const dir = await cloneInto(t, url);
  const log = await git.log({ fs, dir });
  t.deepEqual(log.map((c) => c.oid), [after], 'the new history is the orphan commit alone');
  t.false(fs.existsSync(join(dir, 'old.txt')));
  t.is(fs.readFileSync(join(dir, 'new.txt'), 'utf8'), 'new');
});

test('tags and branches pushed are listed by getRemoteInfo and listServerRefs', async (t) => {
  const server = await useGitServer({ auth: true });
  const auth = credentials(server);
  const onAuth = (): { username: string; password: string } => auth;
  const url = server.repoUrl('tagged');
  const v1 = await pushCommit(server, 'tagged', { files: { 'v.txt': '1' }, tags: ['v1.0.0'] });
  const v2 = await pushCommit(server, 'tagged', { files: { 'v.txt': '2' }, tags: ['v1.1.0', 'latest'], annotatedTags: true });
  const feature = await pushCommit(server, 'tagged', { files: { 'f.txt': 'f' }, branch: 'feature' });

  const info = await remoteRefs(url, onAuth);
  t.is(info.HEAD, 'refs/heads/main');
  t.is(info.refs.heads?.main, v2);
  t.is(info.refs.heads?.feature, feature);
  t.is(info.refs.tags?.['v1.0.0'], v1);
  t.truthy(info.refs.tags?.['v1.1.0']);

  const tags = await git.listServerRefs({ http, url, onAuth, prefix: 'refs/tags/', peelTags: true });
  const byRef = new Map(tags.map((r) => [r.ref, r]));
  t.deepEqual([...byRef.keys()].sort(), ['refs/tags/latest', 'refs/tags/v1.0.0', 'refs/tags/v1.1.0']);
  t.is(byRef.get('refs/tags/v1.0.0')?.oid, v1, 'a lightweight tag names the commit');
  t.not(byRef.get('refs/tags/v1.1.0')?.oid, v2, 'an annotated tag is its own object');
  t.is(byRef.get('refs/tags/v1.1.0')?.peeled, v2, 'which peels to the commit');
  // The feature branch started from main.
  const dir = await cloneInto(t, url, { onAuth, ref: 'feature', singleBranch: true });
  t.is(fs.readFileSync(join(dir, 'v.txt'), 'utf8'), '2');
  t.is(fs.readFileSync(join(dir, 'f.txt'), 'utf8'), 'f');

  // Moving a tag is a forced update of that tag.
  const v3 = await pushCommit(server, 'tagged', { files: { 'v.txt': '3' }, tags: ['latest'] });
  const moved = await git.listServerRefs({ http, url, onAuth, prefix: 'refs/tags/latest' });
  t.deepEqual(moved.map((r) => r.oid), [v3]);
});

test('a stopped server refuses connections; started again on the same folder and port it serves the same repos', async (t) => {
  const server = await useGitServer();
  const sha = await pushCommit(server, 'durable', { files: { 'a.txt': 'a' } });
  await server.stop();
  const down = await t.throwsAsync(git.getRemoteInfo({ http, url: server.repoUrl('durable') }));
  t.regex(String((down as NodeJS.ErrnoException).code), /ECONNREFUSED/);
  const again = await restartGitServer(server);
  t.is(again.url, server.url);
  const info = await remoteRefs(again.repoUrl('durable'));
  t.is(info.refs.heads?.main, sha);
});

test('bad repo names and unknown repos are refused', async (t) => {
  const server = await useGitServer();
  for (const name of ['../escape', '/abs', 'a/../b', 'x.git', '', 'with space']) {
    await t.throwsAsync(server.createRepo(name), { instanceOf: InvalidRepoNameError }, name);
  }
  const missing = await t.throwsAsync(git.getRemoteInfo({ http, url: server.repoUrl('does-not-exist') }));
  t.is(httpStatus(missing), 404);
  // A path trying to leave the repo root through the URL is not served.
  const escape = await fetch(`${server.url}/..%2f..%2fetc/info/refs?service=git-upload-pack`);
  t.true(escape.status >= 400);
});

test('a new repo has HEAD on main and accepts a first push; pushCommit also writes to bare repos on disk', async (t) => {
  const server = await useGitServer();
  await server.createRepo('empty');
  t.is(fs.readFileSync(join(server.root, 'empty.git', 'HEAD'), 'utf8').trim(), 'ref: refs/heads/main');
  const empty = await git.listServerRefs({ http, url: server.repoUrl('empty') });
  t.deepEqual(empty, [], 'no refs before the first push');

  const onDisk = scratchDir('bare');
  const sha = await pushCommit(join(onDisk, 'repos'), 'local', { files: { 'x.txt': 'x' } });
  const gitdir = join(onDisk, 'repos', 'local.git');
  t.is(await git.resolveRef({ fs, gitdir, ref: 'refs/heads/main' }), sha);
  const { blob } = await git.readBlob({ fs, gitdir, oid: sha, filepath: 'x.txt' });
  t.is(Buffer.from(blob).toString(), 'x');
});

/** A protocol-v0 upload-pack request asking for `sha` (what a git client POSTs to fetch it). */
function uploadPackRequest(sha: string): Buffer {
  const want = `want ${sha}\n`;
  return Buffer.from(`${(want.length + 4).toString(16).padStart(4, '0')}${want}00000009done\n`);
}

test('upload-pack request bodies arrive gzip-encoded or chunked, as git clients send them', async (t) => {
  const server = await useGitServer();
  const sha = await pushCommit(server, 'wire', { files: { 'a.txt': 'a' } });
  const endpoint = `${server.repoUrl('wire')}/git-upload-pack`;
  const headers = { 'content-type': 'application/x-git-upload-pack-request' };
  const pack = async (res: Response): Promise<string> => {
    t.is(res.status, 200);
    t.is(res.headers.get('content-type'), 'application/x-git-upload-pack-result');
    return Buffer.from(await res.arrayBuffer()).toString('latin1');
  };

  const gzipped = await fetch(endpoint, { method: 'POST', headers: { ...headers, 'content-encoding': 'gzip' }, body: gzipSync(uploadPackRequest(sha)) });
  t.regex(await pack(gzipped), /^0008NAK\nPACK/, 'http-backend inflated the body and sent a pack');

  // No Content-Length: the body is streamed in chunks until its end.
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(uploadPackRequest(sha));
      controller.close();
    },
  });
  const chunked = await fetch(endpoint, { method: 'POST', headers, body, duplex: 'half' });
  t.regex(await pack(chunked), /^0008NAK\nPACK/);

  // A body that claims gzip but is not gives no pack.
  const broken = await fetch(endpoint, { method: 'POST', headers: { ...headers, 'content-encoding': 'gzip' }, body: uploadPackRequest(sha) });
  const text = Buffer.from(await broken.arrayBuffer()).toString('latin1');
  t.false(broken.status === 200 && text.includes('PACK'));
});

/** Processes working for the server under `root`: its path is in their command line, working folder or environment. */
function processesUnder(root: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const where = [cmdline, fs.readlinkSync(`/proc/${entry}/cwd`), fs.readFileSync(`/proc/${entry}/environ`, 'utf8')];
      if (where.some((w) => w.includes(root))) found.push(`${entry}: ${cmdline}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

test('stopping the server in the middle of a transfer leaves no git process behind', async (t) => {
  const server = await useGitServer();
  // Incompressible and larger than every buffer on the way, so the pack cannot be sent before we read it.
  const sha = await pushCommit(server, 'big', { files: { 'big.bin': randomBytes(24 * 1024 * 1024) } });
  const res = await fetch(`${server.repoUrl('big')}/git-upload-pack`, {
    method: 'POST', headers: { 'content-type': 'application/x-git-upload-pack-request' }, body: uploadPackRequest(sha),
  });
  t.is(res.status, 200);
  t.true(processesUnder(server.root).length > 0, 'upload-pack is still sending');
  await server.stop();
  t.deepEqual(processesUnder(server.root), []);
  await t.throwsAsync(res.arrayBuffer(), undefined, 'the response was cut off');
});
