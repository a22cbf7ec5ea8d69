/**
 * OpenPGP signatures of Git commits and annotated tags, checked against a set
 * of trusted public keys (`GitRepository.spec.verify`). The signed bytes are
 * computed here from the raw object, the way Git computes them, rather than
 * taken from a library's parsed view:
 *
 * - a commit is signed without its `gpgsig` (or `gpgsig-sha256`) header and
 *   that header's continuation lines; the header's value is the signature;
 * - a tag carries its signature at the end: everything before the last line
 *   that starts a PGP signature is signed.
 *
 * Verification runs on the fetched objects before anything is checked out or
 * stored. OpenPGP signatures are checked with `openpgp`, SSH signatures
 * (`gpg.format=ssh`) with git/ssh-signature.ts; an X.509 signature counts as
 * unsigned.
 */
import * as fs from 'node:fs';
import git from 'isomorphic-git';
import * as openpgp from 'openpgp';
import { BEGIN_SSH, parseSshPublicKeys, verifySshSignature, type SshPublicKey } from './ssh-signature.ts';

/** Which objects must carry a good signature (Flux's `verify.mode`). */
export type VerifyMode = 'HEAD' | 'Tag' | 'TagAndHEAD';

/** Why a verification failed. */
export type SignatureFailureReason = 'Unsigned' | 'InvalidSignature' | 'NoTag' | 'InvalidKeys';

/** A commit or tag whose signature is missing or does not verify. Its message names objects, never key material. */
export class SignatureError extends Error {
  override readonly name = 'SignatureError';
  readonly reason: SignatureFailureReason;

