// Hostile repositories against the Git fetcher, served by the real Git server:
// trees written byte for byte with git's plumbing (names `..`, `.git`, `a/b`,
// duplicate entries, unknown modes), Git bombs (a tree of trees that expands
// to a million entries, trees nested hundreds deep, a pack over the cap), and
// ref names Git would refuse from a server that lists them anyway. Each is
// refused with its reason, writes nothing, and the process stays small.
import anyTest from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushCommit, pushRawTree, rawRepo, type RawEntry } from '../../../hack/git-fixtures.ts';
import { GitError, GitRefNotFoundError, GitTooLargeError, GitUnsafeTreeError } from '../../../source-controller/git/errors.ts';
import { fetchTree } from '../../../source-controller/git/fetch.ts';
import { listRemoteRefs, resolveRef } from '../../../source-controller/git/refs.ts';
import { useGitServer, withServers } from '../../support/servers.ts';

// The tests that measure the process's memory run serially: AVA runs them before the
// concurrent ones, so no other test of this file allocates while they measure.
const test = withServers(anyTest);

let counter = 0;
const repoName = (prefix: string): string => `${prefix}-${process.pid}-${++counter}`;
const dest = async (): Promise<string> => join(await mkdtemp(join(tmpdir(), 'trellis-hostile-')), 'tree');
const MiB = 1024 * 1024;

const hostileTrees: ReadonlyArray<[string, readonly RawEntry[], RegExp]> = [
  ['a `..` entry', [{ name: '..', tree: [{ name: 'escaped.yaml', content: 'x: 1\n' }] }], /"\.\." is not a file name/],
  ['a `.` entry', [{ name: '.', content: 'x' }], /is not a file name/],
  ['a `.git` folder', [{ name: '.git', tree: [{ name: 'config', content: '[core]\n\tfsmonitor = touch /tmp/pwned\n' }] }], /Git metadata/],
  ['a `.GIT` folder', [{ name: '.GIT', tree: [{ name: 'hooks', content: 'x' }] }], /Git metadata/],
  ['a nested `.git`', [{ name: 'deploy', tree: [{ name: '.git', tree: [{ name: 'HEAD', content: 'x' }] }] }], /"deploy\/\.git" names the Git metadata/],
  ['a `.git.` (trailing dot)', [{ name: '.git.', content: 'x' }], /Git metadata/],
  ['`git~1` (NTFS short name)', [{ name: 'GIT~1', tree: [{ name: 'config', content: 'x' }] }], /Git metadata/],
  ['a name with a slash (an absolute path)', [{ name: '/etc/passwd', content: 'root::0:0::/:/bin/sh\n' }], /path separator/],
  ['a name with a slash (a relative escape)', [{ name: '../../outside.yaml', content: 'x' }], /path separator/],
  ['a backslash', [{ name: '..\\outside.yaml', content: 'x' }], /path separator/],
  ['the same name twice', [{ name: 'app.yaml', content: 'a' }, { name: 'app.yaml', content: 'b' }], /appears twice/],
  ['an unknown mode', [{ name: 'dev', mode: '20000', content: 'x' }], /unknown mode/],
];

for (const [title, entries, message] of hostileTrees) {
  test(`hostile tree entries are refused: ${title}`, async (t) => {
    const server = await useGitServer();
    const repo = repoName('hostile');
    await pushRawTree(server, repo, entries);
    const dir = await dest();
    const err = await t.throwsAsync(fetchTree(server.repoUrl(repo), { branch: 'main' }, dir), { instanceOf: GitUnsafeTreeError });
    t.is(err?.reason, 'UnsafeTree');
    t.regex(err?.message ?? '', message);
    t.false(existsSync(dir), 'nothing is left of the checkout');
    t.false(existsSync(join(dir, '..', 'escaped.yaml')));
  });
}

