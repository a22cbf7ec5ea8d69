// `trellis push` against the real registry: Trellis media types and annotations,
// no blob uploaded twice, tarballs pushed as built, credentials from --creds or a
// docker config, a private CA, and the real `oras pull` reading what we pushed.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import anyTest from 'ava';
import { canonicalJSON } from '../../../apply-controller/bundle/index.ts';
import { runPush, type CommandOutput } from '../../../cli/push.ts';
import { projectRoot } from '../../../hack/lib/system-tools.ts';
import { ensurePeerTools } from '../../../hack/peer-tools.ts';
import { buildBundle } from '../../../packages-cdk8s/build/bundle.ts';
import { PackageBuildError } from '../../../packages-cdk8s/build/errors.ts';
import { createDeterministicTarGz, extractTarGz } from '../../../runtime/archive.ts';
import {
  AuthenticationError, NotFoundError, OciClient, parseReference, TRELLIS_ARTIFACT_TYPE, TRELLIS_CONFIG_MEDIA_TYPE,
  TRELLIS_CONTENT_MEDIA_TYPE,
} from '../../../source-controller/oci/index.ts';
import { scratchDir } from '../../support/cluster.ts';
import { useRegistry, withServers } from '../../support/servers.ts';

const test = withServers(anyTest);
const run = promisify(execFile);
const WEB = join(projectRoot, 'packages-cdk8s', 'examples', 'web');
const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const dir = (prefix: string): string => mkdtempSync(join(scratchDir('cdk8s-push'), `${prefix}-`));

/** Captures a command's stdout and stderr (stderr is not a terminal: plain progress lines). */
function capture(): CommandOutput & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => { out += s; } },
    stderr: { write: (s: string) => { err += s; }, isTTY: false },
    out: () => out,
    err: () => err,
  };
}

interface PushedManifest {
  artifactType: string;
  config: { mediaType: string; digest: string; size: number };
  layers: { mediaType: string; digest: string; size: number; annotations: Record<string, string> }[];
  annotations: Record<string, string>;
}

async function readPushed(client: OciClient, target: string): Promise<{ manifest: PushedManifest; config: Buffer; layer: Buffer }> {
  const ref = parseReference(target);
  const { bytes } = await client.fetchManifestBytes(ref, ref.tag!);
  const manifest = JSON.parse(Buffer.from(bytes).toString('utf8')) as PushedManifest;
  const config = await client.fetchBlobBytes(ref, manifest.config);
  const layerFile = join(dir('layer'), 'layer');
  await client.fetchBlob(ref, manifest.layers[0]!, layerFile);
  return { manifest, config, layer: readFileSync(layerFile) };
}

test('a package folder is built and pushed with the Trellis media types and annotations; the digest is printed', async (t) => {
  const registry = await useRegistry();
  const client = new OciClient({ insecure: true });
  t.teardown(() => client.close());
  const io = capture();
  const target = `oci://${registry.host}/team/web:1.0.0`;
  const pushed = await runPush(WEB, target, { insecure: true, source: 'https://git.example/team/web', revision: 'main@sha1:abc123', annotation: ['team=shop', 'tier=frontend'] }, io);
  t.is(io.out(), `${pushed.digest}\n`);
  t.regex(io.err(), /built web 1\.0\.0: 3 objects/);
  t.regex(io.err(), /uploading content sha256:/);
  t.regex(io.err(), new RegExp(`pushed oci://${registry.host}/team/web:1\\.0\\.0@${pushed.digest}`));

  const { manifest, config, layer } = await readPushed(client, target);
  t.is(manifest.artifactType, TRELLIS_ARTIFACT_TYPE);
  t.is(manifest.config.mediaType, TRELLIS_CONFIG_MEDIA_TYPE);
  t.is(manifest.layers.length, 1);
  t.is(manifest.layers[0]!.mediaType, TRELLIS_CONTENT_MEDIA_TYPE);
  t.is(manifest.layers[0]!.annotations['org.opencontainers.image.title'], 'web-1.0.0.tgz');
  t.like(manifest.annotations, {
    'org.opencontainers.image.source': 'https://git.example/team/web',
    'org.opencontainers.image.revision': 'main@sha1:abc123',
    'org.opencontainers.image.version': '1.0.0',
    team: 'shop',
    tier: 'frontend',
  });
  t.false(Number.isNaN(Date.parse(manifest.annotations['org.opencontainers.image.created']!)));
  const built = await buildBundle(WEB, { out: join(dir('b'), 'web.tgz') });
  t.is(config.toString('utf8'), canonicalJSON(built.manifest), 'the config is the package manifest as JSON');
  t.is(sha256(layer), built.digest, 'the layer is the deterministic tarball');
});

test('pushing the same bundle again uploads no blob; --reproducible gives the same manifest digest', async (t) => {
  const registry = await useRegistry();
  const target = `oci://${registry.host}/team/web:1.0.0`;
  const first = capture();
  const a = await runPush(WEB, target, { insecure: true, reproducible: true }, first);
  t.deepEqual(a.blobs.map((b) => b.uploaded), [true, true]);
  t.regex(first.err(), /uploaded {2}content/);
  const second = capture();
  const b = await runPush(WEB, target, { insecure: true, reproducible: true }, second);
  t.deepEqual(b.blobs.map((x) => x.uploaded), [false, false], 'config and content were already there');
  t.is(b.digest, a.digest);
  t.notRegex(second.err(), /uploading/);
  t.regex(second.err(), /exists {4}config/);
  t.regex(second.err(), /exists {4}content/);
  // Without --reproducible the creation time differs: a new manifest over the same blobs.
  const c = await runPush(WEB, target, { insecure: true }, capture());
  t.not(c.digest, a.digest);
  t.deepEqual(c.blobs.map((x) => x.uploaded), [false, false]);
});

