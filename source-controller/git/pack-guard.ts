/**
 * A check on an upload-pack response before isomorphic-git indexes it. The
 * library inflates every object of the pack and keeps them all in memory while
 * it indexes, so a pack under the download cap can still hold a "zip bomb": a
 * few hundred kilobytes of zeros that inflate to gigabytes. The guard reads
 * the same bytes as they stream by (pkt-lines, side-band channel 1 is the pack)
 * and, when the response ends, walks the pack's object headers: the sizes they
 * declare (for a delta, the size of its result) must add up to no more than the
 * limit. Each object is inflated once here with an output cap equal to the size
 * it declared, so a lying header cannot make the guard itself balloon.
 */
import { inflateSync } from 'node:zlib';
import { GitTooLargeError } from './errors.ts';

const OBJ_OFS_DELTA = 6;
const OBJ_REF_DELTA = 7;

/** Collects the pack bytes of one upload-pack response and checks them at the end. */
export class PackGuard {
  readonly #maxInflatedBytes: number;
  #pending: Buffer = Buffer.alloc(0);
  readonly #pack: Buffer[] = [];

  constructor(maxInflatedBytes: number) {
    this.#maxInflatedBytes = maxInflatedBytes;
  }

  /** Feeds response bytes as they arrive. */
  push(chunk: Uint8Array): void {
    this.#pending = this.#pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk]);
    let at = 0;
    while (this.#pending.length - at >= 4) {
      const length = parseInt(this.#pending.toString('latin1', at, at + 4), 16);
      if (!Number.isFinite(length)) break; // not pkt-lines: leave it to the library
      if (length < 4) { at += 4; continue; } // flush, delimiter
      if (this.#pending.length - at < length) break;
      if (this.#pending[at + 4] === 1) this.#pack.push(this.#pending.subarray(at + 5, at + length));
      at += length;
    }
    this.#pending = this.#pending.subarray(at);
  }

  /** Throws {@link GitTooLargeError} when the pack's objects would inflate past the limit. */
  finish(): void {
    const pack = Buffer.concat(this.#pack);
    this.#pack.length = 0;
    if (pack.length < 12 || pack.toString('latin1', 0, 4) !== 'PACK') return;
    inspectPack(pack, this.#maxInflatedBytes);
  }
}

/** Reads a variable-length size: 7 bits per byte, least significant group first. */
function deltaSize(data: Buffer, start: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  let at = start;
  for (;;) {
    const byte = data[at++] ?? 0;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0 || at >= data.length) return { value, next: at };
  }
}

function tooLarge(limit: number): GitTooLargeError {
  return new GitTooLargeError(limit, `the pack's objects inflate to more than ${limit} bytes`);
}

/** Walks the objects of a whole pack; throws when their inflated sizes add up past `limit`. */
export function inspectPack(pack: Buffer, limit: number): void {
  const count = pack.readUInt32BE(8);
  let at = 12;
  let total = 0;
  for (let i = 0; i < count && at < pack.length; i++) {
    let byte = pack[at++] ?? 0;
    const type = (byte >> 4) & 7;
    let size = byte & 0x0f;
    let shift = 4;
    while (byte & 0x80) {
      byte = pack[at++] ?? 0;
      size += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    }
    if (type === OBJ_OFS_DELTA) {
      do { byte = pack[at++] ?? 0; } while (byte & 0x80);
    } else if (type === OBJ_REF_DELTA) {
      at += 20;
    }
    if (size > limit) throw tooLarge(limit);
    let inflated: { buffer: Buffer; engine: { bytesWritten: number } };
    try {
      inflated = inflateSync(pack.subarray(at), { info: true, maxOutputLength: Math.max(size, 1) }) as unknown as typeof inflated;
    } catch (err) {
      // More output than the header declared is a lie worth refusing; anything else (not zlib) the library refuses itself.
      if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) throw tooLarge(limit);
      return;
    }
    let produces = size;
    if (type === OBJ_OFS_DELTA || type === OBJ_REF_DELTA) produces = deltaSize(inflated.buffer, deltaSize(inflated.buffer, 0).next).value;
    total += produces;
    if (total > limit) throw tooLarge(limit);
    at += inflated.engine.bytesWritten;
  }
}