test('a symlink that escapes the checkout is written as a link, never followed; files never go through it', async (t) => {
  const server = await useGitServer();
  const repo = repoName('symlink-escape');
  const outside = await mkdtemp(join(tmpdir(), 'trellis-outside-'));
  // `link` points outside; a second tree entry of the same name would write through it: refused as a duplicate.
  await pushRawTree(server, repo, [
    { name: 'link', mode: '120000', content: outside },
    { name: 'link', tree: [{ name: 'planted.yaml', content: 'x' }] },
  ]);
  const err = await t.throwsAsync(fetchTree(server.repoUrl(repo), { branch: 'main' }, await dest()), { instanceOf: GitUnsafeTreeError });
  t.regex(err?.message ?? '', /appears twice/);
  t.false(existsSync(join(outside, 'planted.yaml')));
});

/** A tree of `fanout` entries of the tree below, `levels` deep, over one blob: fanout^levels files in a few KiB. */
async function exponentialBomb(repo: string, server: Parameters<typeof rawRepo>[0], fanout: number, levels: number): Promise<string> {
  const writer = await rawRepo(server, repo);
  let oid = await writer.blob('boom\n');
  let mode = '100644';
  for (let level = 0; level < levels; level++) {
    const entries = Array.from({ length: fanout }, (_, i) => ({ name: `d${i}`, mode, oid }));
    oid = await writer.tree(entries);
    mode = '40000';
  }
  return writer.commit(oid);
}

test.serial('a Git bomb (a million entries from a few KiB) is refused at the entry cap, with memory bounded', async (t) => {
  const server = await useGitServer();
  const repo = repoName('bomb-wide');
  await exponentialBomb(repo, server, 10, 6); // 10^6 files
  const dir = await dest();
  const before = process.memoryUsage().rss;
  const err = await t.throwsAsync(fetchTree(server.repoUrl(repo), { branch: 'main' }, dir,
    { checkoutLimits: { maxEntries: 5000, maxBytes: 64 * MiB, maxDepth: 64 } }), { instanceOf: GitTooLargeError });
  t.is(err?.reason, 'TooLarge');
  t.regex(err?.message ?? '', /more than 5000 entries/);
  t.false(existsSync(dir));
  const grown = process.memoryUsage().rss - before;
  t.true(grown < 200 * MiB, `rss grew by ${Math.round(grown / MiB)} MiB`);
});

test('trees nested deeper than the cap are refused', async (t) => {
  const server = await useGitServer();
  const repo = repoName('bomb-deep');
  const writer = await rawRepo(server, repo);
  let oid = await writer.tree([{ name: 'leaf.yaml', content: 'x: 1\n' }]);
  for (let i = 0; i < 300; i++) oid = await writer.tree([{ name: 'd', oid, mode: '40000' }]);
  await writer.commit(oid);
  const dir = await dest();
  const err = await t.throwsAsync(fetchTree(server.repoUrl(repo), { branch: 'main' }, dir), { instanceOf: GitTooLargeError });
  t.regex(err?.message ?? '', /nested more than 64 levels/);
  t.false(existsSync(dir));
});

test('content over the checkout byte cap is refused; under the caps the same tree checks out', async (t) => {
  const server = await useGitServer();
  const repo = repoName('bomb-bytes');
  await pushCommit(server, repo, { files: { 'a.bin': randomBytes(300 * 1024), 'b.bin': randomBytes(300 * 1024) } });
  const err = await t.throwsAsync(fetchTree(server.repoUrl(repo), { branch: 'main' }, await dest(),
    { checkoutLimits: { maxEntries: 100, maxBytes: 512 * 1024, maxDepth: 8 } }), { instanceOf: GitTooLargeError });
  t.regex(err?.message ?? '', /more than 524288 bytes/);
  const ok = await fetchTree(server.repoUrl(repo), { branch: 'main' }, await dest(),
    { checkoutLimits: { maxEntries: 100, maxBytes: 1024 * 1024, maxDepth: 8 } });
  t.true(existsSync(join(ok.dir, 'b.bin')));
});

