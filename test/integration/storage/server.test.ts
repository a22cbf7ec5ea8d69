// The artifact server over real storage and a real socket: served bytes hash to
// the stored digest; traversal attempts, unknown paths and planted symlinks get 404.
import anyTest, { type TestFn } from 'ava';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startArtifactServer, type ArtifactServer } from '../../../source-controller/storage/server.ts';
import { ArtifactStorage, type StoredArtifact } from '../../../source-controller/storage/storage.ts';

interface Context { storage: ArtifactStorage; server: ArtifactServer; stored: StoredArtifact; base: string }
const test = anyTest as TestFn<Context>;

interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/** Sends `path` exactly as given (no URL normalization), like a hostile client would. */
function raw(server: ArtifactServer, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

test.before(async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'trellis-artifact-server-'));
  const storage = new ArtifactStorage(join(base, 'root'));
  const src = join(base, 'artifact.tgz');
  await writeFile(src, Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251)));
  const stored = await storage.store('gitrepository', 'team-a', 'web', src);
  await writeFile(join(base, 'secret.txt'), 'outside the storage root');
  const server = await startArtifactServer({ storage, address: '127.0.0.1:0' });
  t.context = { storage, server, stored, base };
});

test.after.always(async (t) => {
  await t.context.server.stop();
});

test('GET streams the artifact; its sha256 equals the stored digest', async (t) => {
  const { server, stored } = t.context;
  const url = server.urlFor('gitrepository', 'team-a', 'web', stored.digest);
  t.is(url, `${server.url}/gitrepository/team-a/web/${stored.digest.slice(7)}.tar.gz`);
  const res = await fetch(url);
  t.is(res.status, 200);
  const body = Buffer.from(await res.arrayBuffer());
  t.is(`sha256:${createHash('sha256').update(body).digest('hex')}`, stored.digest);
  t.is(res.headers.get('content-length'), String(stored.size));
  t.is(res.headers.get('etag'), `"${stored.digest}"`);
  t.is(res.headers.get('content-type'), 'application/gzip');
});

test('HEAD has the headers and no body; If-None-Match gives 304', async (t) => {
  const { server, stored } = t.context;
  const path = `/gitrepository/team-a/web/${stored.digest.slice(7)}.tar.gz`;
  const head = await raw(server, path, 'HEAD');
  t.is(head.status, 200);
  t.is(head.headers['content-length'], String(stored.size));
  t.is(head.body.length, 0);
  const cached = await raw(server, path, 'GET', { 'if-none-match': `"${stored.digest}"` });
  t.is(cached.status, 304);
  t.is(cached.body.length, 0);
});

test('only GET and HEAD are allowed', async (t) => {
  const { server, stored } = t.context;
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const res = await raw(server, `/gitrepository/team-a/web/${stored.digest.slice(7)}.tar.gz`, method);
    t.is(res.status, 405, method);
    t.is(res.headers.allow, 'GET, HEAD');
  }
});

test('traversal attempts, unknown and malformed paths are 404', async (t) => {
  const { server, stored } = t.context;
  const hex = stored.digest.slice(7);
  const paths = [
    '/', '/gitrepository', '/gitrepository/team-a/web', `/gitrepository/team-a/other/${hex}.tar.gz`,
    `/gitrepository/team-a/web/${'0'.repeat(64)}.tar.gz`, `/gitrepository/team-a/web/${hex}`, `/gitrepository/team-a/web/${hex}.tar.gz/x`,
    '/../../../../etc/passwd', '/gitrepository/team-a/web/../../../../secret.txt',
    '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', `/gitrepository/team-a/%2e%2e/web/${hex}.tar.gz`, `/gitrepository%2fteam-a/web/${hex}.tar.gz`,
    `//gitrepository/team-a/web/${hex}.tar.gz`, '//etc/passwd', `/gitrepository/team-a/web/..%2F..%2F${hex}.tar.gz`,
    `http://127.0.0.1:${server.port}/gitrepository/team-a/web/${hex}.tar.gz/../../../secret.txt`, `/gitrepository\\team-a\\web/${hex}.tar.gz`,
    `/gitrepository/team-a/web/.${hex}.tar.gz`,
  ];
  for (const path of paths) {
    const res = await raw(server, path);
    t.is(res.status, 404, path);
    t.false(res.body.toString().includes('outside'), path);
  }
});

test('a symlink planted in the storage folder is not followed', async (t) => {
  const { server, storage, base } = t.context;
  const dir = storage.dirFor('gitrepository', 'team-a', 'planted');
  await mkdir(dir, { recursive: true });
  const fake = 'f'.repeat(64);
  await symlink(join(base, 'secret.txt'), join(dir, `${fake}.tar.gz`));
  const res = await raw(server, `/gitrepository/team-a/planted/${fake}.tar.gz`);
  t.is(res.status, 404);
  t.false(res.body.toString().includes('outside'));
});

test('urlFor uses the advertised address, so URLs work in-cluster', async (t) => {
  const { storage, stored } = t.context;
  const hex = stored.digest.slice(7);
  const inCluster = await startArtifactServer({ storage, advertisedAddress: 'source-controller.trellis-system.svc:9090' });
  const withPrefix = await startArtifactServer({ storage, advertisedAddress: 'https://artifacts.example.test/trellis/' });
  try {
    t.is(inCluster.urlFor('gitrepository', 'team-a', 'web', stored.digest), `http://source-controller.trellis-system.svc:9090/gitrepository/team-a/web/${hex}.tar.gz`);
    t.is(withPrefix.urlFor('gitrepository', 'team-a', 'web', stored.digest), `https://artifacts.example.test/trellis/gitrepository/team-a/web/${hex}.tar.gz`);
    t.not(inCluster.url, inCluster.advertisedUrl, 'the local URL stays the listen address');
    t.is((await fetch(`${inCluster.url}/gitrepository/team-a/web/${hex}.tar.gz`)).status, 200);
    t.throws(() => inCluster.urlFor('gitrepository', '..', 'web', stored.digest));
  } finally {
    await inCluster.stop();
    await withPrefix.stop();
  }
});

test('a stopped server refuses connections', async (t) => {
  const { storage, stored } = t.context;
  const server = await startArtifactServer({ storage });
  const url = server.urlFor('gitrepository', 'team-a', 'web', stored.digest);
  t.is((await fetch(url)).status, 200);
  await server.stop();
  await t.throwsAsync(fetch(url));
});
