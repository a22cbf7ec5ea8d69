// Credentials and transport security against real servers: the registry with
// htpasswd Basic auth, with TLS from a private CA, plain HTTP, and the bearer-token
// challenge flow through test/support/token-auth-proxy.ts in front of the registry.
import anyTest from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AuthenticationError, OciClient, TRELLIS_CONTENT_MEDIA_TYPE, TlsError, credentialsForHost, parseDockerConfig, parseReference,
} from '../../../source-controller/oci/index.ts';
import { scratchDir } from '../../support/cluster.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { startTokenAuthProxy } from '../../support/token-auth-proxy.ts';

const test = withServers(anyTest);
const layer = (bytes: Uint8Array) => ({ layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, bytes }], tag: '1.0.0' });
const dest = (): string => mkdtempSync(join(scratchDir('oci-pull'), 'p-'));

test('htpasswd registry: right credentials from a dockerconfigjson push and pull; wrong or none are AuthenticationFailed', async (t) => {
  const registry = await useRegistry({ auth: true });
  const auth = registry.auth!;
  const dockerConfig = JSON.stringify({ auths: { [`http://${registry.host}`]: { auth: Buffer.from(`${auth.username}:${auth.password}`).toString('base64') } } });
  const config = parseDockerConfig(dockerConfig);
  const good = new OciClient({ insecure: true, credentials: (host) => credentialsForHost(config, host) });
  t.teardown(() => good.close());
  const repo = parseReference(`oci://${registry.host}/private/web`);
  const content = randomBytes(1000);
  const pushed = await good.pushArtifact(repo, layer(content));
  const pulled = await good.pullArtifact(repo, { tag: '1.0.0' }, dest());
  t.true(readFileSync(pulled.file).equals(content));
  t.is(pulled.digest, pushed.digest);

  const wrongPassword = 'wrong-' + randomBytes(6).toString('hex');
  const bad = new OciClient({ insecure: true, credentials: { username: auth.username, password: wrongPassword } });
  t.teardown(() => bad.close());
  const refused = await t.throwsAsync(bad.resolve(repo, { tag: '1.0.0' }), { instanceOf: AuthenticationError });
  t.is(refused.reason, 'AuthenticationFailed');
  t.is(refused.statusCode, 401);
  t.regex(refused.message, /^manifest 127\.0\.0\.1:\d+\/private\/web:1\.0\.0: 127\.0\.0\.1:\d+ refused the credentials \(HTTP 401\)$/);
  t.false(refused.message.includes(wrongPassword), 'the password is not in the message');
  t.false(refused.message.includes(Buffer.from(`${auth.username}:${wrongPassword}`).toString('base64')));
  await t.throwsAsync(bad.pushArtifact(repo, layer(randomBytes(10))), { instanceOf: AuthenticationError });

  const anonymous = new OciClient({ insecure: true });
  t.teardown(() => anonymous.close());
  await t.throwsAsync(anonymous.resolve(repo, { tag: '1.0.0' }), { instanceOf: AuthenticationError, message: /requires credentials and none were configured/ });
});

test('TLS registry with a private CA: works with the CA, fails verification without it', async (t) => {
  const registry = await useRegistry({ tls: true });
  const repo = parseReference(`oci://${registry.host}/secure/web`);
  const trusted = new OciClient({ caFile: registry.caFile });
  t.teardown(() => trusted.close());
  const content = randomBytes(5000);
  const pushed = await trusted.pushArtifact(repo, layer(content));
  const pulled = await trusted.pullArtifact(repo, { tag: '1.0.0' }, dest());
  t.true(readFileSync(pulled.file).equals(content));
  t.is(pulled.digest, pushed.digest);
  const withPem = new OciClient({ ca: readFileSync(registry.caFile!, 'utf8') });
  t.teardown(() => withPem.close());
  t.is((await withPem.resolve(repo, { tag: '1.0.0' })).digest, pushed.digest);

  const untrusted = new OciClient({ maxRetries: 3 });
  t.teardown(() => untrusted.close());
  const err = await t.throwsAsync(untrusted.resolve(repo, { tag: '1.0.0' }), { instanceOf: TlsError });
  t.is(err.reason, 'TLSVerificationFailed');
  t.false(err.transient, 'not retried: time does not fix an unknown CA');
  t.regex(err.message, /CA certificate/);
});

test('plain HTTP needs insecure; without it the TLS handshake fails with a hint', async (t) => {
  const registry = await useRegistry();
  const repo = parseReference(`oci://${registry.host}/plain/web`);
  const insecure = new OciClient({ insecure: true });
  t.teardown(() => insecure.close());
  const pushed = await insecure.pushArtifact(repo, layer(randomBytes(10)));
  t.is((await insecure.resolve(repo, { tag: '1.0.0' })).digest, pushed.digest);
  const tls = new OciClient();
  t.teardown(() => tls.close());
  const err = await t.throwsAsync(tls.resolve(repo, { tag: '1.0.0' }), { instanceOf: TlsError });
  t.regex(err.message, /plain HTTP \(set insecure\)/);
});

