/**
 * Sealing and signing what PackageRevisions record, so that nothing a revision
 * holds is readable, guessable or forgeable without the revision key
 * (keys.ts) — issue 14: Secret data and Secret-sourced values never at rest in
 * clear outside Secrets, and a forged revision never applied.
 *
 * The rule is the simplest one that needs no judgement of which value is
 * secret: **every** recorded blob (an inline phase, a RevisionSlice) is
 * sealed, whatever kinds it holds. Every hash a revision or the Package
 * status shows (content hash, slice digests, values hash) is an HMAC with the
 * key, so a hash of a low-entropy secret cannot be confirmed by guessing.
 *
 * Sealing is deterministic under a key (AES-256-GCM with a synthetic IV: the
 * HMAC of the plaintext): the same objects always seal to the same bytes, so
 * RevisionSlices stay content-addressed and shared. Equal blobs under one key
 * reveal only that they are equal, which their digests say anyway.
 *
 * A sealed blob is `TRS1 | id length | key id | iv (12) | tag (16) | ciphertext`;
 * the header is authenticated with the ciphertext. Pure; no API calls.
 */
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import type { PackageRevision, PackageRevisionSpec } from '../api.ts';
import { canonicalJSON } from '../bundle/canonical.ts';
import { RevisionTamperedError } from './errors.ts';
import type { RevisionKey } from './keys.ts';
import { CONTENT_HASH_ANNOTATION, REVISION_KEY_ANNOTATION, SIGNATURE_ANNOTATION } from './labels.ts';

export { RevisionTamperedError } from './errors.ts';
export { REVISION_KEY_ANNOTATION, SIGNATURE_ANNOTATION } from './labels.ts';

const MAGIC = Buffer.from('TRS1');
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** True when `blob` starts like a sealed blob. */
export function isSealed(blob: Buffer): boolean {
  return blob.length > MAGIC.length && blob.subarray(0, MAGIC.length).equals(MAGIC);
}

function headerOf(keyId: string): Buffer {
  const id = Buffer.from(keyId, 'utf8');
  return Buffer.concat([MAGIC, Buffer.from([id.length]), id]);
}

/** Seals `plain` with `key` (deterministically: the same bytes give the same blob). */
export function sealBytes(key: RevisionKey, plain: Buffer): Buffer {
  const header = headerOf(key.id);
  const iv = createHmac('sha256', key.iv).update(plain).digest().subarray(0, IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.encryption, iv);
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([header, iv, cipher.getAuthTag(), body]);
}

/** The key id a sealed blob names, or undefined when it is not a sealed blob. */
export function keyIdOf(blob: Buffer): string | undefined {
  if (!isSealed(blob)) return undefined;
  const length = blob[MAGIC.length] ?? 0;
  return blob.subarray(MAGIC.length + 1, MAGIC.length + 1 + length).toString('utf8');
}

/** The bytes `key` sealed into `blob`; throws {@link RevisionTamperedError} when they were not (or were changed). */
export function openBytes(key: RevisionKey, blob: Buffer, what: string): Buffer {
  const id = keyIdOf(blob);
  if (id === undefined) throw new RevisionTamperedError(`${what} is not sealed: every recorded blob is`);
  if (id !== key.id) throw new RevisionTamperedError(`${what} is sealed with key ${id}, not with the revision's key ${key.id}`);
  const start = MAGIC.length + 1 + Buffer.byteLength(id);
  const iv = blob.subarray(start, start + IV_BYTES);
  const tag = blob.subarray(start + IV_BYTES, start + IV_BYTES + TAG_BYTES);
  if (tag.length !== TAG_BYTES) throw new RevisionTamperedError(`${what} is cut short`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.encryption, iv);
    decipher.setAAD(blob.subarray(0, start));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(blob.subarray(start + IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new RevisionTamperedError(`${what} was changed after it was sealed: it does not authenticate with key ${key.id}`);
  }
}

/**
 * `sha256:<hex>` of the HMAC-SHA256 of `data` under the key, for one
 * `purpose` (content, values, slice): the shape of a sha256 digest, so the
 * API's digest fields take it, but nobody without the key can compute it.
 */
export function keyedHash(key: RevisionKey, purpose: 'content' | 'values' | 'slice', data: string | Buffer): string {
  return `sha256:${createHmac('sha256', key.mac).update(`${purpose}\0`).update(data).digest('hex')}`;
}

/** What a signature covers of a revision, projected field by field so a default the apiserver adds cannot break it. */
function signedFields(rev: Pick<PackageRevision, 'metadata' | 'spec'>, contentHash: string | undefined): unknown {
  const owner = rev.metadata.ownerReferences?.find((o) => o.controller === true);
  const spec: PackageRevisionSpec = rev.spec;
  return {
    namespace: rev.metadata.namespace ?? '', name: rev.metadata.name ?? '',
    package: { name: spec.packageName, uid: owner?.uid ?? '', kind: owner?.kind ?? '' },
    key: rev.metadata.annotations?.[REVISION_KEY_ANNOTATION] ?? '',
    contentHash: contentHash ?? '',
    revision: spec.revision,
    source: { kind: spec.source.kind, name: spec.source.name, namespace: spec.source.namespace, revision: spec.source.revision, digest: spec.source.digest },
    valuesHash: spec.valuesHash,
    size: spec.size,
    phases: spec.phases.map((p) => ({
      name: p.name, count: p.count, objects: p.objects,
      slices: p.slices?.map((s) => ({ name: s.name, digest: s.digest, count: s.count, size: s.size })),
    })),
  };
}

/**
 * The signature of a revision: HMAC over its name and namespace, the name and
 * uid of its Package, its number, source, values hash, key, content hash and
 * phase records. Whoever can patch PackageRevisions cannot recompute it.
 */
export function signRevision(key: RevisionKey, rev: Pick<PackageRevision, 'metadata' | 'spec'>, contentHash: string): string {
  return `hmac-sha256:${createHmac('sha256', key.mac).update('signature\0').update(canonicalJSON(signedFields(rev, contentHash))).digest('hex')}`;
}

/** Throws {@link RevisionTamperedError} unless `rev` carries the signature `key` gives it. */
export function verifySignature(key: RevisionKey, rev: PackageRevision, what: string): void {
  const given = rev.metadata.annotations?.[SIGNATURE_ANNOTATION];
  if (given === undefined) throw new RevisionTamperedError(`${what} has no ${SIGNATURE_ANNOTATION} annotation: it was not recorded by this controller, or was recorded before revisions were signed`);
  const contentHash = rev.metadata.annotations?.[CONTENT_HASH_ANNOTATION];
  const expected = Buffer.from(signRevision(key, rev, contentHash ?? ''));
  const actual = Buffer.from(given);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new RevisionTamperedError(`${what} was changed after it was recorded: its signature does not match its content`);
  }
}
