// Image layers: the writer gives the same bytes for the same entries in any order,
// and the unpacker applies layers as a container runtime does (whiteouts, opaque
// directories, replaced types, owners and modes) and refuses paths that leave the root.
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import test from 'ava';
import { Header } from 'tar';
import { LayerEntryError, planLayer, textEntry, writeLayer, type LayerEntry } from '../../../cli/image/layer.ts';
import { unpackImage, unpackLayer, UnpackError } from '../../../cli/image/unpack.ts';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'trellis-image-unit-'));

async function layerOf(dir: string, name: string, entries: readonly LayerEntry[]): Promise<string> {
  const file = join(dir, `${name}.tar.gz`);
  await writeLayer(entries, file, { mtime: 1_700_000_000 });
  return file;
}

/** A tar.gz with one raw entry, bypassing the writer's checks (for hostile layers). */
function rawLayer(dir: string, name: string, entries: { path: string; type: 'File' | 'SymbolicLink' | 'Directory'; linkpath?: string; body?: string }[]): string {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const block = Buffer.alloc(512);
    new Header({ path: e.path, type: e.type, mode: 0o644, size: body.length, mtime: new Date(0), linkpath: e.linkpath ?? '', uid: 0, gid: 0 }).encode(block);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  const file = join(dir, `${name}.tar.gz`);
  writeFileSync(file, gzipSync(Buffer.concat(blocks)));
  return file;
}

test('the same entries in any order give the same layer digest, diff_id and size', async (t) => {
  const dir = scratch();
  const entries: LayerEntry[] = [
    textEntry('etc/passwd', 'root:x:0:0::/root:/sbin/nologin\n'),
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'symlink', path: 'lib64/ld.so', target: '/lib/x86_64-linux-gnu/ld.so' },
    textEntry(`app/${'deep/'.repeat(30)}module.ts`, 'export {};\n'),
  ];
  const a = await writeLayer(entries, join(dir, 'a.tar.gz'), { mtime: 1_700_000_000 });
  const b = await writeLayer([...entries].reverse(), join(dir, 'b.tar.gz'), { mtime: 1_700_000_000 });
  t.is(a.digest, b.digest);
  t.is(a.diffId, b.diffId);
  t.deepEqual(readFileSync(a.file), readFileSync(b.file));
  const c = await writeLayer(entries, join(dir, 'c.tar.gz'), { mtime: 1_700_000_001 });
  t.not(c.digest, a.digest, 'the mtime is part of the content');
  t.regex(a.digest, /^sha256:[a-f0-9]{64}$/);
  t.not(a.digest, a.diffId, 'the blob digest is of the compressed bytes, the diff_id of the tar stream');
});

test('planLayer adds missing parent directories and refuses duplicates, escapes and files with children', (t) => {
  const planned = planLayer([textEntry('a/b/c.txt', 'x')]);
  t.deepEqual(planned.map((e) => `${e.type}:${e.path}`), ['dir:a', 'dir:a/b', 'file:a/b/c.txt']);
  t.throws(() => planLayer([textEntry('a', '1'), textEntry('/a/', '2')]), { instanceOf: LayerEntryError, message: /given twice/ });
  t.throws(() => planLayer([textEntry('a/../../etc/passwd', 'x')]), { instanceOf: LayerEntryError });
  t.throws(() => planLayer([textEntry('a', 'x'), textEntry('a/b', 'y')]), { instanceOf: LayerEntryError, message: /is a file/ });
});

