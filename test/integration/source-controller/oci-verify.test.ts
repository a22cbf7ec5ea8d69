// OCIRepository `verify` against signatures made by the real cosign CLI (key pairs
// from `cosign generate-key-pair`, `cosign sign --key --tlog-upload=false`), through a
// counting proxy in front of the real registry: a good signature verifies; unsigned,
// wrongly signed and borrowed signatures are refused before any layer is downloaded,
// and the last good artifact stays published.
import anyTest from 'ava';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensurePeerTools } from '../../../hack/peer-tools.ts';
import type { OCIRepository } from '../../../source-controller/api.ts';
import { OciClient, parseReference } from '../../../source-controller/oci/index.ts';
import { cosignSignatureTag } from '../../../source-controller/reconcile/cosign.ts';
import { scratchDir, withCluster } from '../../support/cluster.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { startTokenAuthProxy } from '../../support/token-auth-proxy.ts';
import { keepsArtifact, layerOf, pushLayer } from './oci-support.ts';
import { conditionOf, readTreeFile, unpackArtifact, useSourceHarness } from './support.ts';

const test = withServers(withCluster(anyTest));
const run = promisify(execFile);

/** A cosign key pair in its own folder: `{ dir, publicKey }` (the private key is `dir/cosign.key`). */
async function cosignKeyPair(): Promise<{ dir: string; publicKey: string }> {
  const dir = scratchDir('cosign');
  await cosign(dir, ['generate-key-pair']);
  return { dir, publicKey: readFileSync(join(dir, 'cosign.pub'), 'utf8') };
}

/** Runs cosign in `dir` with a private HOME and the key password. */
async function cosign(dir: string, args: readonly string[]): Promise<void> {
  const home = join(dir, '.home');
  mkdirSync(home, { recursive: true });
  await run(ensurePeerTools(() => undefined).cosign, args, {
    cwd: dir, env: { ...process.env, HOME: home, DOCKER_CONFIG: home, COSIGN_PASSWORD: 'test-key-password' },
  });
}

async function sign(key: { dir: string }, image: string): Promise<void> {
  await cosign(key.dir, ['sign', '--key', 'cosign.key', '--tlog-upload=false', '--allow-http-registry', '--allow-insecure-registry', '-y', image]);
}

