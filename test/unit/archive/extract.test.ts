// extractTarGz refuses hostile archives with a typed error and leaves nothing on
// disk; the archives are crafted header by header (see craft.ts).
import test from 'ava';
import { mkdir, mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UnsafeArchiveError, extractTarGz, type ExtractLimits, type UnsafeArchiveReason } from '../../../runtime/archive.ts';
import { craftTar, craftTarGz, type CraftedEntry } from './craft.ts';

/** A parent folder holding only the archive; `dest` inside it does not exist yet. */
async function setup(archive: Buffer): Promise<{ parent: string; file: string; dest: string }> {
  const parent = await mkdtemp(join(tmpdir(), 'trellis-extract-'));
  const file = join(parent, 'in.tar.gz');
  await writeFile(file, archive);
  return { parent, file, dest: join(parent, 'out') };
}

const GOOD: CraftedEntry = { path: 'ok/first.yaml', body: 'kind: ConfigMap\n' };

interface BadCase { title: string; entries?: CraftedEntry[]; raw?: Buffer; limits?: ExtractLimits; reason: UnsafeArchiveReason; message: RegExp; entry?: string }

const bad: BadCase[] = [
  { title: 'a ".." segment', entries: [GOOD, { path: 'ok/../../escape.yaml', body: 'x' }], reason: 'path-traversal', message: /"\.\." segments/, entry: 'ok/../../escape.yaml' },
  { title: 'a bare ".."', entries: [{ path: '..', type: 'Directory' }], reason: 'path-traversal', message: /\.\./, entry: '..' },
  { title: 'an absolute path', entries: [GOOD, { path: '/etc/passwd', body: 'root' }], reason: 'absolute-path', message: /absolute/, entry: '/etc/passwd' },
  { title: 'a ".." hidden in a PAX path', entries: [{ path: 'innocent.yaml', pax: { path: 'a/../../pax-escape' }, body: 'x' }], reason: 'path-traversal', message: /\.\./, entry: 'a/../../pax-escape' },
  { title: 'a backslash path', entries: [{ path: '..\\..\\evil', body: 'x' }], reason: 'invalid-path', message: /backslash/ },
  { title: 'a symlink', entries: [GOOD, { path: 'ok/link', type: 'SymbolicLink', linkpath: '/etc/passwd' }], reason: 'link', message: /symbolic links/, entry: 'ok/link' },
  { title: 'a relative symlink', entries: [{ path: 'link', type: 'SymbolicLink', linkpath: 'ok/first.yaml' }], reason: 'link', message: /symbolic links/ },
  { title: 'a hard link', entries: [GOOD, { path: 'hard', type: 'Link', linkpath: 'ok/first.yaml' }], reason: 'link', message: /hard links/, entry: 'hard' },
  { title: 'a character device', entries: [{ path: 'null', type: 'CharacterDevice', devmaj: 1, devmin: 3 }], reason: 'device', message: /character devices/, entry: 'null' },
  { title: 'a block device', entries: [{ path: 'sda', type: 'BlockDevice', devmaj: 8, devmin: 0 }], reason: 'device', message: /block devices/, entry: 'sda' },
  { title: 'a FIFO', entries: [{ path: 'pipe', type: 'FIFO' }], reason: 'fifo', message: /FIFO/, entry: 'pipe' },
  { title: 'an unsupported entry type', entries: [{ path: 'sparse', type: 'SparseFile' }], reason: 'unsupported-type', message: /SparseFile/ },
  {
    title: 'contents over maxBytes (a tar bomb)', limits: { maxBytes: 1000 },
    entries: [GOOD, { path: 'big.bin', body: Buffer.alloc(2000) }], reason: 'too-large', message: /exceed 1000 bytes/, entry: 'big.bin',
  },
  {
    title: 'more entries than maxEntries', limits: { maxEntries: 10 },
    entries: Array.from({ length: 11 }, (_, i) => ({ path: `f${i}`, body: 'x' })), reason: 'too-many-entries', message: /more than 10/, entry: 'f10',
  },
  {
    // Metadata entries are not contents, so only the decompressed-stream cap sees them.
    title: 'a stream inflating past the limits (decompression bomb)', limits: { maxBytes: 1000, maxEntries: 10 },
    entries: [GOOD, ...Array.from({ length: 3 }, () => ({ path: 'g', type: 'GlobalExtendedHeader' as const, body: Buffer.alloc(1024 * 1024 - 512) }))],
    reason: 'decompression-bomb', message: /decompressed stream exceeds/,
  },
  { title: 'the same file twice', entries: [GOOD, { ...GOOD, body: 'kind: Secret\n' }], reason: 'duplicate-entry', message: /twice/, entry: 'ok/first.yaml' },
  { title: 'a file where a directory is', entries: [GOOD, { path: 'ok', body: 'x' }], reason: 'duplicate-entry', message: /share this path/, entry: 'ok' },
  { title: 'a truncated archive', raw: gzipSync(craftTar([GOOD, { path: 'b', body: Buffer.alloc(4096) }]).subarray(0, 2048)), reason: 'malformed', message: /truncated/ },
  { title: 'a corrupt header checksum', raw: gzipSync(Buffer.concat([Buffer.from('garbage'.padEnd(512, 'x')), Buffer.alloc(1024)])), reason: 'malformed', message: /checksum/ },
  { title: 'data that is not gzip', raw: craftTar([GOOD]), reason: 'malformed', message: /gzip/ },
  { title: 'a truncated gzip stream', raw: craftTarGz([GOOD, { path: 'b', body: Buffer.alloc(100_000, 1) }]).subarray(0, 60), reason: 'malformed', message: /gzip/ },
];

