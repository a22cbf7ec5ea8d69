// The harness's registry is the real Distribution server: it stores OCI artifact
// manifests byte for byte, refuses requests without credentials when auth is on,
// and serves TLS that only its generated CA verifies.
import anyTest from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { startRegistry, type Registry } from '../../../hack/registry.ts';
import { scratchDir } from '../../support/cluster.ts';
import { useRegistry, withServers } from '../../support/servers.ts';

const test = withServers(anyTest);

interface Reply { status: number; headers: IncomingHttpHeaders; body: Buffer }
interface Call { method?: string; headers?: Record<string, string>; body?: Buffer; ca?: Buffer | undefined; auth?: { username: string; password: string } | undefined }

/** One HTTP(S) request with node's own clients (the project's OCI client is not used here on purpose). */
function call(url: string, c: Call = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...c.headers };
  if (c.auth) headers.authorization = `Basic ${Buffer.from(`${c.auth.username}:${c.auth.password}`).toString('base64')}`;
  if (c.body) headers['content-length'] = String(c.body.length);
  return new Promise((resolve, reject) => {
    const opts = { method: c.method ?? 'GET', headers, ...(c.ca ? { ca: c.ca } : {}) };
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    };
    const req = url.startsWith('https:') ? httpsRequest(url, opts, onResponse) : httpRequest(url, opts, onResponse);
    req.on('error', reject);
    req.end(c.body);
  });
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The two-step monolithic blob upload: POST for a session, PUT the bytes with ?digest=. */
async function uploadBlob(reg: Registry, repo: string, blob: Buffer, c: Call = {}): Promise<{ post: Reply; put?: Reply }> {
  const post = await call(`${reg.url}/v2/${repo}/blobs/uploads/`, { ...c, method: 'POST' });
  if (post.status !== 202) return { post };
  const location = new URL(String(post.headers.location), reg.url);
  location.searchParams.set('digest', sha256(blob));
  const put = await call(location.href, { ...c, method: 'PUT', body: blob, headers: { 'content-type': 'application/octet-stream' } });
  return { post, put };
}

function artifactManifest(config: Buffer, layer: Buffer): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.trellis.package.v1',
    config: { mediaType: 'application/vnd.trellis.package.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.trellis.package.content.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    annotations: { 'org.opencontainers.image.version': '1.0.0' },
  }));
}

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

test('with auth, blobs and an OCI artifact manifest are pushed with credentials and read back byte for byte', async (t) => {
  const reg = await useRegistry({ auth: true });
  t.truthy(reg.auth, 'the harness hands out the generated credentials');
  const auth = reg.auth;
  const config = Buffer.from('{"name":"web","version":"1.0.0"}');
  const layer = Buffer.from('not really a tarball, the registry does not care');
  for (const blob of [config, layer]) {
    const { post, put } = await uploadBlob(reg, 'team/web', blob, { auth });
    t.is(post.status, 202);
    t.is(put?.status, 201);
    t.is(put?.headers['docker-content-digest'], sha256(blob));
  }
  const manifest = artifactManifest(config, layer);
  const put = await call(`${reg.url}/v2/team/web/manifests/1.0.0`, {
    method: 'PUT', auth, body: manifest, headers: { 'content-type': MANIFEST_TYPE },
  });
  t.is(put.status, 201, put.body.toString());
  t.is(put.headers['docker-content-digest'], sha256(manifest));

  const get = await call(`${reg.url}/v2/team/web/manifests/1.0.0`, { auth, headers: { accept: MANIFEST_TYPE } });
  t.is(get.status, 200);
  t.deepEqual(get.body, manifest, 'the same bytes, not a re-serialization');
  t.is(get.headers['docker-content-digest'], sha256(manifest));
  t.is(get.headers['content-type'], MANIFEST_TYPE);
  const blob = await call(`${reg.url}/v2/team/web/blobs/${sha256(layer)}`, { auth });
  t.deepEqual(blob.body, layer);
});