  constructor(reason: SignatureFailureReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

const BEGIN_PGP = '-----BEGIN PGP SIGNATURE-----';
const SIGNATURE_HEADERS = new Set(['gpgsig', 'gpgsig-sha256']);

/** A signed object split into what was signed and the armored signature (undefined when unsigned). */
export interface SignedPayload {
  readonly payload: Buffer;
  readonly signature: string | undefined;
}

/** Splits a raw commit object (the bytes after Git's `commit <size>\0` header). */
export function splitCommitSignature(raw: Buffer): SignedPayload {
  const text = raw.toString('latin1'); // byte-preserving
  const end = text.indexOf('\n\n');
  const headerEnd = end === -1 ? text.length : end + 1;
  const lines = text.slice(0, headerEnd).split('\n').slice(0, -1);
  const kept: string[] = [];
  let signature: string[] | undefined;
  let inSignature = false;
  for (const line of lines) {
    if (line.startsWith(' ') && inSignature) {
      signature?.push(line.slice(1));
      continue;
    }
    inSignature = false;
    const key = line.slice(0, line.indexOf(' ') === -1 ? line.length : line.indexOf(' '));
    if (SIGNATURE_HEADERS.has(key) && signature === undefined) {
      signature = [line.slice(key.length + 1)];
      inSignature = true;
      continue;
    }
    kept.push(line);
  }
  const payload = Buffer.from(`${kept.map((l) => `${l}\n`).join('')}${text.slice(headerEnd)}`, 'latin1');
  return { payload, signature: signature === undefined ? undefined : `${signature.join('\n')}\n` };
}

/** Splits a raw annotated tag object: the signature is the tail from the last line starting one. */
export function splitTagSignature(raw: Buffer): SignedPayload {
  const text = raw.toString('latin1');
  let start = -1;
  for (const marker of [BEGIN_PGP, BEGIN_SSH]) {
    for (let at = text.indexOf(marker); at !== -1; at = text.indexOf(marker, at + 1)) {
      if ((at === 0 || text[at - 1] === '\n') && at > start) start = at;
    }
  }
  if (start === -1) return { payload: raw, signature: undefined };
  return { payload: Buffer.from(text.slice(0, start), 'latin1'), signature: text.slice(start) };
}

/** The keys a verification trusts. */
export interface TrustedKeys {
  readonly pgp: readonly openpgp.PublicKey[];
  readonly ssh: readonly SshPublicKey[];
}

/**
 * Reads the trusted keys in `data` (a Secret's values): armored OpenPGP public
 * key blocks (one or more per value) and SSH public keys (`ssh-ed25519 AAAA…`
 * lines, as in `authorized_keys`). Throws {@link SignatureError} `InvalidKeys`
 * for a value that cannot be read, or when no key is found.
 */
export async function readPublicKeys(data: Iterable<readonly [string, string]>, where: string): Promise<TrustedKeys> {
  const pgp: openpgp.PublicKey[] = [];
  const ssh: SshPublicKey[] = [];
  for (const [name, value] of data) {
    try {
      if (value.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
        pgp.push(...(await openpgp.readKeys({ armoredKeys: value })).map((k) => k.toPublic()));
      } else {
        ssh.push(...parseSshPublicKeys(value));
      }
    } catch {
      throw new SignatureError('InvalidKeys', `${where}: ${JSON.stringify(name)} is not a readable OpenPGP or SSH public key`);
    }
  }
  if (pgp.length === 0 && ssh.length === 0) throw new SignatureError('InvalidKeys', `${where} holds no OpenPGP or SSH public key`);
  return { pgp, ssh };
}

async function verifyPayload(signed: SignedPayload, keys: TrustedKeys, what: string): Promise<string> {
  const signature = signed.signature;
  if (signature?.startsWith(BEGIN_SSH)) {
    try {
      return verifySshSignature(signature, signed.payload, keys.ssh);
    } catch {
      throw new SignatureError('InvalidSignature', `the SSH signature of ${what} does not verify with any of the trusted keys`);
    }
  }
  if (signature === undefined || !signature.startsWith(BEGIN_PGP)) {
    throw new SignatureError('Unsigned', `${what} has no OpenPGP or SSH signature`);
  }
  try {
    const message = await openpgp.createMessage({ binary: new Uint8Array(signed.payload) });
    const parsed = await openpgp.readSignature({ armoredSignature: signature });
    const result = await openpgp.verify({ message, signature: parsed, verificationKeys: [...keys.pgp], expectSigned: true, format: 'binary' });
    const first = result.signatures[0];
    return first ? first.keyID.toHex() : '';
  } catch {
    throw new SignatureError('InvalidSignature', `the signature of ${what} does not verify with any of the trusted keys`);
  }
}

async function rawObject(gitdir: string, oid: string, cache: object, type: 'commit' | 'tag'): Promise<Buffer> {
  const { type: actual, object } = await git.readObject({ fs, gitdir, oid, cache, format: 'content' });
  if (actual !== type) throw new SignatureError('InvalidSignature', `${oid} is a ${actual}, not a ${type}`);
  return Buffer.from(object as Uint8Array);
}

/** What to verify: the fetched objects and the trusted keys. */
export interface VerifyTarget {
  readonly gitdir: string;
  readonly cache: object;
  readonly commit: string;
  /** The annotated tag object, when the ref named one. */
  readonly tag?: string | undefined;
  readonly mode: VerifyMode;
  readonly keys: TrustedKeys;
}

/**
 * Verifies what `mode` asks for; resolves with the key ids that signed, throws
 * {@link SignatureError} otherwise.
 */
export async function verifySignatures(target: VerifyTarget): Promise<string[]> {
  const signers: string[] = [];
  if (target.mode === 'Tag' || target.mode === 'TagAndHEAD') {
    if (target.tag === undefined) throw new SignatureError('NoTag', `commit ${target.commit} was not reached through an annotated tag`);
    const raw = await rawObject(target.gitdir, target.tag, target.cache, 'tag');
    signers.push(await verifyPayload(splitTagSignature(raw), target.keys, `tag object ${target.tag}`));
  }
  if (target.mode === 'HEAD' || target.mode === 'TagAndHEAD') {
    const raw = await rawObject(target.gitdir, target.commit, target.cache, 'commit');
    signers.push(await verifyPayload(splitCommitSignature(raw), target.keys, `commit ${target.commit}`));
  }
  return signers;
}
