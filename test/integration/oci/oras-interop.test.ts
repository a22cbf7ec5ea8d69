// Interop with the real `oras` CLI (Debian's oras 1.2, via hack/peer-tools.ts):
// artifacts oras pushes are resolved and pulled by this client, and artifacts this
// client pushes are pulled by oras, byte for byte.
import anyTest from 'ava';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensurePeerTools } from '../../../hack/peer-tools.ts';
import {
  FLUX_CONFIG_MEDIA_TYPE, FLUX_CONTENT_MEDIA_TYPE, OciClient, TRELLIS_ARTIFACT_TYPE, TRELLIS_CONFIG_MEDIA_TYPE,
  TRELLIS_CONTENT_MEDIA_TYPE, parseReference,
} from '../../../source-controller/oci/index.ts';
import { scratchDir } from '../../support/cluster.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { startTokenAuthProxy } from '../../support/token-auth-proxy.ts';

const test = withServers(anyTest);
const run = promisify(execFile);
const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Runs oras in `cwd` with a private HOME (no docker config of the machine is read or written). */
async function oras(cwd: string, args: readonly string[]): Promise<string> {
  const { oras: binary } = ensurePeerTools(() => undefined);
  const home = join(cwd, '.home');
  mkdirSync(home, { recursive: true });
  const { stdout } = await run(binary, args, { cwd, env: { ...process.env, HOME: home, DOCKER_CONFIG: home } });
  return stdout;
}

/** A folder with a random `file.tgz` and a `config.json`. */
function orasWorkdir(size = 20_000): { dir: string; content: Buffer; config: Buffer } {
  const dir = mkdtempSync(join(scratchDir('oras'), 'w-'));
  const content = randomBytes(size);
  const config = Buffer.from(JSON.stringify({ name: 'web' }));
  writeFileSync(join(dir, 'file.tgz'), content);
  writeFileSync(join(dir, 'config.json'), config);
  return { dir, content, config };
}

const pullDir = (): string => mkdtempSync(join(scratchDir('oci-pull'), 'p-'));

test('an artifact pushed by oras with Trellis media types is resolved and pulled with matching bytes', async (t) => {
  const registry = await useRegistry();
  const { dir, content, config } = orasWorkdir();
  const out = await oras(dir, [
    'push', '--plain-http', `${registry.host}/oras/web:1.0.0`, '--artifact-type', TRELLIS_ARTIFACT_TYPE,
    '--config', `config.json:${TRELLIS_CONFIG_MEDIA_TYPE}`, '--annotation', 'org.opencontainers.image.version=1.0.0',
    `file.tgz:${TRELLIS_CONTENT_MEDIA_TYPE}`,
  ]);
  const orasDigest = /Digest: (sha256:[a-f0-9]{64})/.exec(out)?.[1];
  if (!orasDigest) return t.fail(`oras printed no digest:\n${out}`);
  const client = new OciClient({ insecure: true });
  t.teardown(() => client.close());
  const repo = parseReference(`oci://${registry.host}/oras/web`);
  const resolved = await client.resolve(repo, { tag: '1.0.0' });
  t.is(resolved.digest, orasDigest);
  const pulled = await client.pullArtifact(repo, { tag: '1.0.0' }, pullDir());
  t.is(sha256(readFileSync(pulled.file)), sha256(content));
  t.is(pulled.manifest.artifactType, TRELLIS_ARTIFACT_TYPE);
  t.is(pulled.layer.annotations?.['org.opencontainers.image.title'], 'file.tgz');
  t.is(pulled.annotations['org.opencontainers.image.version'], '1.0.0');
  t.truthy(pulled.annotations['org.opencontainers.image.created'], 'oras adds a creation time');
  t.true((await client.fetchBlobBytes(repo, pulled.manifest.config)).equals(config));
});

test('an artifact pushed by oras with Flux media types is pulled by the default layer selection', async (t) => {
  const registry = await useRegistry();
  const { dir, content } = orasWorkdir();
  await oras(dir, [
    'push', '--plain-http', `${registry.host}/oras/flux:latest`, '--config', `config.json:${FLUX_CONFIG_MEDIA_TYPE}`,
    `file.tgz:${FLUX_CONTENT_MEDIA_TYPE}`,
  ]);
  const client = new OciClient({ insecure: true });
  t.teardown(() => client.close());
  const pulled = await client.pullArtifact(parseReference(`oci://${registry.host}/oras/flux`), { tag: 'latest' }, pullDir());
  t.is(pulled.layer.mediaType, FLUX_CONTENT_MEDIA_TYPE);
  t.is(pulled.manifest.config.mediaType, FLUX_CONFIG_MEDIA_TYPE);
  t.true(readFileSync(pulled.file).equals(content));
});

