/**
 * Writes a downloaded blob to disk without ever holding it in memory: bytes go to
 * a temporary file next to the destination while they are hashed and counted; the
 * stream is cut as soon as it passes the size limit or the size the descriptor
 * promised; the file is renamed into place only when the digest matches. On any
 * failure the temporary file is removed, so a bad blob leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDigester, digestAlgorithm, type DigestAlgorithm } from './digest.ts';
import { DigestMismatchError, SizeLimitError } from './errors.ts';

/** What the bytes must be. */
export interface BlobExpectation {
  /** The digest that names the blob. */
  readonly digest: string;
  /** The size from the descriptor; more or fewer bytes is a mismatch. */
  readonly size?: number | undefined;
  /** A hard cap, whatever the descriptor says. */
  readonly maxBytes?: number | undefined;
}

/**
 * Streams `source` into `destFile` (atomically) after verifying size and digest.
 * Throws {@link SizeLimitError} or {@link DigestMismatchError}; `what` names the blob in messages.
 */
export async function writeVerifiedFile(source: Readable, destFile: string, expected: BlobExpectation,
  what: string): Promise<{ size: number }> {
  const algorithm = digestAlgorithm(expected.digest);
  const temp = join(dirname(destFile), `.${basename(destFile)}.${randomBytes(6).toString('hex')}.partial`);
  const check = new VerifyingCounter(algorithm, expected, what);
  try {
    await pipeline(source, check, createWriteStream(temp, { flags: 'wx', mode: 0o644 }));
    const actual = check.digest();
    if (expected.size !== undefined && check.bytes !== expected.size) {
      throw new DigestMismatchError(`${what}: got ${check.bytes} bytes, the descriptor says ${expected.size}`, expected.digest, actual);
    }
    if (actual !== expected.digest) {
      throw new DigestMismatchError(`${what}: content digest ${actual} does not match ${expected.digest}`, expected.digest, actual);
    }
    await rename(temp, destFile);
    return { size: check.bytes };
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** Hashes and counts bytes as they pass, failing the stream at the first byte too many. */
class VerifyingCounter extends Transform {
  bytes = 0;
  readonly #digester;
  readonly #expected: BlobExpectation;
  readonly #what: string;

  constructor(algorithm: DigestAlgorithm, expected: BlobExpectation, what: string) {
    super();
    this.#digester = createDigester(algorithm);
    this.#expected = expected;
    this.#what = what;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    const { maxBytes, size, digest } = this.#expected;
    if (maxBytes !== undefined && this.bytes > maxBytes) {
      callback(new SizeLimitError(`${this.#what} is over the size limit of ${maxBytes} bytes`, maxBytes));
      return;
    }
    if (size !== undefined && this.bytes > size) {
      callback(new DigestMismatchError(`${this.#what}: more bytes arrived than the descriptor's size of ${size}`, digest));
      return;
    }
    this.#digester.update(chunk);
    callback(null, chunk);
  }

  digest(): string {
    return this.#digester.digest();
  }
}

/** Digest and size of a file, hashed as a stream. */
export async function digestFile(path: string, algorithm: DigestAlgorithm = 'sha256'): Promise<{ digest: string; size: number }> {
  const digester = createDigester(algorithm);
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    digester.update(chunk);
    size += chunk.length;
  }
  return { digest: digester.digest(), size };
}
