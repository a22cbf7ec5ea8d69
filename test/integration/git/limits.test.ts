// Time and size limits of the Git fetcher, and what it sends for credentials.
// A server that accepts connections and never answers stands in for a hung Git
// server; the size cap runs against the real git server.
import anyTest from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushCommit } from '../../../hack/git-fixtures.ts';
import { GitAuthError, GitTimeoutError, GitTooLargeError, GitUnreachableError } from '../../../source-controller/git/errors.ts';
import { fetchTree } from '../../../source-controller/git/fetch.ts';
import { listRemoteRefs } from '../../../source-controller/git/refs.ts';
import { useGitServer, withServers } from '../../support/servers.ts';

const test = withServers(anyTest);

/** A TCP server that accepts and reads but never answers; reports when a client hangs up. */
async function silentServer(): Promise<{ url: string; closedByClient: Promise<void>; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let clientClosed!: () => void;
  const closedByClient = new Promise<void>((resolve) => { clientClosed = resolve; });
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => undefined);
    socket.on('close', () => { sockets.delete(socket); clientClosed(); });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/repo.git`,
    closedByClient,
    stop: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

test('a server that never answers is a GitTimeoutError, and the connection is closed', async (t) => {
  const silent = await silentServer();
  t.teardown(() => silent.stop());
  const err = await t.throwsAsync(listRemoteRefs(silent.url, { timeoutMs: 300 }), { instanceOf: GitTimeoutError });
  t.true(err instanceof GitUnreachableError, 'a timeout is a kind of unreachable');
  t.is(err?.reason, 'Timeout');
  t.regex(err?.message ?? '', /timed out after 300 ms/);
  await silent.closedByClient; // resolves only if the aborted request really hung up

  const dest = join(await mkdtemp(join(tmpdir(), 'trellis-git-')), 'tree');
  await t.throwsAsync(fetchTree(silent.url, { branch: 'main' }, dest, { timeoutMs: 300 }), { instanceOf: GitTimeoutError });
  t.false(existsSync(dest));
});

test('a download over maxDownloadBytes is GitTooLargeError and leaves nothing behind', async (t) => {
  const server = await useGitServer();
  const repo = `large-${process.pid}`;
  await pushCommit(server, repo, { files: { 'blob.bin': randomBytes(2 * 1024 * 1024), 'a.yaml': 'a\n' } });
  const base = await mkdtemp(join(tmpdir(), 'trellis-git-'));
  const err = await t.throwsAsync(fetchTree(server.repoUrl(repo), {}, join(base, 'capped'), { maxDownloadBytes: 256 * 1024 }),
    { instanceOf: GitTooLargeError });
  t.is(err?.reason, 'TooLarge');
  t.false(existsSync(join(base, 'capped')));
  const ok = await fetchTree(server.repoUrl(repo), {}, join(base, 'uncapped'), { maxDownloadBytes: 8 * 1024 * 1024 });
  t.true(existsSync(join(ok.dir, 'blob.bin')));
});

test('credentials are sent up front as Basic or Bearer, and a 401 with a token is GitAuthError', async (t) => {
  const seen: (string | undefined)[] = [];
  const server = createHttpServer((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(401, { 'www-authenticate': 'Bearer realm="x"' });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/repo.git`;

  const token = 'tok-very-secret-4711';
  const err = await t.throwsAsync(listRemoteRefs(url, { auth: { bearerToken: token } }), { instanceOf: GitAuthError });
  t.false(`${err?.message}${err?.stack}`.includes(token));
  await t.throwsAsync(listRemoteRefs(url, { auth: { username: 'alice', password: 'pw-0815' } }), { instanceOf: GitAuthError });
  t.deepEqual(seen, [`Bearer ${token}`, `Basic ${Buffer.from('alice:pw-0815').toString('base64')}`],
    'one request each: the credentials went with the first request');
});