test('layers unpack in order with whiteouts and opaque directories applied to the lower layers only', async (t) => {
  const dir = scratch();
  const lower = await layerOf(dir, 'lower', [
    textEntry('a/x', 'x'), textEntry('a/y', 'y'), textEntry('b/z', 'z'), textEntry('c/old', 'old'), textEntry('d', 'a file'),
    { type: 'symlink', path: 'e', target: 'a/y' },
    { type: 'dir', path: 'home/nonroot', mode: 0o700, uid: 65532, gid: 65532 },
  ]);
  const upper = await layerOf(dir, 'upper', [
    textEntry('a/.wh.x', ''),
    textEntry('.wh.b', ''),
    textEntry('c/.wh..wh..opq', ''),
    textEntry('c/new', 'new'),
    textEntry('d/now-a-directory', 'yes'),
    textEntry('e', 'the link became a file'),
  ]);
  const root = join(dir, 'root');
  await unpackImage(root, [lower, upper]);

  t.false(existsSync(join(root, 'a', 'x')), '.wh.x removed a/x');
  t.is(readFileSync(join(root, 'a', 'y'), 'utf8'), 'y');
  t.false(existsSync(join(root, 'b')), '.wh.b removed the whole directory b');
  t.deepEqual(readdirSync(join(root, 'c')), ['new'], 'the opaque whiteout emptied c of the lower layer, kept its own entry');
  t.is(readFileSync(join(root, 'd', 'now-a-directory'), 'utf8'), 'yes', 'a file replaced by a directory');
  t.true(lstatSync(join(root, 'e')).isFile(), 'a symlink replaced by a file');
  t.false(readdirSync(root).some((n) => n.startsWith('.wh.')), 'whiteouts are not materialized');
  const home = lstatSync(join(root, 'home', 'nonroot'));
  t.is(home.uid, 65532);
  t.is(home.mode & 0o7777, 0o700);
});

test('an opaque directory keeps entries its own layer wrote before the marker', async (t) => {
  const dir = scratch();
  const lower = await layerOf(dir, 'lower', [textEntry('c/old', 'old')]);
  // Byte order puts "c/+early" before "c/.wh..wh..opq": the marker must not remove it.
  const upper = await layerOf(dir, 'upper', [textEntry('c/+early', 'kept'), textEntry('c/.wh..wh..opq', '')]);
  const root = join(dir, 'root');
  await unpackImage(root, [lower, upper]);
  t.deepEqual(readdirSync(join(root, 'c')), ['+early']);
});

test('symlinks, modes and long paths survive the round trip', async (t) => {
  const dir = scratch();
  const long = `app/${'a-rather-long-folder-name/'.repeat(8)}file.ts`;
  const layer = await layerOf(dir, 'one', [
    { type: 'symlink', path: 'lib64/ld-linux-x86-64.so.2', target: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' },
    { type: 'file', path: 'usr/local/bin/node', mode: 0o755, source: { bytes: Buffer.from('#!binary') } },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    textEntry(long, 'long'),
  ]);
  const root = join(dir, 'root');
  await unpackLayer(root, layer);
  t.is(readlinkSync(join(root, 'lib64', 'ld-linux-x86-64.so.2')), '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
  t.is(lstatSync(join(root, 'usr/local/bin/node')).mode & 0o7777, 0o755);
  t.is(lstatSync(join(root, 'tmp')).mode & 0o7777, 0o1777);
  t.is(readFileSync(join(root, long), 'utf8'), 'long');
});

test('the unpacker refuses paths that leave the root and writes through symlinks', async (t) => {
  const dir = scratch();
  const escape = rawLayer(dir, 'escape', [{ path: '../outside', type: 'File', body: 'x' }]);
  await t.throwsAsync(unpackLayer(join(dir, 'root1'), escape), { instanceOf: UnpackError, message: /leaves the root/ });
  t.false(existsSync(join(dir, 'outside')));

  const absolute = rawLayer(dir, 'absolute', [{ path: '/etc/passwd', type: 'File', body: 'x' }]);
  await t.throwsAsync(unpackLayer(join(dir, 'root2'), absolute), { instanceOf: UnpackError, message: /absolute/ });

  const through = rawLayer(dir, 'through', [
    { path: 'link', type: 'SymbolicLink', linkpath: dir },
    { path: 'link/planted', type: 'File', body: 'x' },
  ]);
  await t.throwsAsync(unpackLayer(join(dir, 'root3'), through), { instanceOf: UnpackError, message: /through the symlink/ });
  t.false(existsSync(join(dir, 'planted')));
});
