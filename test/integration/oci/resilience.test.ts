// Outages and throttling: a registry that is down (then back), a proxy that
// refuses connections at a fixed address (then listens again), 429 with
// Retry-After and 503s — retried within bounds, and the same client recovers.
import anyTest, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry } from '../../../hack/registry.ts';
import {
  OciClient, RateLimitedError, RegistryUnreachableError, TRELLIS_CONTENT_MEDIA_TYPE, parseReference, type OciReference,
} from '../../../source-controller/oci/index.ts';
import { scratchDir } from '../../support/cluster.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { startTokenAuthProxy, type TokenAuthProxy } from '../../support/token-auth-proxy.ts';

const test = withServers(anyTest);
const dest = (): string => mkdtempSync(join(scratchDir('oci-pull'), 'p-'));
/** Short backoff so outage tests do not wait long; the bounds are what is tested. */
const fastRetries = { maxRetries: 2, retry: { baseDelayMs: 50, maxDelayMs: 200 } } as const;

/**
 * A real registry behind the test proxy (which can refuse, throttle, hang or cut
 * responses), and a client with short retries pointed at it; all closed after the test.
 */
async function proxiedRegistry(t: ExecutionContext): Promise<{ proxy: TokenAuthProxy; repo: OciReference; client: OciClient }> {
  const registry = await useRegistry();
  const proxy = await startTokenAuthProxy({ upstream: registry, auth: 'none' });
  t.teardown(() => proxy.stop());
  const repo = parseReference(`oci://${proxy.host}/team/web`);
  const client = new OciClient({ insecure: true, ...fastRetries });
  t.teardown(() => client.close());
  return { proxy, repo, client };
}

test('a stopped registry is RegistryUnreachable; started again on the same folder, the same client works', async (t) => {
  const dir = scratchDir('oci-registry');
  let registry = await startRegistry({ dir, log: () => undefined });
  t.teardown(() => registry.stop());
  const client = new OciClient({ insecure: true, ...fastRetries });
  t.teardown(() => client.close());
  const content = randomBytes(4000);
  const pushed = await client.pushArtifact(parseReference(`oci://${registry.host}/team/web`), {
    layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, bytes: content }], tag: '1.0.0',
  });
  const before = parseReference(`oci://${registry.host}/team/web`);
  await registry.stop();
  const err = await t.throwsAsync(client.resolve(before, { tag: '1.0.0' }), { instanceOf: RegistryUnreachableError });
  t.regex(err.message, /is unreachable \(.*ECONNREFUSED.*; 3 attempts\)/);
  t.true(err.transient);
  t.is(err.reason, 'RegistryUnreachable');

  registry = await startRegistry({ dir, log: () => undefined });
  const after = parseReference(`oci://${registry.host}/team/web`);
  const pulled = await client.pullArtifact(after, { tag: '1.0.0' }, dest());
  t.is(pulled.digest, pushed.digest, 'the storage survived the restart');
  t.true(readFileSync(pulled.file).equals(content));
});

test('an address that refuses connections and then listens again: the same client recovers', async (t) => {
  const { proxy, repo, client } = await proxiedRegistry(t);
  const pushed = await client.pushArtifact(repo, { layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, bytes: randomBytes(10) }], tag: '1.0.0' });
  await proxy.stop();
  await t.throwsAsync(client.resolve(repo, { tag: '1.0.0' }), { instanceOf: RegistryUnreachableError, message: /ECONNREFUSED/ });
  await proxy.restart();
  t.is((await client.resolve(repo, { tag: '1.0.0' })).digest, pushed.digest);
});

test('429 with Retry-After is waited out and retried', async (t) => {
  const { proxy, repo, client } = await proxiedRegistry(t);
  const pushed = await client.pushArtifact(repo, { layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, bytes: randomBytes(10) }], tag: '1.0.0' });
  const start = proxy.requests.length;
  proxy.injectStatus(429, 1, { 'retry-after': '1' });
  t.is((await client.resolve(repo, { tag: '1.0.0' })).digest, pushed.digest);
  const seen = proxy.requests.slice(start);
  t.deepEqual(seen.map((r) => `${r.method} ${r.status}`), ['HEAD 429', 'HEAD 200']);
  // Honoring Retry-After means not asking again before it passed (a lower bound, not a speed goal).
  t.true(seen[1]!.at - seen[0]!.at >= 950, `retried after ${seen[1]!.at - seen[0]!.at} ms`);
});

test('5xx answers are retried with backoff; a blob upload survives them', async (t) => {
  const { proxy, repo, client } = await proxiedRegistry(t);
  const content = randomBytes(50_000);
  const file = join(dest(), 'layer.tgz');
  writeFileSync(file, content);
  // The upload PUT, whose body streams from the file, fails twice: the file is sent again.
  proxy.injectStatus(503, 2, {}, { method: 'PUT' });
  const blob = await client.pushBlob(repo, { file });
  t.true(blob.uploaded);
  t.deepEqual(proxy.requests.map((r) => `${r.method} ${r.status}`), ['HEAD 404', 'POST 202', 'PUT 503', 'PUT 503', 'PUT 201']);
  const pushed = await client.pushArtifact(repo, { layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, file }], tag: '1.0.0' });
  t.deepEqual(pushed.blobs.map((b) => b.uploaded), [true, false], 'the layer is there already');
  const pulled = await client.pullArtifact(repo, { tag: '1.0.0' }, dest());
  t.true(readFileSync(pulled.file).equals(content));
  t.is(pulled.digest, pushed.digest);
});