test('a tarball from trellis build is pushed as is, tagged with the package version by default', async (t) => {
  const registry = await useRegistry();
  const client = new OciClient({ insecure: true });
  t.teardown(() => client.close());
  const built = await buildBundle(WEB, { out: join(dir('b'), 'web.tgz') });
  const pushed = await runPush(built.file, `oci://${registry.host}/team/web`, { insecure: true }, capture());
  t.is(pushed.reference.tag, '1.0.0');
  const { manifest } = await readPushed(client, `oci://${registry.host}/team/web:1.0.0`);
  t.is(manifest.layers[0]!.digest, built.digest);
});

test('a tarball that is not a valid bundle is refused before anything is pushed', async (t) => {
  const registry = await useRegistry();
  const src = dir('bad');
  writeFileSync(join(src, 'package.yaml'), 'apiVersion: apply.trellis.dev/v1alpha1\nkind: PackageManifest\nname: Bad_Name\nversion: one\n');
  mkdirSync(join(src, 'manifests'));
  writeFileSync(join(src, 'manifests', 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n');
  const file = join(dir('t'), 'bad.tgz');
  await createDeterministicTarGz(src, file);
  const err = await t.throwsAsync(runPush(file, `oci://${registry.host}/team/bad:1.0.0`, { insecure: true }, capture()), { instanceOf: PackageBuildError });
  t.is(err.reason, 'InvalidBundle');
  t.deepEqual([...new Set(err.problems.map((p) => p.reason))], ['InvalidPackageManifest']);
  const client = new OciClient({ insecure: true });
  t.teardown(() => client.close());
  await t.throwsAsync(client.resolve(parseReference(`oci://${registry.host}/team/bad`), { tag: '1.0.0' }), { instanceOf: NotFoundError });
});

test('credentials: none is refused, --creds and a docker config.json work, a wrong password is not echoed', async (t) => {
  const registry = await useRegistry({ auth: true });
  const { username, password } = registry.auth!;
  const target = `oci://${registry.host}/private/web:1.0.0`;
  await t.throwsAsync(runPush(WEB, target, { insecure: true }, capture()), { instanceOf: AuthenticationError });
  const wrong = await t.throwsAsync(runPush(WEB, target, { insecure: true, creds: `${username}:not-${password}` }, capture()), { instanceOf: AuthenticationError });
  t.false(wrong.message.includes(password));
  const pushed = await runPush(WEB, target, { insecure: true, creds: `${username}:${password}` }, capture());
  t.regex(pushed.digest, /^sha256:/);

  // The CLI as CI runs it, reading $DOCKER_CONFIG/config.json.
  const docker = dir('docker');
  writeFileSync(join(docker, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } } }));
  const cli = await run(process.execPath, [join(projectRoot, 'cli', 'trellis.ts'), 'push', WEB, `oci://${registry.host}/private/web:ci`, '--insecure', '--reproducible'],
    { env: { ...process.env, DOCKER_CONFIG: docker } });
  t.regex(cli.stdout, /^sha256:[a-f0-9]{64}\n$/);
  t.notRegex(cli.stderr, new RegExp(password.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
});

test('a registry with a private CA is trusted with --ca-file and refused without it', async (t) => {
  const registry = await useRegistry({ tls: true });
  const target = `oci://${registry.host}/tls/web:1.0.0`;
  await t.throwsAsync(runPush(WEB, target, {}, capture()));
  const pushed = await runPush(WEB, target, { caFile: registry.caFile! }, capture());
  t.regex(pushed.digest, /^sha256:/);
});

test('oras pull fetches what trellis push pushed, and its files are the bundle', async (t) => {
  const registry = await useRegistry();
  await runPush(WEB, `oci://${registry.host}/interop/web:1.0.0`, { insecure: true }, capture());
  const work = dir('oras');
  const home = join(work, '.home');
  mkdirSync(home);
  const { oras } = ensurePeerTools(() => undefined);
  await run(oras, ['pull', '--plain-http', `${registry.host}/interop/web:1.0.0`, '-o', 'files'], { cwd: work, env: { ...process.env, HOME: home, DOCKER_CONFIG: home } });
  t.deepEqual(readdirSync(join(work, 'files')), ['web-1.0.0.tgz']);
  const built = await buildBundle(WEB, { out: join(dir('b'), 'web.tgz') });
  t.true(readFileSync(join(work, 'files', 'web-1.0.0.tgz')).equals(readFileSync(built.file)));
  const pulled = join(work, 'pulled');
  const local = join(work, 'local');
  await extractTarGz(join(work, 'files', 'web-1.0.0.tgz'), pulled);
  await extractTarGz(built.file, local);
  const files = (root: string): string[] => readdirSync(root, { recursive: true }).map(String).sort();
  t.deepEqual(files(pulled), files(local));
  for (const f of files(local).filter((p) => p.endsWith('.yaml'))) {
    t.is(readFileSync(join(pulled, f), 'utf8'), readFileSync(join(local, f), 'utf8'), f);
  }
});
