/**
 * Content digests (`sha256:<hex>`): validation and hashing. Only sha256 and sha512
 * are accepted, the two algorithms the OCI image spec registers; anything else
 * could not be verified, so it is refused instead of trusted.
 */
import { createHash, type Hash } from 'node:crypto';
import { InvalidReferenceError } from './errors.ts';

/** A digest algorithm this client can verify. */
export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha512: 128 };

/** True when `value` is a well-formed sha256 or sha512 digest with lowercase hex. */
export function isDigest(value: string): boolean {
  const m = /^(sha256|sha512):([a-f0-9]+)$/.exec(value);
  return m !== null && m[2]!.length === HEX_LENGTH[m[1] as DigestAlgorithm];
}

/** The algorithm of a digest, after checking it is well formed (throws {@link InvalidReferenceError}). */
export function digestAlgorithm(value: string): DigestAlgorithm {
  if (!isDigest(value)) {
    const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
    throw new InvalidReferenceError(`invalid digest "${shown}": expected sha256:<64 hex> or sha512:<128 hex>`);
  }
  return value.slice(0, value.indexOf(':')) as DigestAlgorithm;
}

/** The digest of `bytes` (sha256 unless told otherwise). */
export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** An incremental hasher whose result is a digest string. */
export interface Digester {
  update(chunk: Uint8Array): void;
  /** The digest of everything passed to update; call once. */
  digest(): string;
}

/** A hasher for the algorithm of `expected` (or sha256), for hashing while streaming. */
export function createDigester(algorithm: DigestAlgorithm = 'sha256'): Digester {
  const hash: Hash = createHash(algorithm);
  return {
    update(chunk) { hash.update(chunk); },
    digest() { return `${algorithm}:${hash.digest('hex')}`; },
  };
}