test.serial('a pack over the fetch cap is refused while it streams, with memory bounded', async (t) => {
  const server = await useGitServer();
  const repo = repoName('bomb-pack');
  await pushCommit(server, repo, { files: { 'noise.bin': randomBytes(40 * MiB) } });
  const before = process.memoryUsage().rss;
  const err = await t.throwsAsync(fetchTree(server.repoUrl(repo), { branch: 'main' }, await dest(), { maxDownloadBytes: 2 * MiB }),
    { instanceOf: GitTooLargeError });
  t.is(err?.reason, 'TooLarge');
  const grown = process.memoryUsage().rss - before;
  t.true(grown < 24 * MiB, `rss grew by ${Math.round(grown / MiB)} MiB for a 40 MiB pack capped at 2 MiB`);
});

/** A pkt-line. */
const pkt = (line: string): string => `${(line.length + 4).toString(16).padStart(4, '0')}${line}`;

test('ref names Git would refuse are ignored in a listing, and never fetched', async (t) => {
  const sha = 'a'.repeat(40);
  const refs = ['refs/heads/main', 'refs/heads/../../../../tmp/evil', 'refs/heads/ok/../x', 'refs/tags/v1\u0001', 'refs/heads/.hidden',
    'refs/heads/x.lock', 'refs/tags/v2.0.0', 'refs/heads/a@{1}', 'HEAD~1', 'refs/heads/tab\there'];
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement' });
    const lines = refs.map((name) => pkt(`${sha} ${name}\n`));
    res.end(`${pkt('# service=git-upload-pack\n')}0000${pkt(`${sha} HEAD\0symref=HEAD:refs/heads/main\n`)}${lines.join('')}0000`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/r.git`;
  const listed = await listRemoteRefs(url);
  t.deepEqual(listed.map((r) => r.name).sort(), ['HEAD', 'refs/heads/main', 'refs/tags/v2.0.0']);
  const err = await t.throwsAsync(resolveRef(url, { branch: '../../../../tmp/evil' }), { instanceOf: GitRefNotFoundError });
  t.is(err?.reason, 'InvalidRef');
  t.regex(err?.message ?? '', /not a valid ref name/);
  await t.throwsAsync(resolveRef(url, { tag: 'v1\u0001' }), { instanceOf: GitError });
});

test('an info/refs listing over its cap is refused', async (t) => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement' });
    let i = 0;
    const chunk = (): string => Array.from({ length: 64 }, () => pkt(`${'b'.repeat(40)} refs/heads/${++i}-${'x'.repeat(900)}\n`)).join('');
    const write = (n: number): void => {
      if (n === 0 || res.destroyed) { res.end(); return; }
      if (res.write(chunk())) write(n - 1); else res.once('drain', () => write(n - 1));
    };
    res.write(`${pkt('# service=git-upload-pack\n')}0000${pkt(`${'b'.repeat(40)} HEAD\0symref=HEAD:refs/heads/main\n`)}`);
    write(400); // about 24 MiB
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/r.git`;
  // isomorphic-git takes a failing body for the end of the listing: without a check, a shorter listing would be returned.
  const err = await t.throwsAsync(listRemoteRefs(url), { instanceOf: GitTooLargeError });
  t.is(err?.reason, 'TooLarge');
});

test.serial('a zip-bomb blob (256 MiB of zeros, a few hundred KiB packed) is refused before the library inflates it', async (t) => {
  const server = await useGitServer();
  const repo = repoName('bomb-zip');
  const writer = await rawRepo(server, repo);
  const zeros = await writer.zeroBlob(256 * MiB);
  await writer.commit(await writer.tree([{ name: 'zeros.bin', oid: zeros }]));
  const dir = await dest();
  const before = process.memoryUsage().rss;
  // Without the guard isomorphic-git grows by about 1 GiB here (four times the blob).
  const err = await t.throwsAsync(fetchTree(server.repoUrl(repo), { branch: 'main' }, dir), { instanceOf: GitTooLargeError });
  t.regex(err?.message ?? '', /inflate to more than 67108864 bytes/);
  t.false(existsSync(dir));
  const grown = process.memoryUsage().rss - before;
  t.true(grown < 100 * MiB, `rss grew by ${Math.round(grown / MiB)} MiB`);
});