test('cosign: a good signature verifies; unsigned, wrong-key and borrowed signatures are VerificationFailed before any download', async (t) => {
  const h = await useSourceHarness(t);
  const registry = await useRegistry();
  const proxy = await startTokenAuthProxy({ upstream: registry, auth: 'none' });
  t.teardown(() => proxy.stop());
  const [trusted, other] = await Promise.all([cosignKeyPair(), cosignKeyPair()]);
  const v1 = await pushLayer(proxy.host, 'team/signed', '1.0.0', layerOf({ 'v.txt': '1\n' }));
  await sign(trusted, `${proxy.host}/team/signed@${v1.digest}`);
  await h.secret('cosign-keys', { 'cosign.pub': trusted.publicKey });
  await h.createOci('signed', {
    url: `oci://${proxy.host}/team/signed`, insecure: true, interval: '1m', ref: { tag: '1.0.0' },
    verify: { provider: 'cosign', secretRef: { name: 'cosign-keys' } },
  });
  let start = proxy.requests.length;
  t.deepEqual(await h.reconcile('OCIRepository', 'signed'), { kind: 'requeue', afterMs: 60_000 });
  const paths = proxy.requests.slice(start).map((r) => `${r.method} ${r.path}`);
  const sigAt = paths.indexOf(`GET /v2/team/signed/manifests/${cosignSignatureTag(v1.digest)}`);
  const layerAt = paths.indexOf(`GET /v2/team/signed/blobs/${v1.layerDigest}`);
  t.true(sigAt >= 0 && layerAt > sigAt, 'the signature is checked before the layer is downloaded');
  const good = (await h.get<OCIRepository>('OCIRepository', 'signed'))!.status!.artifact!;
  t.is(good.revision, `1.0.0@${v1.digest}`);
  t.is(await readTreeFile(await unpackArtifact(good.url), 'v.txt'), '1\n');

  start = proxy.requests.length;
  await h.reconcile('OCIRepository', 'signed');
  t.deepEqual(proxy.requests.slice(start).map((r) => `${r.method} ${r.path}`), ['HEAD /v2/team/signed/manifests/1.0.0'],
    'a poll of the verified revision does not verify it again');

  const refused = async (tag: string, layerDigest: string, message: RegExp): Promise<void> => {
    await h.patchSpec('OCIRepository', 'signed', { ref: { tag } });
    const before = proxy.requests.length;
    t.like(await h.reconcile('OCIRepository', 'signed'), { kind: 'waiting', reason: 'VerificationFailed', afterMs: 60_000 }, tag);
    const obj = await h.get<OCIRepository>('OCIRepository', 'signed');
    t.like(conditionOf(obj, 'VerificationFailed'), { status: 'True', reason: 'VerificationFailed' }, tag);
    t.regex(conditionOf(obj, 'VerificationFailed')!.message, message, tag);
    t.like(conditionOf(obj, 'Ready'), { status: 'False', reason: 'VerificationFailed' });
    t.false(proxy.requests.slice(before).some((r) => r.path === `/v2/team/signed/blobs/${layerDigest}`), `${tag}: its layer was not downloaded`);
    await keepsArtifact(t, h, 'signed', good);
  };
  const client = new OciClient({ insecure: true });
  t.teardown(() => client.close());
  const repo = parseReference(`oci://${proxy.host}/team/signed`);

  const v2 = await pushLayer(proxy.host, 'team/signed', '2.0.0', layerOf({ 'v.txt': '2\n' }));
  await refused('2.0.0', v2.layerDigest, /no cosign signature found for sha256:[0-9a-f]{64}/);

  const v3 = await pushLayer(proxy.host, 'team/signed', '3.0.0', layerOf({ 'v.txt': '3\n' }));
  await sign(other, `${proxy.host}/team/signed@${v3.digest}`);
  await refused('3.0.0', v3.layerDigest, /none of the 1 signature\(s\) of sha256:[0-9a-f]{64} verifies with the given public keys/);

  // A valid signature of 1.0.0 copied under 4.0.0's signature tag proves nothing about 4.0.0.
  const v4 = await pushLayer(proxy.host, 'team/signed', '4.0.0', layerOf({ 'v.txt': '4\n' }));
  await client.tag(repo, cosignSignatureTag(v1.digest), cosignSignatureTag(v4.digest));
  await refused('4.0.0', v4.layerDigest, /verify but are for another artifact/);

  // Signing 4.0.0 itself adds a signature next to the borrowed one: now it verifies.
  await sign(trusted, `${proxy.host}/team/signed@${v4.digest}`);
  t.is((await h.reconcile('OCIRepository', 'signed')).kind, 'requeue');
  const v4obj = await h.get<OCIRepository>('OCIRepository', 'signed');
  t.is(v4obj?.status?.artifact?.revision, `4.0.0@${v4.digest}`);
  t.is(conditionOf(v4obj, 'VerificationFailed'), undefined);

  await h.client.delete({ apiVersion: 'v1', kind: 'Secret', namespace: h.namespace, name: 'cosign-keys' });
  await h.secret('cosign-keys', { 'key.txt': 'not a key' });
  await h.patchSpec('OCIRepository', 'signed', { ref: { tag: '1.0.0' } });
  t.like(await h.reconcile('OCIRepository', 'signed'), { kind: 'waiting', reason: 'VerificationFailed' });
  t.regex(conditionOf(await h.get<OCIRepository>('OCIRepository', 'signed'), 'VerificationFailed')!.message, /has no public key/);
});