test('persistent throttling ends with RateLimited after the bounded retries; a Retry-After too long is not waited for', async (t) => {
  const registry = await useRegistry();
  const proxy = await startTokenAuthProxy({ upstream: registry, auth: 'none' });
  t.teardown(() => proxy.stop());
  const repo = parseReference(`oci://${proxy.host}/team/web`);
  const client = new OciClient({ insecure: true, ...fastRetries });
  t.teardown(() => client.close());
  proxy.injectStatus(429, 3, { 'retry-after': '0' });
  const err = await t.throwsAsync(client.resolve(repo, { tag: '1.0.0' }), { instanceOf: RateLimitedError });
  t.regex(err.message, /rate limited .* after 3 attempts/);
  t.is(proxy.requests.length, 3, 'maxRetries 2 means 3 attempts, no more');

  proxy.injectStatus(429, 1, { 'retry-after': '3600' });
  const long = await t.throwsAsync(client.resolve(repo, { tag: '1.0.0' }), { instanceOf: RateLimitedError });
  t.is(long.retryAfterMs, 3_600_000, 'the wait the registry asked for is reported, for the requeue');
  t.is(proxy.requests.length, 4, 'given up at once instead of sleeping an hour');
  t.true(long.transient);
});

test('a registry that stops answering times out, is retried, and the operation deadline is honored', async (t) => {
  const registry = await useRegistry();
  const proxy = await startTokenAuthProxy({ upstream: registry, auth: 'none' });
  t.teardown(() => proxy.stop());
  const repo = parseReference(`oci://${proxy.host}/team/web`);
  const setupClient = new OciClient({ insecure: true });
  t.teardown(() => setupClient.close());
  const pushed = await setupClient.pushArtifact(repo, { layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, bytes: randomBytes(10) }], tag: '1.0.0' });
  const client = new OciClient({ insecure: true, timeoutMs: 1000, ...fastRetries });
  t.teardown(() => client.close());

  // One hung request: the inactivity timeout ends it and the retry succeeds.
  proxy.injectStatus('hang', 1);
  t.is((await client.resolve(repo, { tag: '1.0.0' })).digest, pushed.digest);
  // Hung for good: bounded attempts, then RegistryUnreachable naming the timeout.
  proxy.injectStatus('hang', 3);
  const err = await t.throwsAsync(client.resolve(repo, { tag: '1.0.0' }), { instanceOf: RegistryUnreachableError });
  t.regex(err.message, /no data for 1000 ms; 3 attempts/);
  // The caller's deadline (an OCIRepository's spec.timeout) cuts even a patient client short.
  const patient = new OciClient({ insecure: true, timeoutMs: 60_000 });
  t.teardown(() => patient.close());
  proxy.injectStatus('hang', 1);
  await t.throwsAsync(patient.resolve(repo, { tag: '1.0.0' }, { signal: AbortSignal.timeout(500) }),
    { instanceOf: RegistryUnreachableError, message: /the operation timed out/ });
});

test('an upload whose response was lost (the registry stored the blob) is recognized, not failed', async (t) => {
  const registry = await useRegistry();
  const proxy = await startTokenAuthProxy({ upstream: registry, auth: 'none' });
  t.teardown(() => proxy.stop());
  const repo = parseReference(`oci://${proxy.host}/team/web`);
  const client = new OciClient({ insecure: true, timeoutMs: 1000, ...fastRetries });
  t.teardown(() => client.close());
  // The registry completes the upload, the answer never arrives; the retried PUT
  // finds the upload session closed (404), and the existence check finds the blob.
  proxy.injectStatus('lose-response', 1, {}, { method: 'PUT' });
  const content = randomBytes(20_000);
  const blob = await client.pushBlob(repo, { bytes: content });
  t.true(blob.uploaded);
  t.deepEqual(proxy.requests.map((r) => `${r.method} ${r.status}`), ['HEAD 404', 'POST 202', 'PUT 201', 'PUT 404', 'HEAD 200']);
  t.true(await client.blobExists(repo, blob.digest));
});

test('a download broken off midway is fetched again and verified', async (t) => {
  const { proxy, repo, client } = await proxiedRegistry(t);
  const content = randomBytes(2 * 1024 * 1024);
  const pushed = await client.pushArtifact(repo, { layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, bytes: content }], tag: '1.0.0' });
  const layer = pushed.blobs[1]!;
  const dir = dest();
  proxy.injectStatus('cut-body', 1, {}, { method: 'GET' });
  await client.fetchBlob(repo, { mediaType: layer.mediaType, digest: layer.digest, size: layer.size }, join(dir, 'layer'));
  t.true(readFileSync(join(dir, 'layer')).equals(content));
  t.deepEqual(readdirSync(dir), ['layer'], 'the partial first attempt left nothing behind');
  t.is(proxy.requests.filter((r) => r.method === 'GET' && r.path.includes(layer.digest)).length, 2);

  // Broken off every time: bounded attempts, then RegistryUnreachable, and still no file.
  const dir2 = dest();
  proxy.injectStatus('cut-body', 3, {}, { method: 'GET' });
  await t.throwsAsync(client.fetchBlob(repo, { mediaType: layer.mediaType, digest: layer.digest, size: layer.size }, join(dir2, 'layer')),
    { instanceOf: RegistryUnreachableError, message: /download broke off .*3 attempts/ });
  t.deepEqual(readdirSync(dir2), []);
});