for (const c of bad) {
  test(`refuses ${c.title} and leaves nothing behind`, async (t) => {
    const { parent, file, dest } = await setup(c.raw ?? craftTarGz(c.entries ?? []));
    const err = await t.throwsAsync(extractTarGz(file, dest, c.limits), { instanceOf: UnsafeArchiveError });
    t.is(err?.reason, c.reason);
    t.regex(err?.message ?? '', c.message);
    if (c.entry !== undefined) {
      t.is(err?.entry, c.entry);
      t.true(err?.message.includes(JSON.stringify(c.entry)), 'the message names the entry');
    }
    t.deepEqual(await readdir(parent), ['in.tar.gz'], 'no destination and no temporary directory remain');
  });
}

test('nothing is written outside the destination even for a traversal after good entries', async (t) => {
  const { parent, file, dest } = await setup(craftTarGz([GOOD, { path: '../sibling.yaml', body: 'x' }]));
  await t.throwsAsync(extractTarGz(file, dest), { instanceOf: UnsafeArchiveError });
  t.deepEqual(await readdir(parent), ['in.tar.gz']);
  t.deepEqual(await readdir(join(parent, '..')).then((names) => names.filter((n) => n === 'sibling.yaml')), []);
});

test('a refusal after hundreds of files written in the background still leaves nothing behind', async (t) => {
  // Small files are written a few at a time while the next entries are read: the cleanup waits for every write.
  const many = Array.from({ length: 400 }, (_, i) => ({ path: `d${i % 9}/f${i}.yaml`, body: `index: ${i}\n`.repeat(40) }));
  const { parent, file, dest } = await setup(craftTarGz([...many, { path: 'd1/f1.yaml', body: 'again' }]));
  const err = await t.throwsAsync(extractTarGz(file, dest), { instanceOf: UnsafeArchiveError });
  t.is(err?.reason, 'duplicate-entry');
  t.deepEqual(await readdir(parent), ['in.tar.gz'], 'no destination and no temporary directory remain');
});

test('hundreds of small files extract with their exact contents and modes', async (t) => {
  const many = Array.from({ length: 400 }, (_, i) => ({ path: `d${i % 9}/f${i}.yaml`, body: `index: ${i}\n`.repeat(i % 50), mode: i % 7 === 0 ? 0o700 : 0o600 }));
  const { file, dest } = await setup(craftTarGz(many));
  const result = await extractTarGz(file, dest);
  t.is(result.files, many.length);
  for (const entry of many) {
    t.is(await readFile(join(dest, entry.path), 'utf8'), entry.body, entry.path);
    t.is((await stat(join(dest, entry.path))).mode & 0o777, entry.mode === 0o700 ? 0o755 : 0o644, entry.path);
  }
});

test('a good archive with PAX and GNU long names extracts with normalized modes', async (t) => {
  const longName = `${'d'.repeat(120)}/${'f'.repeat(150)}.yaml`;
  const gnuName = `${'g'.repeat(200)}.yaml`;
  const { file, dest } = await setup(craftTarGz([
    { path: './', type: 'Directory' },
    { path: 'dir', type: 'Directory', mode: 0o700 },
    { path: './dir/a.yaml', body: 'a: 1\n', mode: 0o4777 },
    { path: 'dir/b.yaml', body: 'b: 2\n', mode: 0o600, uid: 1234, uname: 'someone' },
    { path: 'short', pax: { path: longName }, body: 'long\n' },
    { path: '././@LongLink', type: 'NextFileHasLongPath', body: `${gnuName}\0` },
    { path: gnuName.slice(0, 99), body: 'gnu\n' },
    { path: 'g', type: 'GlobalExtendedHeader', body: '52 comment=e5f9c0a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3\n' },
    { path: 'empty.txt' },
  ]));
  const result = await extractTarGz(file, dest, { maxBytes: 1000, maxEntries: 10 });
  t.deepEqual(result, { files: 5, directories: 1, bytes: 19 });
  t.is(await readFile(join(dest, 'dir', 'a.yaml'), 'utf8'), 'a: 1\n');
  t.is(await readFile(join(dest, longName), 'utf8'), 'long\n');
  t.is(await readFile(join(dest, gnuName), 'utf8'), 'gnu\n');
  t.is((await stat(join(dest, 'dir', 'a.yaml'))).mode & 0o7777, 0o755, 'setuid is dropped, exec kept');
  t.is((await stat(join(dest, 'dir', 'b.yaml'))).mode & 0o7777, 0o644);
  t.is((await stat(join(dest, 'dir'))).mode & 0o7777, 0o755);
});

test('an existing empty destination is accepted, a non-empty one is refused', async (t) => {
  const first = await setup(craftTarGz([GOOD]));
  await mkdir(first.dest);
  await extractTarGz(first.file, first.dest);
  t.is(await readFile(join(first.dest, 'ok', 'first.yaml'), 'utf8'), 'kind: ConfigMap\n');

  const second = await setup(craftTarGz([GOOD]));
  await mkdir(second.dest);
  await writeFile(join(second.dest, 'keep.txt'), 'mine');
  await t.throwsAsync(extractTarGz(second.file, second.dest), { message: /not empty/ });
  t.deepEqual(await readdir(second.dest), ['keep.txt']);
  t.deepEqual((await readdir(second.parent)).sort(), ['in.tar.gz', 'out']);
});
