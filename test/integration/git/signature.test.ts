// OpenPGP and SSH signatures of commits and annotated tags, made by the real git,
// gpg and ssh-keygen with keys generated for the test and served by the real Git server,
// verified by the fetcher before anything is checked out.
import anyTest from 'ava';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGpgKey, createSshKey, pushCommit, rawRepo, stopGpgAgent, type GpgKey, type SigningKey } from '../../../hack/git-fixtures.ts';
import { fetchTree, type FetchedObjects } from '../../../source-controller/git/fetch.ts';
import {
  readPublicKeys, SignatureError, splitCommitSignature, verifySignatures, type VerifyMode,
} from '../../../source-controller/git/signature.ts';
import { scratchDir } from '../../support/cluster.ts';
import { useGitServer, withServers } from '../../support/servers.ts';

const test = withServers(anyTest);

// One pair for the file: the promise is shared, so tests running at once do not each make (and leave) their own.
let keys: Promise<{ trusted: GpgKey; other: GpgKey }> | undefined;
function gpgKeys(): Promise<{ trusted: GpgKey; other: GpgKey }> {
  keys ??= (async () => ({
    trusted: await createGpgKey(scratchDir('gpg')), other: await createGpgKey(scratchDir('gpg'), 'Mallory <m@trellis.invalid>'),
  }))();
  return keys;
}

test.after.always(async () => {
  const made = await keys?.catch(() => undefined);
  if (made) await Promise.all([stopGpgAgent(made.trusted), stopGpgAgent(made.other)]);
});

let counter = 0;
const repoName = (prefix: string): string => `${prefix}-${process.pid}-${++counter}`;
const dest = async (): Promise<string> => join(await mkdtemp(join(tmpdir(), 'trellis-sig-')), 'tree');

/** A verify hook trusting `key`, as gitrepository.ts builds one. */
async function verifier(key: SigningKey, mode: VerifyMode): Promise<(objects: FetchedObjects) => Promise<void>> {
  const trusted = await readPublicKeys([['key.asc', key.publicKey]], 'test keys');
  return async (objects) => { await verifySignatures({ ...objects, mode, keys: trusted }); };
}

test('a commit signed by a trusted key verifies and checks out; unsigned or signed by another key is refused with nothing written', async (t) => {
  const { trusted, other } = await gpgKeys();
  const server = await useGitServer();
  const repo = repoName('sig-head');
  const url = server.repoUrl(repo);
  await pushCommit(server, repo, { files: { 'app.yaml': 'signed: true\n' }, sign: trusted });
  const good = await fetchTree(url, { branch: 'main' }, await dest(), { verify: await verifier(trusted, 'HEAD') });
  t.true(existsSync(join(good.dir, 'app.yaml')));

  await pushCommit(server, repo, { files: { 'app.yaml': 'signed: false\n' } });
  const unsignedDir = await dest();
  const unsigned = await t.throwsAsync(fetchTree(url, { branch: 'main' }, unsignedDir, { verify: await verifier(trusted, 'HEAD') }),
    { instanceOf: SignatureError });
  t.is(unsigned?.reason, 'Unsigned');
  t.false(existsSync(unsignedDir), 'no checkout of an unverified commit');

  await pushCommit(server, repo, { files: { 'app.yaml': 'signed: mallory\n' }, sign: other });
  const wrongDir = await dest();
  const wrong = await t.throwsAsync(fetchTree(url, { branch: 'main' }, wrongDir, { verify: await verifier(trusted, 'HEAD') }),
    { instanceOf: SignatureError });
  t.is(wrong?.reason, 'InvalidSignature');
  t.false(existsSync(wrongDir));
});

