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
 * stored. Only OpenPGP signatures are understood; an SSH or X.509 signature is
 * "not signed with OpenPGP" here.
 */
import * as fs from 'node:fs';
import git from 'isomorphic-git';
import * as openpgp from 'openpgp';

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
  for (let at = text.indexOf(BEGIN_PGP); at !== -1; at = text.indexOf(BEGIN_PGP, at + 1)) {
    if (at === 0 || text[at - 1] === '\n') start = at;
  }
  if (start === -1) return { payload: raw, signature: undefined };
  return { payload: Buffer.from(text.slice(0, start), 'latin1'), signature: text.slice(start) };
}

/**
 * Reads every armored public key in `data` (a Secret's values: each may hold
 * one or more keys). Throws {@link SignatureError} `InvalidKeys` when none is found.
 */
export async function readPublicKeys(data: Iterable<readonly [string, string]>, where: string): Promise<openpgp.PublicKey[]> {
  const keys: openpgp.PublicKey[] = [];
  for (const [name, value] of data) {
    if (!value.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) continue;
    try {
      const read = await openpgp.readKeys({ armoredKeys: value });
      keys.push(...read.map((k) => k.toPublic()));
    } catch {
      throw new SignatureError('InvalidKeys', `${where}: ${JSON.stringify(name)} is not a readable OpenPGP public key`);
    }
  }
  if (keys.length === 0) throw new SignatureError('InvalidKeys', `${where} holds no armored OpenPGP public key`);
  return keys;
}

async function verifyPayload(signed: SignedPayload, keys: readonly openpgp.PublicKey[], what: string): Promise<string> {
  if (signed.signature === undefined || !signed.signature.startsWith(BEGIN_PGP)) {
    throw new SignatureError('Unsigned', `${what} has no OpenPGP signature`);
  }
  try {
    const signature = await openpgp.readSignature({ armoredSignature: signed.signature });
    const message = await openpgp.createMessage({ binary: new Uint8Array(signed.payload) });
    const result = await openpgp.verify({ message, signature, verificationKeys: [...keys], expectSigned: true, format: 'binary' });
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
  readonly keys: readonly openpgp.PublicKey[];
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
