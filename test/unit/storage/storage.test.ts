// ArtifactStorage on a real temporary folder: layout, atomic store, verify,
// retention, removal and the per-source lock.
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactDigestMismatchError, ArtifactStorage, InvalidArtifactPathError } from '../../../source-controller/storage/storage.ts';

const sha = (data: string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function fresh(): Promise<{ storage: ArtifactStorage; work: string }> {
  const base = await mkdtemp(join(tmpdir(), 'trellis-storage-'));
  await mkdir(join(base, 'work'));
  return { storage: new ArtifactStorage(join(base, 'root')), work: join(base, 'work') };
}

async function source(work: string, content: string): Promise<string> {
  const file = join(work, `${sha(content).slice(7, 19)}.tgz`);
  await writeFile(file, content);
  return file;
}

test('paths are <root>/<kind>/<namespace>/<name>/<hex>.tar.gz and reject anything that could escape', (t) => {
  const storage = new ArtifactStorage('/var/lib/trellis');
  const digest = sha('x');
  t.is(storage.pathFor('gitrepository', 'team-a', 'web', digest), `/var/lib/trellis/gitrepository/team-a/web/${digest.slice(7)}.tar.gz`);
  t.is(storage.pathFor('gitrepository', 'team-a', 'web', digest.slice(7)), storage.pathFor('gitrepository', 'team-a', 'web', digest));
  for (const [kind, ns, name] of [['..', 'a', 'b'], ['k', '..', 'b'], ['k', 'a', '../b'], ['k', 'a/b', 'c'], ['k', '', 'c'], ['k', 'a', '.hidden'], ['k', 'a', 'b\0']]) {
    t.throws(() => storage.pathFor(kind ?? '', ns ?? '', name ?? '', digest), { instanceOf: InvalidArtifactPathError }, `${kind}/${ns}/${name}`);
  }
  t.throws(() => storage.pathFor('k', 'a', 'b', 'sha256:../../etc/passwd'), { instanceOf: InvalidArtifactPathError });
  t.throws(() => storage.pathFor('k', 'a', 'b', 'md5:abc'), { instanceOf: InvalidArtifactPathError });
});

test('store hashes and renames into place, leaving no temporary file', async (t) => {
  const { storage, work } = await fresh();
  const stored = await storage.store('gitrepository', 'ns', 'app', await source(work, 'artifact one'));
  t.is(stored.digest, sha('artifact one'));
  t.is(stored.size, 'artifact one'.length);
  t.is(stored.path, storage.pathFor('gitrepository', 'ns', 'app', stored.digest));
  t.is(await readFile(stored.path, 'utf8'), 'artifact one');
  t.deepEqual(await readdir(storage.dirFor('gitrepository', 'ns', 'app')), [`${stored.digest.slice(7)}.tar.gz`]);
  t.true(await storage.has('gitrepository', 'ns', 'app', stored.digest));
  t.false(await storage.has('gitrepository', 'ns', 'app', sha('other')));

  const again = await storage.store('gitrepository', 'ns', 'app', await source(work, 'artifact one'));
  t.is(again.path, stored.path, 'the same content is the same artifact');
});

test('a failed store leaves neither a partial artifact nor a temporary file', async (t) => {
  const { storage, work } = await fresh();
  await t.throwsAsync(storage.store('k', 'ns', 'app', join(work, 'missing.tgz')));
  t.deepEqual(await readdir(storage.dirFor('k', 'ns', 'app')), []);

  const err = await t.throwsAsync(storage.store('k', 'ns', 'app', await source(work, 'tampered'), { expectedDigest: sha('original') }),
    { instanceOf: ArtifactDigestMismatchError });
  t.regex(err?.message ?? '', /does not match/);
  t.deepEqual(await readdir(storage.dirFor('k', 'ns', 'app')), []);
  await storage.store('k', 'ns', 'app', await source(work, 'original'), { expectedDigest: sha('original') });
  t.true(await storage.has('k', 'ns', 'app', sha('original')));
});

test('verify re-hashes the bytes on disk', async (t) => {
  const { storage, work } = await fresh();
  const stored = await storage.store('k', 'ns', 'app', await source(work, 'trusted bytes'));
  t.true(await storage.verify('k', 'ns', 'app', stored.digest));
  await writeFile(stored.path, 'trusted bytez');
  t.false(await storage.verify('k', 'ns', 'app', stored.digest), 'a modified file fails verification');
  t.false(await storage.verify('k', 'ns', 'app', sha('never stored')));
});

test('garbageCollect keeps the newest N plus the current one, and collects stale temp files', async (t) => {
  const { storage, work } = await fresh();
  const digests: string[] = [];
  for (let i = 0; i < 5; i++) {
    const stored = await storage.store('k', 'ns', 'app', await source(work, `revision ${i}`));
    // Explicit mtimes: retention order must not depend on how fast the loop ran.
    const when = new Date(Date.UTC(2026, 0, 1, 0, i));
    await utimes(stored.path, when, when);
    digests.push(stored.digest);
  }
  const dir = storage.dirFor('k', 'ns', 'app');
  await writeFile(join(dir, '.tmp-stale'), 'crashed write');
  await utimes(join(dir, '.tmp-stale'), new Date(0), new Date(0));
  await writeFile(join(dir, '.tmp-inflight'), 'a write in progress');

  t.deepEqual((await storage.list('k', 'ns', 'app')).map((a) => a.digest), [...digests].reverse(), 'newest first');
  const removed = await storage.garbageCollect('k', 'ns', 'app', { keep: 2, current: digests[0] });
  t.deepEqual(removed.sort(), [digests[1], digests[2]].sort());
  t.deepEqual((await storage.list('k', 'ns', 'app')).map((a) => a.digest), [digests[4], digests[3], digests[0]]);
  t.true((await readdir(dir)).includes('.tmp-inflight'), 'a fresh temp file may belong to a running store');
  t.false((await readdir(dir)).includes('.tmp-stale'));

  await storage.garbageCollect('k', 'ns', 'app', { keep: 0, current: digests[3] });
  t.deepEqual((await storage.list('k', 'ns', 'app')).map((a) => a.digest), [digests[3]], 'keep 0 still keeps the current artifact');
});

test('removeAll deletes one source and nothing else', async (t) => {
  const { storage, work } = await fresh();
  await storage.store('k', 'ns', 'app', await source(work, 'a'));
  const other = await storage.store('k', 'ns', 'app-2', await source(work, 'b'));
  await storage.removeAll('k', 'ns', 'app');
  t.deepEqual(await storage.list('k', 'ns', 'app'), []);
  t.deepEqual(await readdir(join(storage.root, 'k', 'ns')), ['app-2']);
  t.true(await storage.verify('k', 'ns', 'app-2', other.digest));
  await storage.removeAll('k', 'ns', 'never-existed');
});

test('withLock runs callers for one source one at a time, in order; other sources are not blocked', async (t) => {
  const storage = new ArtifactStorage('/nonexistent');
  const events: string[] = [];
  let releaseFirst!: () => void;
  const firstHeld = new Promise<void>((resolve) => { releaseFirst = resolve; });
  const first = storage.withLock('k', 'ns', 'a', async () => { events.push('first start'); await firstHeld; events.push('first end'); return 1; });
  const second = storage.withLock('k', 'ns', 'a', () => { events.push('second'); return Promise.resolve(2); });
  const other = await storage.withLock('k', 'ns', 'b', () => { events.push('other source'); return Promise.resolve(3); });
  t.is(other, 3);
  t.deepEqual(events, ['first start', 'other source'], 'the second caller waits while the first holds the lock');
  releaseFirst();
  t.deepEqual(await Promise.all([first, second]), [1, 2]);
  t.deepEqual(events, ['first start', 'other source', 'first end', 'second']);

  await t.throwsAsync(storage.withLock('k', 'ns', 'a', () => Promise.reject(new Error('boom'))), { message: 'boom' });
  t.is(await storage.withLock('k', 'ns', 'a', () => Promise.resolve('after a failure')), 'after a failure', 'a failure releases the lock');
});
