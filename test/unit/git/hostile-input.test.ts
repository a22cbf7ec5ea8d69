// The Git fetcher's judges of hostile input, on plain data: tree entry names,
// ref names, a pack's declared sizes (packs built by hand here), and the bytes a
// commit or tag signature covers.
import test from 'ava';
import { deflateSync } from 'node:zlib';
import { unsafeEntryName } from '../../../source-controller/git/checkout.ts';
import { GitTooLargeError } from '../../../source-controller/git/errors.ts';
import { inspectPack, PackGuard } from '../../../source-controller/git/pack-guard.ts';
import { isSafeRefName } from '../../../source-controller/git/refs.ts';
import { splitCommitSignature, splitTagSignature } from '../../../source-controller/git/signature.ts';

test('tree entry names: plain names pass; dots, separators, NUL and every spelling of .git do not', (t) => {
  for (const name of ['app.yaml', '.github', '.gitignore', 'git', '..foo', 'a..b', 'ünï cödé', '.git-keep']) {
    t.is(unsafeEntryName(name), undefined, name);
  }
  for (const name of ['', '.', '..', 'a/b', '/etc', 'a\\b', 'a\0b', '.git', '.GIT', '.Git', '.git.', '.git ', '.git. .', 'git~1', 'GIT~12']) {
    t.not(unsafeEntryName(name), undefined, JSON.stringify(name));
  }
});

test('ref names follow git check-ref-format', (t) => {
  for (const name of ['HEAD', 'refs/heads/main', 'refs/tags/v1.2.3', 'refs/heads/feature/x-y_z', 'refs/heads/a.b']) {
    t.true(isSafeRefName(name), name);
  }
  for (const name of ['main', 'refs/heads/../x', 'refs/heads/a..b', 'refs/heads/.x', 'refs/heads/x.lock', 'refs/heads/x/', 'refs/heads/x.',
    'refs/heads/a b', 'refs/heads/a\tb', 'refs/heads/a\u0001', 'refs/heads/a~1', 'refs/heads/a^', 'refs/heads/a:b', 'refs/heads/a?',
    'refs/heads/a*', 'refs/heads/a[', 'refs/heads/a\\b', 'refs/heads/a@{1}', 'refs//heads', 'HEAD~1', `refs/heads/${'x'.repeat(2000)}`]) {
    t.false(isSafeRefName(name), JSON.stringify(name));
  }
});

/** An object header: type and size, as a pack writes them. */
function objectHeader(type: number, size: number): Buffer {
  const bytes: number[] = [];
  let byte = (type << 4) | (size & 0x0f);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(byte | 0x80);
    byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(byte);
  return Buffer.from(bytes);
}

function pack(objects: Array<{ type: number; size: number; data: Buffer; base?: Buffer }>): Buffer {
  const head = Buffer.alloc(12);
  head.write('PACK', 0, 'latin1');
  head.writeUInt32BE(2, 4);
  head.writeUInt32BE(objects.length, 8);
  return Buffer.concat([head, ...objects.flatMap((o) => [objectHeader(o.type, o.size), ...(o.base ? [o.base] : []), deflateSync(o.data)])]);
}

test('a pack whose objects inflate past the limit is refused; one under it passes', (t) => {
  const small = Buffer.from('hello\n');
  t.notThrows(() => inspectPack(pack([{ type: 3, size: small.length, data: small }, { type: 3, size: small.length, data: small }]), 100));
  const zeros = Buffer.alloc(64 * 1024);
  const bomb = pack([{ type: 3, size: zeros.length, data: zeros }]);
  t.true(bomb.length < 200, 'tiny on the wire');
  t.throws(() => inspectPack(bomb, 32 * 1024), { instanceOf: GitTooLargeError, message: /inflate to more than 32768 bytes/ });
  // Many objects each under the limit, together over it.
  const many = pack(Array.from({ length: 8 }, () => ({ type: 3, size: 8 * 1024, data: Buffer.alloc(8 * 1024) })));
  t.throws(() => inspectPack(many, 32 * 1024), { instanceOf: GitTooLargeError });
  // A header that understates its size is refused without inflating the rest.
  t.throws(() => inspectPack(pack([{ type: 3, size: 10, data: zeros }]), 1024 * 1024), { instanceOf: GitTooLargeError });
});

test('a delta counts as the size of its result', (t) => {
  // Delta data: base size 5, result size 1 MiB (varints), then instructions we never read.
  const delta = Buffer.from([0x05, 0x80, 0x80, 0x40, 0x90]);
  const withBase = pack([{ type: 7, size: delta.length, data: delta, base: Buffer.alloc(20, 1) }]);
  t.throws(() => inspectPack(withBase, 64 * 1024), { instanceOf: GitTooLargeError });
  t.notThrows(() => inspectPack(withBase, 2 * 1024 * 1024));
});

test('the guard reads the pack from side-band channel 1 of the pkt-line stream, split anywhere', (t) => {
  const zeros = Buffer.alloc(64 * 1024);
  const body = pack([{ type: 3, size: zeros.length, data: zeros }]);
  const pkt = (payload: Buffer): Buffer => Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, '0')), payload]);
  const stream = Buffer.concat([pkt(Buffer.from('NAK\n')), pkt(Buffer.concat([Buffer.from([2]), Buffer.from('Counting objects\n')])),
    pkt(Buffer.concat([Buffer.from([1]), body.subarray(0, 7)])), pkt(Buffer.concat([Buffer.from([1]), body.subarray(7)])), Buffer.from('0000')]);
  const guard = new PackGuard(1024);
  for (let at = 0; at < stream.length; at += 3) guard.push(stream.subarray(at, at + 3));
  t.throws(() => guard.finish(), { instanceOf: GitTooLargeError });
  const roomy = new PackGuard(1024 * 1024);
  roomy.push(stream);
  t.notThrows(() => roomy.finish());
});

test('a commit is signed without its gpgsig header; a tag up to its last signature line', (t) => {
  const commit = Buffer.from([
    'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904',
    'author A <a@x> 1 +0000',
    'committer A <a@x> 1 +0000',
    'gpgsig -----BEGIN PGP SIGNATURE-----',
    ' ',
    ' abc',
    ' -----END PGP SIGNATURE-----',
    'extra header',
    '',
    'message',
    'gpgsig in the message is content',
    '',
  ].join('\n'));
  const split = splitCommitSignature(commit);
  t.is(split.signature, '-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n');
  t.is(split.payload.toString(), 'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n'
    + 'extra header\n\nmessage\ngpgsig in the message is content\n');
  t.is(splitCommitSignature(Buffer.from('tree x\n\nno signature\n')).signature, undefined);
  const tag = Buffer.from('object x\ntype commit\ntag v1\n\nnotes -----BEGIN PGP SIGNATURE----- inline\n-----BEGIN PGP SIGNATURE-----\nsig\n-----END PGP SIGNATURE-----\n');
  const tagSplit = splitTagSignature(tag);
  t.is(tagSplit.payload.toString(), 'object x\ntype commit\ntag v1\n\nnotes -----BEGIN PGP SIGNATURE----- inline\n');
  t.regex(tagSplit.signature ?? '', /^-----BEGIN PGP SIGNATURE-----\nsig/);
});
