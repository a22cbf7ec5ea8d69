// The source-host policy on the Git and OCI clients, with real sockets: cloud
// metadata addresses refused before any connection, a name refused for the
// address it resolves to (the system resolver, `localhost`), a redirect from an
// allowed server to a denied one refused and never followed, and a server's
// response body (a secret-looking one) never in an error message.
import anyTest from 'ava';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushCommit } from '../../../hack/git-fixtures.ts';
import { GitError, GitUnreachableError } from '../../../source-controller/git/errors.ts';
import { fetchTree } from '../../../source-controller/git/fetch.ts';
import { listRemoteRefs } from '../../../source-controller/git/refs.ts';
import { HostPolicy } from '../../../source-controller/net/host-policy.ts';
import { OciClient, OciError } from '../../../source-controller/oci/index.ts';
import { useGitServer, withServers } from '../../support/servers.ts';

const test = withServers(anyTest);

const SECRET = 'AKIAIOSFODNN7EXAMPLE-wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';

/** A loopback HTTP server; counts its requests. */
async function httpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; port: number; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => { hits.push(`${req.method} ${req.url}`); handler(req, res); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  anyTestTeardowns.push(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { url: `http://127.0.0.1:${port}`, port, hits };
}
const anyTestTeardowns: Array<() => Promise<void>> = [];
test.after.always(async () => { for (const stop of anyTestTeardowns) await stop(); });

test('a cloud metadata URL is refused before any connection: Git and OCI', async (t) => {
  for (const url of ['http://169.254.169.254/latest/meta-data/iam.git', 'http://[fe80::1]/r.git', 'http://[::ffff:169.254.169.254]/r.git']) {
    const err = await t.throwsAsync(listRemoteRefs(url, { timeoutMs: 5000 }), { instanceOf: GitError });
    t.is(err?.reason, 'HostDenied', url);
    t.regex(err?.message ?? '', /source host policy refuses/);
  }
  const oci = new OciClient({ insecure: true, maxRetries: 0, hostPolicy: new HostPolicy() });
  t.teardown(() => oci.close());
  const err = await t.throwsAsync(oci.resolve({ host: '169.254.169.254', repository: 'x/y' }, { tag: 'latest' }), { instanceOf: OciError });
  t.is(err?.reason, 'HostDenied');
});

test('a name is checked for the address it resolves to (localhost -> 127.0.0.1 denied at the Git server\'s port)', async (t) => {
  const server = await useGitServer();
  const repo = `ssrf-${process.pid}`;
  await pushCommit(server, repo, { files: { 'a.yaml': 'a: 1\n' } });
  const policy = new HostPolicy({ deny: [`127.0.0.0/8:${server.port}`] });
  const viaName = server.repoUrl(repo).replace('127.0.0.1', 'localhost');
  const err = await t.throwsAsync(listRemoteRefs(viaName, { hostPolicy: policy }), { instanceOf: GitError });
  t.is(err?.reason, 'HostDenied');
  t.regex(err?.message ?? '', /127\.0\.0\.1 matches the deny rule 127\.0\.0\.0\/8:\d+/);
  // Without that rule the same URL works: the refusal was the policy's.
  const refs = await listRemoteRefs(viaName);
  t.true(refs.some((r) => r.name === 'refs/heads/main'));
  const dest = join(await mkdtemp(join(tmpdir(), 'trellis-ssrf-')), 'tree');
  await t.throwsAsync(fetchTree(viaName, { branch: 'main' }, dest, { hostPolicy: policy }), { instanceOf: GitError });
});

test('a redirect from an allowed server to a denied address is refused, and the denied server never sees a request', async (t) => {
  const internal = await httpServer((_req, res) => { res.writeHead(200); res.end(SECRET); });
  const metadata = await httpServer((_req, res) => { res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }); res.end(); });
  const toInternal = await httpServer((req, res) => { res.writeHead(302, { location: `${internal.url}${req.url}` }); res.end(); });
  const policy = new HostPolicy({ deny: [`127.0.0.1:${internal.port}`] });

  const first = await t.throwsAsync(listRemoteRefs(`${metadata.url}/r.git`, { hostPolicy: policy }), { instanceOf: GitError });
  t.is(first?.reason, 'HostDenied');
  const second = await t.throwsAsync(listRemoteRefs(`${toInternal.url}/r.git`, { hostPolicy: policy }), { instanceOf: GitError });
  t.is(second?.reason, 'HostDenied');
  t.deepEqual(internal.hits, [], 'the denied server was never connected to');
  t.is(toInternal.hits.length, 1);

  const oci = new OciClient({ insecure: true, maxRetries: 0, hostPolicy: policy });
  t.teardown(() => oci.close());
  const err = await t.throwsAsync(oci.resolve({ host: `127.0.0.1:${toInternal.port}`, repository: 'x/y' }, { tag: 'latest' }),
    { instanceOf: OciError });
  t.is(err?.reason, 'HostDenied');
  t.deepEqual(internal.hits, []);
});

test('credentials never follow a redirect to another origin', async (t) => {
  const seen: Array<string | undefined> = [];
  const other = await httpServer((req, res) => { seen.push(req.headers.authorization); res.writeHead(404); res.end(); });
  const origin = await httpServer((req, res) => { res.writeHead(302, { location: `${other.url}${req.url}` }); res.end(); });
  await t.throwsAsync(listRemoteRefs(`${origin.url}/r.git`, { auth: { bearerToken: 'tok-do-not-forward' } }), { instanceOf: GitError });
  t.deepEqual(seen, [undefined]);
});

test('a server\'s answer never reaches the error message: 500 with a secret body, a 200 that is not Git, a registry\'s free text', async (t) => {
  const failing = await httpServer((_req, res) => {
    res.writeHead(500, `Internal ${SECRET}`, { 'content-type': 'text/plain' });
    res.end(`database password: ${SECRET}\n`);
  });
  const notGit = await httpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`{"AccessKeyId": "${SECRET}"}`);
  });
  const registry = await httpServer((_req, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'DENIED', message: `token ${SECRET}`, detail: SECRET }] }));
  });
  const e500 = await t.throwsAsync(listRemoteRefs(`${failing.url}/r.git`), { instanceOf: GitUnreachableError });
  t.regex(e500?.message ?? '', /HTTP 500 Internal Server Error/);
  const e200 = await t.throwsAsync(listRemoteRefs(`${notGit.url}/r.git`), { instanceOf: GitError });
  const oci = new OciClient({ insecure: true, maxRetries: 0, hostPolicy: new HostPolicy() });
  t.teardown(() => oci.close());
  const eOci = await t.throwsAsync(oci.listTags({ host: `127.0.0.1:${registry.port}`, repository: 'x/y' }), { instanceOf: OciError });
  t.regex(eOci?.message ?? '', /HTTP 400, DENIED/);
  for (const err of [e500, e200, eOci]) {
    const text = `${err?.message} ${JSON.stringify(err)} ${String(err?.stack)}`;
    t.false(text.includes('AKIAIOSFODNN7EXAMPLE'), text);
  }
});
