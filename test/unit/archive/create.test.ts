// createDeterministicTarGz: same tree, same bytes; normalized metadata; symlinks
// never stored as links and never followed out of the tree.
import test from 'ava';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { chmod, mkdir, mkdtemp, readFile, readdir, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { list, type ReadEntry } from 'tar';
import { ARCHIVE_MTIME, createDeterministicTarGz, extractTarGz } from '../../../runtime/archive.ts';

const scratch = (): Promise<string> => mkdtemp(join(tmpdir(), 'trellis-archive-'));

interface Listed { path: string; type: string; mode: number; uid: number; gid: number; mtime: number; uname: string; gname: string; size: number }

async function listArchive(file: string): Promise<Listed[]> {
  const out: Listed[] = [];
  await list({
    file, strict: true, onReadEntry: (e: ReadEntry) => {
      out.push({
        path: e.path, type: e.type, mode: e.mode ?? -1, uid: e.uid ?? -1, gid: e.gid ?? -1,
        mtime: e.mtime?.getTime() ?? -1, uname: e.uname ?? '', gname: e.gname ?? '', size: e.size,
      });
    },
  });
  return out;
}

/** Writes the same logical tree in the given file order, with the given mtime and non-exec mode. */
async function writeTree(dir: string, order: readonly string[], mtime: Date, plainMode: number): Promise<void> {
  const files: Record<string, string> = {
    'b.txt': 'bee\n', 'a/z.yaml': 'kind: Z\n', 'a/b/c.yaml': 'kind: C\n', 'run.sh': '#!/bin/sh\necho hi\n', 'a.b': 'dot sorts before slash\n',
  };
  for (const name of order) {
    const path = join(dir, name);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, files[name] ?? '');
    await chmod(path, name === 'run.sh' ? 0o700 : plainMode);
    await utimes(path, mtime, mtime);
  }
  await mkdir(join(dir, 'empty'));
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

test('the same tree gives byte-identical archives regardless of mtimes, modes and creation order', async (t) => {
  const [one, two, out] = await Promise.all([scratch(), scratch(), scratch()]);
  await writeTree(one, ['b.txt', 'a/z.yaml', 'a/b/c.yaml', 'run.sh', 'a.b'], new Date('2020-05-05'), 0o644);
  await writeTree(two, ['a.b', 'run.sh', 'a/b/c.yaml', 'a/z.yaml', 'b.txt'], new Date('2024-12-31'), 0o600);
  const first = await createDeterministicTarGz(one, join(out, 'one.tgz'));
  const second = await createDeterministicTarGz(two, join(out, 'two.tgz'));
  const again = await createDeterministicTarGz(one, join(out, 'again.tgz'));
  const bytes = await readFile(join(out, 'one.tgz'));
  t.true(bytes.equals(await readFile(join(out, 'two.tgz'))), 'byte-identical');
  t.is(first.digest, second.digest);
  t.is(first.digest, again.digest);
  t.is(first.digest, sha256(bytes), 'the returned digest is the sha256 of the file');
  t.is(first.size, bytes.length);

  await writeFile(join(two, 'b.txt'), 'changed\n');
  const changed = await createDeterministicTarGz(two, join(out, 'changed.tgz'));
  t.not(changed.digest, first.digest, 'a content change changes the digest');
});

test('entries are sorted by path with normalized owners, modes and mtimes', async (t) => {
  const [src, out] = await Promise.all([scratch(), scratch()]);
  await writeTree(src, ['b.txt', 'a/z.yaml', 'a/b/c.yaml', 'run.sh', 'a.b'], new Date('2021-01-01'), 0o664);
  const file = join(out, 'x.tgz');
  const result = await createDeterministicTarGz(src, file);
  const entries = await listArchive(file);
  t.deepEqual(entries.map((e) => e.path), ['a/', 'a.b', 'a/b/', 'a/b/c.yaml', 'a/z.yaml', 'b.txt', 'empty/', 'run.sh']);
  t.is(result.entries, entries.length);
  for (const e of entries) {
    t.is(e.uid, 0, e.path);
    t.is(e.gid, 0, e.path);
    t.is(e.uname, '', e.path);
    t.is(e.gname, '', e.path);
    t.is(e.mtime, ARCHIVE_MTIME.getTime(), e.path);
    const expectedMode = e.type === 'Directory' || e.path === 'run.sh' ? 0o755 : 0o644;
    t.is(e.mode & 0o7777, expectedMode, e.path);
  }
  const gz = await readFile(file);
  t.is(gz[3], 0, 'no FNAME/FCOMMENT/FEXTRA flags in the gzip header');
  t.deepEqual([...gz.subarray(4, 8)], [0, 0, 0, 0], 'no mtime in the gzip header');
  t.is(gz[9], 0xff, 'OS byte is "unknown"');
});

test('the filter leaves out files and whole directories', async (t) => {
  const [src, out] = await Promise.all([scratch(), scratch()]);
  await writeTree(src, ['b.txt', 'a/z.yaml', 'a/b/c.yaml', 'run.sh', 'a.b'], new Date(), 0o644);
  const seen: string[] = [];
  const file = join(out, 'f.tgz');
  await createDeterministicTarGz(src, file, {
    filter: (rel, info) => { seen.push(`${rel}${info.isDirectory ? '/' : ''}`); return rel !== 'a/b' && rel !== 'run.sh'; },
  });
  t.deepEqual((await listArchive(file)).map((e) => e.path), ['a/', 'a.b', 'a/z.yaml', 'b.txt', 'empty/']);
  t.true(seen.includes('a/b/'), 'directories are offered with isDirectory');
  t.false(seen.includes('a/b/c.yaml'), 'an excluded directory is not descended into');
});

test('symlinks: inside files are copied, anything else is skipped and reported', async (t) => {
  const [outside, src, out] = await Promise.all([scratch(), scratch(), scratch()]);
  await writeFile(join(outside, 'secret.txt'), 'OUTSIDE-SECRET');
  await mkdir(join(src, 'dir'));
  await mkdir(join(src, 'private'));
  await writeFile(join(src, 'dir', 'real.yaml'), 'kind: Real\n');
  await writeFile(join(src, 'private', 'key'), 'PRIVATE-KEY');
  await symlink('dir/real.yaml', join(src, 'alias.yaml'));
  await symlink(join(outside, 'secret.txt'), join(src, 'abs-out.txt'));
  await symlink('../' + outside.split('/').pop() + '/secret.txt', join(src, 'rel-out.txt'));
  await symlink('dir', join(src, 'dirlink'));
  await symlink('missing', join(src, 'dangling'));
  await symlink('private/key', join(src, 'to-private'));
  const file = join(out, 's.tgz');
  const result = await createDeterministicTarGz(src, file, { filter: (rel) => rel !== 'private' && !rel.startsWith('private/') });
  const entries = await listArchive(file);
  t.deepEqual(entries.map((e) => `${e.path}:${e.type}`), ['alias.yaml:File', 'dir/:Directory', 'dir/real.yaml:File']);
  t.deepEqual(result.skipped.map((s) => s.path).sort(), ['abs-out.txt', 'dangling', 'dirlink', 'rel-out.txt', 'to-private']);
  t.regex(result.skipped.find((s) => s.path === 'abs-out.txt')?.reason ?? '', /outside/);

  const dest = join(out, 'x');
  await extractTarGz(file, dest);
  t.is(await readFile(join(dest, 'alias.yaml'), 'utf8'), 'kind: Real\n');
  const raw = (await readFile(file)).toString('latin1');
  t.false(raw.includes('OUTSIDE'), 'outside content is not in the archive');
});

test('a round trip restores contents, executability and long paths', async (t) => {
  const [src, out] = await Promise.all([scratch(), scratch()]);
  await writeTree(src, ['b.txt', 'a/z.yaml', 'a/b/c.yaml', 'run.sh', 'a.b'], new Date(), 0o644);
  const longDir = join(src, 'x'.repeat(90), 'y'.repeat(90), 'z'.repeat(90));
  await mkdir(longDir, { recursive: true });
  await writeFile(join(longDir, `${'n'.repeat(120)}.yaml`), 'deep\n');
  await writeFile(join(src, 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 17, 7));
  const file = join(out, 'r.tgz');
  const created = await createDeterministicTarGz(src, file);
  const dest = join(out, 'restored');
  const result = await extractTarGz(file, dest);
  t.is(result.files + result.directories, created.entries);
  t.is(await readFile(join(dest, 'a', 'b', 'c.yaml'), 'utf8'), 'kind: C\n');
  t.is(await readFile(join(longDir.replace(src, dest), `${'n'.repeat(120)}.yaml`), 'utf8'), 'deep\n');
  t.true((await readFile(join(dest, 'big.bin'))).equals(Buffer.alloc(3 * 1024 * 1024 + 17, 7)));
  t.is((await stat(join(dest, 'run.sh'))).mode & 0o777, 0o755);
  t.true((await readdir(join(dest, 'empty'))).length === 0, 'empty directories survive');
});

test('a tree of many small files, empty files and a streamed large one: every byte in order, and the gzip of one deflate over the whole tar', async (t) => {
  // Files are read ahead of the one being archived and the tar is handed to gzip in large chunks: neither may change
  // what the archive holds, nor its bytes.
  const [src, out] = await Promise.all([scratch(), scratch()]);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < 300; i++) files.set(`d${i % 7}/f${String(i).padStart(3, '0')}.yaml`, Buffer.from(`index: ${i}\n${'x'.repeat(i * 37)}\n`));
  files.set('d0/empty.txt', Buffer.alloc(0));
  files.set('large.bin', Buffer.from(Array.from({ length: 1200 * 1024 }, (_, i) => (i * 7919) % 251)));
  for (const [path, content] of files) {
    await mkdir(join(src, path, '..'), { recursive: true });
    await writeFile(join(src, path), content);
  }
  const file = join(out, 'many.tgz');
  await createDeterministicTarGz(src, file);
  const archived = await readFile(file);
  const tarBytes = gunzipSync(archived);
  const whole = gzipSync(tarBytes, { level: 6 });
  whole[9] = 0xff; // the OS byte, as the archive writes it
  t.true(whole.equals(archived), 'the same bytes as one deflate of the whole tar');
  const back = join(out, 'back');
  await extractTarGz(file, back);
  for (const [path, content] of files) t.true((await readFile(join(back, path))).equals(content), path);
  t.is((await listArchive(file)).filter((e) => e.type === 'File').length, files.size);
});
