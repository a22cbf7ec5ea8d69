// Writing a blob stream to disk: verified before it is renamed into place, cut at
// the size limit, and never left behind (not even as a temp file) when wrong.
import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { writeVerifiedFile } from '../../../source-controller/oci/blob-file.ts';
import { DigestMismatchError, SizeLimitError, digestOf } from '../../../source-controller/oci/index.ts';

const content = Buffer.from('x'.repeat(100_000));
const digest = digestOf(content);
/** The content in 1000-byte chunks, like a network stream. */
const chunks = (buf: Buffer): Readable => Readable.from(Array.from({ length: Math.ceil(buf.length / 1000) }, (_, i) => buf.subarray(i * 1000, (i + 1) * 1000)));
const dir = (): string => mkdtempSync(join(tmpdir(), 'oci-blob-'));

test('matching bytes are written atomically to the destination', async (t) => {
  const d = dir();
  const dest = join(d, 'layer');
  t.deepEqual(await writeVerifiedFile(chunks(content), dest, { digest, size: content.length, maxBytes: content.length }, 'blob b'), { size: content.length });
  t.deepEqual(readFileSync(dest), content);
  t.deepEqual(readdirSync(d), ['layer'], 'no temp file remains');
});

test('a digest mismatch throws and leaves no file', async (t) => {
  const d = dir();
  const other = Buffer.from(content);
  other[500] = 0x79;
  const err = await t.throwsAsync(writeVerifiedFile(chunks(other), join(d, 'layer'), { digest, size: content.length }, 'blob b'),
    { instanceOf: DigestMismatchError });
  t.regex(err.message, /content digest sha256:[a-f0-9]{64} does not match/);
  t.is(err.expected, digest);
  t.deepEqual(readdirSync(d), []);
});

test('more bytes than the descriptor says is a mismatch, cut as they arrive', async (t) => {
  const d = dir();
  let produced = 0;
  // An endless stream: only cutting it early lets the test finish.
  const endless = new Readable({ read() { produced += 1000; this.push(Buffer.alloc(1000, 0x78)); } });
  await t.throwsAsync(writeVerifiedFile(endless, join(d, 'layer'), { digest, size: content.length }, 'blob b'),
    { instanceOf: DigestMismatchError, message: /more bytes arrived than the descriptor's size of 100000/ });
  t.true(produced < 200_000);
  t.deepEqual(readdirSync(d), []);
});

test('fewer bytes than the descriptor says is a mismatch', async (t) => {
  const d = dir();
  await t.throwsAsync(writeVerifiedFile(chunks(content.subarray(0, 5000)), join(d, 'layer'), { digest, size: content.length }, 'blob b'),
    { instanceOf: DigestMismatchError, message: /got 5000 bytes, the descriptor says 100000/ });
  t.deepEqual(readdirSync(d), []);
});

test('the size cap aborts the stream with SizeLimitError', async (t) => {
  const d = dir();
  const err = await t.throwsAsync(writeVerifiedFile(chunks(content), join(d, 'layer'), { digest, maxBytes: 10_000 }, 'blob b'),
    { instanceOf: SizeLimitError });
  t.is(err.limit, 10_000);
  t.is(err.reason, 'SizeLimitExceeded');
  t.deepEqual(readdirSync(d), []);
});
