/**
 * SSH signatures of Git objects (`git -c gpg.format=ssh`, OpenSSH's SSHSIG
 * format): the armored blob names the signing public key, the namespace
 * (`git`), and the hash of the signed bytes; the signature covers a small
 * preamble with those fields. A signature is good when its key is byte for byte
 * one of the trusted keys and the signature verifies with it. Ed25519, RSA
 * (`rsa-sha2-256`, `rsa-sha2-512`) and ECDSA P-256/384/521 keys are understood.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';

/** A trusted SSH public key, as an `authorized_keys` line gives it. */
export interface SshPublicKey {
  /** The key blob (the base64 part of the line, decoded). */
  readonly blob: Buffer;
  readonly key: KeyObject;
  /** `SHA256:…`, as `ssh-keygen -l` prints it. */
  readonly fingerprint: string;
}

/** The armor line an SSH signature starts with. */
export const BEGIN_SSH = '-----BEGIN SSH SIGNATURE-----';
const END_SSH = '-----END SSH SIGNATURE-----';

/** Reads SSH wire-format fields: uint32 lengths before strings. */
class SshReader {
  #at = 0;
  readonly #data: Buffer;

  constructor(data: Buffer) {
    this.#data = data;
  }

  bytes(n: number): Buffer {
    if (this.#at + n > this.#data.length) throw new Error('truncated SSH data');
    const out = this.#data.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }

  uint32(): number {
    return this.bytes(4).readUInt32BE(0);
  }

  string(): Buffer {
    return this.bytes(this.uint32());
  }

  text(): string {
    return this.string().toString('latin1');
  }
}

function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([length, bytes]);
}

const b64url = (bytes: Buffer): string => bytes.toString('base64url');
/** An SSH mpint without its sign byte. */
const unsigned = (mpint: Buffer): Buffer => (mpint[0] === 0 ? mpint.subarray(1) : mpint);

const CURVES: Readonly<Record<string, { crv: string; size: number; hash: string }>> = {
  nistp256: { crv: 'P-256', size: 32, hash: 'sha256' },
  nistp384: { crv: 'P-384', size: 48, hash: 'sha384' },
  nistp521: { crv: 'P-521', size: 66, hash: 'sha512' },
};

/** A node key for an SSH public key blob; throws for a type this module does not know. */
function keyFromBlob(blob: Buffer): KeyObject {
  const r = new SshReader(blob);
  const type = r.text();
  if (type === 'ssh-ed25519') return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(r.string()) }, format: 'jwk' });
  if (type === 'ssh-rsa') {
    const e = unsigned(r.string());
    const n = unsigned(r.string());
    return createPublicKey({ key: { kty: 'RSA', e: b64url(e), n: b64url(n) }, format: 'jwk' });
  }
  const curve = CURVES[/^ecdsa-sha2-(.+)$/.exec(type)?.[1] ?? ''];
  if (curve) {
    r.string(); // the curve name again
    const point = r.string();
    const x = point.subarray(1, 1 + curve.size);
    const y = point.subarray(1 + curve.size);
    return createPublicKey({ key: { kty: 'EC', crv: curve.crv, x: b64url(x), y: b64url(y) }, format: 'jwk' });
  }
  throw new Error(`unsupported SSH key type ${type}`);
}

/** Reads the `ssh-…`/`ecdsa-…` lines of `text` (authorized_keys style); other lines are ignored. */
export function parseSshPublicKeys(text: string): SshPublicKey[] {
  const keys: SshPublicKey[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^(?:\S+\s+)??((?:ssh|ecdsa-sha2)-[a-z0-9-]+)\s+([A-Za-z0-9+/=]+)/.exec(line.trim());
    if (!m?.[2]) continue;
    const blob = Buffer.from(m[2], 'base64');
    keys.push({ blob, key: keyFromBlob(blob), fingerprint: `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}` });
  }
  return keys;
}

/** The signature algorithm's digest for node's `verify` (null for Ed25519). */
function digestFor(sigType: string, keyBlob: Buffer): string | null {
  if (sigType === 'ssh-ed25519') return null;
  if (sigType === 'rsa-sha2-512') return 'sha512';
  if (sigType === 'rsa-sha2-256') return 'sha256';
  const curve = CURVES[/^ecdsa-sha2-(.+)$/.exec(sigType)?.[1] ?? ''];
  if (curve && new SshReader(keyBlob).text() === sigType) return curve.hash;
  throw new Error(`unsupported SSH signature type ${sigType}`);
}

/** The signature bytes in the form node's `verify` takes (ECDSA: r||s, fixed width). */
function signatureBytes(sigType: string, blob: Buffer): { bytes: Buffer; p1363: boolean } {
  const curve = CURVES[/^ecdsa-sha2-(.+)$/.exec(sigType)?.[1] ?? ''];
  if (!curve) return { bytes: blob, p1363: false };
  const r = new SshReader(blob);
  const pad = (n: Buffer): Buffer => Buffer.concat([Buffer.alloc(Math.max(0, curve.size - unsigned(n).length)), unsigned(n)]);
  return { bytes: Buffer.concat([pad(r.string()), pad(r.string())]), p1363: true };
}

/**
 * Verifies an armored SSH signature over `payload` against `trusted`, in
 * namespace `git`. Resolves with the signer's fingerprint; throws an Error
 * saying why not.
 */
export function verifySshSignature(armored: string, payload: Buffer, trusted: readonly SshPublicKey[]): string {
  const body = armored.slice(armored.indexOf(BEGIN_SSH) + BEGIN_SSH.length, armored.indexOf(END_SSH)).replace(/\s+/g, '');
  const r = new SshReader(Buffer.from(body, 'base64'));
  if (r.bytes(6).toString('latin1') !== 'SSHSIG' || r.uint32() !== 1) throw new Error('not an SSHSIG signature');
  const publicKey = r.string();
  const namespace = r.text();
  const reserved = r.string();
  const hashAlgorithm = r.text();
  const signature = new SshReader(r.string());
  if (namespace !== 'git') throw new Error(`signature namespace ${JSON.stringify(namespace)} is not "git"`);
  if (hashAlgorithm !== 'sha256' && hashAlgorithm !== 'sha512') throw new Error(`unsupported hash ${hashAlgorithm}`);
  const signer = trusted.find((k) => k.blob.equals(publicKey));
  if (!signer) throw new Error('signed by a key that is not trusted');
  const signed = Buffer.concat([Buffer.from('SSHSIG', 'latin1'), sshString(namespace), sshString(reserved), sshString(hashAlgorithm),
    sshString(createHash(hashAlgorithm).update(payload).digest())]);
  const sigType = signature.text();
  const { bytes, p1363 } = signatureBytes(sigType, signature.string());
  const ok = verify(digestFor(sigType, publicKey), signed, p1363 ? { key: signer.key, dsaEncoding: 'ieee-p1363' } : signer.key, bytes);
  if (!ok) throw new Error('the signature does not verify');
  return signer.fingerprint;
}