test('with auth, requests without credentials or with a wrong password get 401', async (t) => {
  const reg = await useRegistry({ auth: true });
  const auth = reg.auth;
  if (!auth) return t.fail('no credentials');
  const layer = Buffer.from('content');
  t.is((await uploadBlob(reg, 'team/web', layer, { auth })).put?.status, 201);
  const manifest = artifactManifest(layer, layer);
  const wrong = { username: auth.username, password: `${auth.password}x` };
  for (const [what, creds] of [['no credentials', undefined], ['a wrong password', wrong]] as const) {
    const v2 = await call(`${reg.url}/v2/`, { auth: creds });
    t.is(v2.status, 401, `GET /v2/ with ${what}`);
    t.regex(String(v2.headers['www-authenticate']), /^Basic realm=/);
    t.is((await uploadBlob(reg, 'team/web', layer, { auth: creds })).post.status, 401, `blob upload with ${what}`);
    const put = await call(`${reg.url}/v2/team/web/manifests/1.0.0`, {
      method: 'PUT', auth: creds, body: manifest, headers: { 'content-type': MANIFEST_TYPE },
    });
    t.is(put.status, 401, `manifest PUT with ${what}`);
    t.is((await call(`${reg.url}/v2/team/web/blobs/${sha256(layer)}`, { auth: creds })).status, 401, `blob GET with ${what}`);
  }
  // Nothing was written by the refused PUT.
  const get = await call(`${reg.url}/v2/team/web/manifests/1.0.0`, { auth, headers: { accept: MANIFEST_TYPE } });
  t.is(get.status, 404);
});

test('without auth, the same requests need no credentials', async (t) => {
  const reg = await useRegistry();
  t.is(reg.auth, undefined);
  t.is((await call(`${reg.url}/v2/`)).status, 200);
  t.is((await uploadBlob(reg, 'plain', Buffer.from('x'))).put?.status, 201);
});

test('a TLS registry is reached with the generated CA and fails verification without it', async (t) => {
  const reg = await useRegistry({ tls: true, auth: true });
  t.true(reg.url.startsWith('https://127.0.0.1:'));
  if (!reg.caFile) return t.fail('no CA file for a TLS registry');
  const ca = readFileSync(reg.caFile);
  const layer = Buffer.from('over TLS');
  const { put } = await uploadBlob(reg, 'secure/app', layer, { ca, auth: reg.auth });
  t.is(put?.status, 201);
  const got = await call(`${reg.url}/v2/secure/app/blobs/${sha256(layer)}`, { ca, auth: reg.auth });
  t.deepEqual(got.body, layer);

  const err = await t.throwsAsync(call(`${reg.url}/v2/`));
  t.regex((err as NodeJS.ErrnoException).code ?? '', /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/);
  // Plain HTTP to the TLS port is not served either.
  const plain = await call(`${reg.url.replace('https:', 'http:')}/v2/`);
  t.is(plain.status, 400);
});

test('starting on the same folder reuses the running registry; another folder is an independent registry', async (t) => {
  const dir = scratchDir('registry-reuse');
  const first = await startRegistry({ dir, log: () => undefined });
  t.teardown(() => first.stop());
  const again = await startRegistry({ dir, log: () => undefined });
  t.is(again.pid, first.pid);
  t.is(again.url, first.url);

  const other = await useRegistry();
  t.not(other.url, first.url);
  const blob = Buffer.from('only in the first registry');
  t.is((await uploadBlob(first, 'repo', blob)).put?.status, 201);
  t.is((await call(`${first.url}/v2/repo/blobs/${sha256(blob)}`)).status, 200);
  t.is((await call(`${other.url}/v2/repo/blobs/${sha256(blob)}`)).status, 404);

  // Stopped, the same folder starts a new process that still has the blob.
  await first.stop();
  const restarted = await startRegistry({ dir, log: () => undefined });
  t.teardown(() => restarted.stop());
  t.not(restarted.pid, first.pid);
  t.is((await call(`${restarted.url}/v2/repo/blobs/${sha256(blob)}`)).status, 200);
});