test('a semver range picks the highest of several tags pushed by oras', async (t) => {
  const registry = await useRegistry();
  const { dir } = orasWorkdir(100);
  const digests = new Map<string, string>();
  for (const tag of ['1.0.0', '1.3.0', '1.12.1', '2.0.0-beta.1', 'latest']) {
    writeFileSync(join(dir, 'file.tgz'), `version ${tag}`);
    const out = await oras(dir, ['push', '--plain-http', `${registry.host}/oras/versions:${tag}`, '--artifact-type', TRELLIS_ARTIFACT_TYPE, `file.tgz:${TRELLIS_CONTENT_MEDIA_TYPE}`]);
    digests.set(tag, /Digest: (sha256:[a-f0-9]{64})/.exec(out)![1]!);
  }
  const client = new OciClient({ insecure: true });
  t.teardown(() => client.close());
  const repo = parseReference(`oci://${registry.host}/oras/versions`);
  const resolved = await client.resolve(repo, { semver: '^1' });
  t.is(resolved.tag, '1.12.1');
  t.is(resolved.revision, `1.12.1@${digests.get('1.12.1')}`);
  const pulled = await client.pullArtifact(repo, { semver: '>=1.0.0' }, pullDir());
  t.is(readFileSync(pulled.file, 'utf8'), 'version 1.12.1');
});

test('an artifact pushed by this client is pulled by oras pull, files named by their titles', async (t) => {
  const registry = await useRegistry();
  const client = new OciClient({ insecure: true });
  t.teardown(() => client.close());
  const src = mkdtempSync(join(scratchDir('oci-content'), 'c-'));
  const content = randomBytes(1024 * 1024 + 3);
  writeFileSync(join(src, 'web-1.0.0.tgz'), content);
  const pushed = await client.pushArtifact(parseReference(`oci://${registry.host}/team/web`), {
    artifactType: TRELLIS_ARTIFACT_TYPE,
    config: { mediaType: TRELLIS_CONFIG_MEDIA_TYPE, bytes: Buffer.from('{"name":"web"}') },
    layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, file: join(src, 'web-1.0.0.tgz') }, { mediaType: 'text/plain', bytes: Buffer.from('hello'), title: 'README.txt' }],
    annotations: { 'org.opencontainers.image.version': '1.0.0' },
    tag: '1.0.0',
  });
  const out = mkdtempSync(join(scratchDir('oras'), 'o-'));
  await oras(out, ['pull', '--plain-http', `${registry.host}/team/web:1.0.0`, '-o', 'files']);
  t.deepEqual(readdirSync(join(out, 'files')).sort(), ['README.txt', 'web-1.0.0.tgz']);
  t.is(sha256(readFileSync(join(out, 'files', 'web-1.0.0.tgz'))), sha256(content));
  t.is(readFileSync(join(out, 'files', 'README.txt'), 'utf8'), 'hello');
  const manifest = JSON.parse(await oras(out, ['manifest', 'fetch', '--plain-http', `${registry.host}/team/web:1.0.0`])) as { artifactType?: string };
  t.is(manifest.artifactType, TRELLIS_ARTIFACT_TYPE);
  t.is((await oras(out, ['resolve', '--plain-http', `${registry.host}/team/web:1.0.0`])).trim(), pushed.digest);
});

test('the token-auth proxy behaves like a token registry to oras too (so the bearer tests are not bespoke)', async (t) => {
  const registry = await useRegistry();
  const user = { username: 'ci', password: randomBytes(8).toString('hex') };
  const proxy = await startTokenAuthProxy({ upstream: registry, user });
  t.teardown(() => proxy.stop());
  const client = new OciClient({ insecure: true, credentials: user });
  t.teardown(() => client.close());
  const content = randomBytes(3000);
  await client.pushArtifact(parseReference(`oci://${proxy.host}/team/web`), { layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, bytes: content, title: 'c.tgz' }], tag: '1.0.0' });
  const out = mkdtempSync(join(scratchDir('oras'), 'o-'));
  await oras(out, ['pull', '--plain-http', '-u', user.username, '-p', user.password, `${proxy.host}/team/web:1.0.0`, '-o', 'files']);
  t.true(readFileSync(join(out, 'files', 'c.tgz')).equals(content));
  await t.throwsAsync(oras(out, ['pull', '--plain-http', '-u', user.username, '-p', 'wrong', `${proxy.host}/team/web:1.0.0`, '-o', 'x']));
});
