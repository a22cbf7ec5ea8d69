/**
 * `crypto` inside the sandbox: only `createHash('sha1' | 'sha256')` with
 * `update(text)` and `digest('hex')`, which constructs and cdk8s use to derive
 * addresses and names. Pure JavaScript, since the sandbox has no Node API.
 */

/** The UTF-8 bytes of `text`. */
export function utf8(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return out;
}

/** The message padded to whole 64-byte blocks, as 32-bit big-endian words (SHA-1 and SHA-2 pad alike). */
function paddedWords(bytes: readonly number[]): number[] {
  const bitLength = bytes.length * 8;
  const padded = [...bytes, 0x80];
  while (padded.length % 64 !== 56) padded.push(0);
  const high = Math.floor(bitLength / 0x100000000);
  for (const word of [high, bitLength >>> 0]) padded.push((word >>> 24) & 255, (word >>> 16) & 255, (word >>> 8) & 255, word & 255);
  const words: number[] = [];
  for (let i = 0; i < padded.length; i += 4) words.push(((padded[i]! << 24) | (padded[i + 1]! << 16) | (padded[i + 2]! << 8) | padded[i + 3]!) >>> 0);
  return words;
}

const rotl = (x: number, n: number): number => ((x << n) | (x >>> (32 - n))) >>> 0;
const rotr = (x: number, n: number): number => ((x >>> n) | (x << (32 - n))) >>> 0;
const hex = (words: readonly number[]): string => words.map((w) => (w >>> 0).toString(16).padStart(8, '0')).join('');

function sha1(bytes: readonly number[]): string {
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const words = paddedWords(bytes);
  for (let block = 0; block < words.length; block += 16) {
    const w = words.slice(block, block + 16);
    for (let t = 16; t < 80; t++) w.push(rotl(w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!, 1));
    let [a, b, c, d, e] = h as [number, number, number, number, number];
    for (let t = 0; t < 80; t++) {
      const [f, k] = t < 20 ? [(b & c) | (~b & d), 0x5a827999]
        : t < 40 ? [b ^ c ^ d, 0x6ed9eba1]
          : t < 60 ? [(b & c) | (b & d) | (c & d), 0x8f1bbcdc]
            : [b ^ c ^ d, 0xca62c1d6];
      const next = (rotl(a, 5) + (f >>> 0) + e + k + w[t]!) >>> 0;
      e = d; d = c; c = rotl(b, 30); b = a; a = next;
    }
    h[0] = (h[0]! + a) >>> 0; h[1] = (h[1]! + b) >>> 0; h[2] = (h[2]! + c) >>> 0; h[3] = (h[3]! + d) >>> 0; h[4] = (h[4]! + e) >>> 0;
  }
  return hex(h);
}

/** SHA-256 round constants: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K256 = (() => {
  const out: number[] = [];
  for (let n = 2; out.length < 64; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
    if (prime) out.push(Math.floor((Math.cbrt(n) % 1) * 0x100000000) >>> 0);
  }
  return out;
})();

function sha256(bytes: readonly number[]): string {
  const h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  const words = paddedWords(bytes);
  for (let block = 0; block < words.length; block += 16) {
    const w = words.slice(block, block + 16);
    for (let t = 16; t < 64; t++) {
      const s0 = rotr(w[t - 15]!, 7) ^ rotr(w[t - 15]!, 18) ^ (w[t - 15]! >>> 3);
      const s1 = rotr(w[t - 2]!, 17) ^ rotr(w[t - 2]!, 19) ^ (w[t - 2]! >>> 10);
      w.push((w[t - 16]! + s0 + w[t - 7]! + s1) >>> 0);
    }
    const v = [...h];
    for (let t = 0; t < 64; t++) {
      const [a, b, c, d, e, f, g, hh] = v as [number, number, number, number, number, number, number, number];
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K256[t]! + w[t]!) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      v.splice(0, 8, (t1 + t2) >>> 0, a, b, c, (d + t1) >>> 0, e, f, g);
    }
    for (let i = 0; i < 8; i++) h[i] = (h[i]! + v[i]!) >>> 0;
  }
  return hex(h);
}

/** A hash in progress, like node:crypto's Hash as far as cdk8s uses it. */
export interface SandboxHash {
  update(data: string | Uint8Array): SandboxHash;
  digest(encoding?: string): string;
}

/** `crypto.createHash` for `sha1` and `sha256`, digests in hex. */
export function createHash(algorithm: string): SandboxHash {
  const fn = algorithm === 'sha1' ? sha1 : algorithm === 'sha256' ? sha256 : undefined;
  if (!fn) throw new Error(`crypto.createHash('${algorithm}') is not available in a Trellis program (sha1 and sha256 are)`);
  const bytes: number[] = [];
  const hash: SandboxHash = {
    update(data) {
      if (typeof data === 'string') bytes.push(...utf8(data));
      else for (const b of data) bytes.push(b);
      return hash;
    },
    digest(encoding = 'hex') {
      if (encoding !== 'hex') throw new Error(`hash.digest('${encoding}') is not available in a Trellis program (hex is)`);
      return fn(bytes);
    },
  };
  return hash;
}