test('Tag mode verifies the annotated tag object; a lightweight tag or an unsigned tag is refused', async (t) => {
  const { trusted } = await gpgKeys();
  const server = await useGitServer();
  const repo = repoName('sig-tag');
  const url = server.repoUrl(repo);
  // An unsigned commit under a signed tag: Tag passes, TagAndHEAD does not.
  await pushCommit(server, repo, { files: { 'a.yaml': 'v: 1\n' }, tags: ['v1.0.0'], annotatedTags: true, sign: trusted });
  const ok = await fetchTree(url, { tag: 'v1.0.0' }, await dest(), { verify: await verifier(trusted, 'TagAndHEAD') });
  t.true(existsSync(join(ok.dir, 'a.yaml')));
  await pushCommit(server, repo, { files: { 'a.yaml': 'v: 2\n' }, tags: ['v2.0.0'], annotatedTags: true });
  const unsignedTag = await t.throwsAsync(fetchTree(url, { tag: 'v2.0.0' }, await dest(), { verify: await verifier(trusted, 'Tag') }),
    { instanceOf: SignatureError });
  t.is(unsignedTag?.reason, 'Unsigned');
  t.regex(unsignedTag?.message ?? '', /tag object [0-9a-f]{40} has no OpenPGP or SSH signature/);
  await pushCommit(server, repo, { files: { 'a.yaml': 'v: 3\n' }, tags: ['v3.0.0'], sign: trusted });
  const light = await t.throwsAsync(fetchTree(url, { tag: 'v3.0.0' }, await dest(), { verify: await verifier(trusted, 'Tag') }),
    { instanceOf: SignatureError });
  t.is(light?.reason, 'NoTag');
});

test('a commit whose signature was moved onto other content does not verify (the payload is the raw object minus gpgsig)', async (t) => {
  const { trusted } = await gpgKeys();
  const server = await useGitServer();
  const repo = repoName('sig-forged');
  const signed = await pushCommit(server, repo, { files: { 'a.yaml': 'honest\n' }, sign: trusted });
  const writer = await rawRepo(server, repo);
  // Re-use the good gpgsig header on a commit with another tree, written with git's plumbing.
  const raw = await writer.catFile('commit', signed);
  const forgedTree = await writer.tree([{ name: 'a.yaml', content: 'evil\n' }]);
  const forged = raw.toString('utf8').replace(/^tree [0-9a-f]{40}$/m, `tree ${forgedTree}`);
  const oid = await writer.object('commit', Buffer.from(forged));
  await writer.updateRef('refs/heads/main', oid);
  t.not(splitCommitSignature(Buffer.from(forged)).signature, undefined);
  const err = await t.throwsAsync(fetchTree(server.repoUrl(repo), { branch: 'main' }, await dest(), { verify: await verifier(trusted, 'HEAD') }),
    { instanceOf: SignatureError });
  t.is(err?.reason, 'InvalidSignature');
});

test('a Secret without an armored public key is refused', async (t) => {
  const err = await t.throwsAsync(readPublicKeys([['note', 'not a key']], 'Secret ns/keys'), { instanceOf: SignatureError });
  t.is(err?.reason, 'InvalidKeys');
});

test('SSH signatures (gpg.format=ssh): a trusted key verifies commit and tag; another key or a PGP-only Secret does not', async (t) => {
  const { trusted: pgp } = await gpgKeys();
  const ssh = await createSshKey(scratchDir('ssh'));
  const stranger = await createSshKey(scratchDir('ssh'), 'stranger');
  const server = await useGitServer();
  const repo = repoName('sig-ssh');
  const url = server.repoUrl(repo);
  await pushCommit(server, repo, { files: { 'a.yaml': 'ssh: 1\n' }, tags: ['v1.0.0'], annotatedTags: true, sign: ssh });
  const ok = await fetchTree(url, { tag: 'v1.0.0' }, await dest(), { verify: await verifier(ssh, 'TagAndHEAD') });
  t.true(existsSync(join(ok.dir, 'a.yaml')));
  const both = await readPublicKeys([['pgp.asc', pgp.publicKey], ['ssh.pub', `${stranger.publicKey}\n${ssh.publicKey}\n`]], 'test keys');
  t.is(both.ssh.length, 2);
  await t.notThrowsAsync(fetchTree(url, { branch: 'main' }, await dest(), {
    verify: async (objects) => { await verifySignatures({ ...objects, mode: 'HEAD', keys: both }); },
  }));
  for (const key of [stranger, pgp]) {
    const err = await t.throwsAsync(fetchTree(url, { branch: 'main' }, await dest(), { verify: await verifier(key, 'HEAD') }),
      { instanceOf: SignatureError });
    t.is(err?.reason, 'InvalidSignature', key.format);
  }
});