test('bearer challenge flow: token fetched with Basic credentials, cached per scope, presented without new challenges', async (t) => {
  const registry = await useRegistry();
  const user = { username: 'ci', password: randomBytes(12).toString('hex') };
  const proxy = await startTokenAuthProxy({ upstream: registry, user });
  t.teardown(() => proxy.stop());
  const repo = parseReference(`oci://${proxy.host}/team/tokens`);
  const client = new OciClient({ insecure: true, credentials: user });
  t.teardown(() => client.close());

  const content = randomBytes(2000);
  const pushed = await client.pushArtifact(repo, layer(content));
  t.true(proxy.requests.some((r) => r.status === 401), 'the registry challenged the first request');
  t.true(proxy.tokenRequests.every((r) => r.status === 200 && r.service === 'trellis-test-registry'));
  t.true(proxy.tokenRequests.some((r) => r.scopes.includes('repository:team/tokens:pull,push')), 'the scope with a comma came through intact');

  const challengesBefore = proxy.requests.filter((r) => r.status === 401).length;
  const tokensBefore = proxy.tokenRequests.length;
  const pulled = await client.pullArtifact(repo, { tag: '1.0.0' }, dest());
  t.true(readFileSync(pulled.file).equals(content));
  t.is(pulled.digest, pushed.digest);
  await client.resolve(repo, { tag: '1.0.0' });
  await client.resolve(repo, { tag: '1.0.0' });
  t.is(proxy.tokenRequests.length, tokensBefore + 1, 'one token for the pull scope, then reused');
  t.is(proxy.requests.filter((r) => r.status === 401).length, challengesBefore, 'no new 401 once the realm is known');
  const lastResolve = proxy.requests.slice(-1)[0];
  t.is(lastResolve?.method, 'HEAD', 'a resolve with a cached token is one HEAD request');
});

test('bearer flow with wrong credentials is AuthenticationFailed after one token request, without a loop', async (t) => {
  const registry = await useRegistry();
  const proxy = await startTokenAuthProxy({ upstream: registry, user: { username: 'ci', password: 'right-password' } });
  t.teardown(() => proxy.stop());
  const repo = parseReference(`oci://${proxy.host}/team/tokens`);
  const client = new OciClient({ insecure: true, credentials: { username: 'ci', password: 'wrong-password' } });
  t.teardown(() => client.close());
  const err = await t.throwsAsync(client.resolve(repo, { tag: '1.0.0' }), { instanceOf: AuthenticationError });
  t.regex(err.message, /token service .* refused the credentials \(HTTP 401\)/);
  t.false(err.message.includes('wrong-password'));
  t.is(proxy.tokenRequests.length, 1);
  t.is(proxy.requests.length, 1, 'one challenged request, no retry loop');
  const anonymous = new OciClient({ insecure: true });
  t.teardown(() => anonymous.close());
  await t.throwsAsync(anonymous.resolve(repo, { tag: '1.0.0' }), { instanceOf: AuthenticationError, message: /requires credentials and none were configured/ });
});

test('bearer flow without credentials: anonymous tokens work where the token service grants them', async (t) => {
  const registry = await useRegistry();
  const proxy = await startTokenAuthProxy({ upstream: registry });
  t.teardown(() => proxy.stop());
  const repo = parseReference(`oci://${proxy.host}/public/web`);
  const client = new OciClient({ insecure: true });
  t.teardown(() => client.close());
  const pushed = await client.pushArtifact(repo, layer(randomBytes(10)));
  t.is((await client.resolve(repo, { tag: '1.0.0' })).digest, pushed.digest);
});

test('blob downloads follow a redirect to another origin without taking the credentials along', async (t) => {
  const registry = await useRegistry();
  const storage = await startTokenAuthProxy({ upstream: registry, auth: 'none' });
  t.teardown(() => storage.stop());
  const user = { username: 'ci', password: randomBytes(8).toString('hex') };
  const front = await startTokenAuthProxy({ upstream: registry, user, redirectBlobsTo: `http://${storage.host}` });
  t.teardown(() => front.stop());
  const client = new OciClient({ insecure: true, credentials: user });
  t.teardown(() => client.close());
  const repo = parseReference(`oci://${front.host}/team/redirected`);
  const content = randomBytes(70_000);
  const pushed = await client.pushArtifact(repo, layer(content));
  const pulled = await client.pullArtifact(repo, { tag: '1.0.0' }, dest());
  t.true(readFileSync(pulled.file).equals(content));
  t.is(pulled.digest, pushed.digest);
  t.true(front.requests.some((r) => r.status === 307), 'the front redirected the blob download');
  const fromStorage = storage.requests.filter((r) => r.method === 'GET' && r.path.includes('/blobs/'));
  t.is(fromStorage.length, 1, 'the layer came from the other origin');
  t.false(fromStorage[0]!.authorization, 'no Authorization header went to the other origin');
});
