/**
 * Verifying cosign key-based signatures of an OCI artifact (what `cosign sign
 * --key` writes, with or without a transparency-log upload), before anything of
 * the artifact is downloaded:
 *
 * - the signatures of manifest `sha256:<hex>` live in the same repository under
 *   the tag `sha256-<hex>.sig`: an image manifest whose layers are "simple
 *   signing" payloads (`application/vnd.dev.cosign.simplesigning.v1+json`), each
 *   with its signature (base64) in the `dev.cosignproject.cosign/signature`
 *   annotation;
 * - a layer counts when its payload (digest-verified) verifies against one of
 *   the public keys of `verify.secretRef` (every `*.pub` entry, PEM) AND the
 *   payload names the very manifest digest being verified — a valid signature of
 *   another artifact copied under this tag proves nothing.
 *
 * Keyless (Fulcio certificates, Rekor inclusion proofs) is not supported: this
 * machine's sources have no network, and a key is what the API asks for.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { ConditionType } from '../../runtime/conditions.ts';
import { NotFoundError, type OciClient, type OciReference } from '../oci/index.ts';
import { SourceFailure } from './failure.ts';

/** Media type of a cosign simple-signing payload layer. */
export const COSIGN_PAYLOAD_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** Layer annotation holding the base64 signature of the payload. */
export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** The payload type cosign writes for an image signature. */
const COSIGN_PAYLOAD_TYPE = 'cosign container image signature';
/** Signature layers looked at, and the size of one payload: both small in practice. */
const MAX_SIGNATURES = 32;
const MAX_PAYLOAD_BYTES = 64 * 1024;

/** `sha256:<hex>` -> `sha256-<hex>.sig`, the tag cosign stores signatures under. */
export function cosignSignatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

/** A VerificationFailed failure, retried at the interval (a signature may be pushed later). */
export function verificationFailed(message: string): SourceFailure {
  return new SourceFailure(ConditionType.VerificationFailed, 'VerificationFailed', message, 'interval');
}

/** The public keys of a Secret's `*.pub` entries; a failure when there is none or one does not parse. */
export function parsePublicKeys(entries: ReadonlyMap<string, string>, secretName: string): KeyObject[] {
  const keys: KeyObject[] = [];
  for (const [name, pem] of entries) {
    if (!name.endsWith('.pub')) continue;
    try {
      keys.push(createPublicKey(pem));
    } catch {
      throw verificationFailed(`Secret ${secretName}: ${name} is not a PEM public key`);
    }
  }
  if (keys.length === 0) throw verificationFailed(`Secret ${secretName} has no public key (an entry named *.pub)`);
  return keys;
}

/** True when `signature` (base64) signs `payload` for one of `keys`. */
export function signatureVerifies(payload: Uint8Array, signature: string, keys: readonly KeyObject[]): boolean {
  const sig = Buffer.from(signature, 'base64');
  if (sig.length === 0) return false;
  return keys.some((key) => {
    try {
      // Ed25519 signs the message itself; ECDSA and RSA sign its SHA-256.
      return verify(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', payload, key, sig);
    } catch {
      return false;
    }
  });
}

/** The manifest digest a simple-signing payload vouches for, if it is an image signature. */
export function signedDigest(payload: Uint8Array): string | undefined {
  try {
    const doc = JSON.parse(Buffer.from(payload).toString('utf8')) as {
      critical?: { type?: unknown; image?: { 'docker-manifest-digest'?: unknown } };
    };
    const digest = doc.critical?.image?.['docker-manifest-digest'];
    return doc.critical?.type === COSIGN_PAYLOAD_TYPE && typeof digest === 'string' ? digest : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resolves when some signature of `digest` in `repo` verifies with `keys`;
 * throws a VerificationFailed {@link SourceFailure} otherwise. Registry errors
 * (unreachable, auth) pass through as the client's typed errors.
 */
export async function verifyCosignSignature(client: OciClient, repo: OciReference, digest: string,
  keys: readonly KeyObject[], signal?: AbortSignal): Promise<void> {
  const tag = cosignSignatureTag(digest);
  let layers;
  try {
    layers = (await client.fetchManifest(repo, tag, { ...(signal ? { signal } : {}) })).manifest.layers;
  } catch (err) {
    if (err instanceof NotFoundError) throw verificationFailed(`no cosign signature found for ${digest} (tag ${tag})`);
    throw err;
  }
  const candidates = layers.filter((l) => l.mediaType === COSIGN_PAYLOAD_MEDIA_TYPE && l.annotations?.[COSIGN_SIGNATURE_ANNOTATION])
    .slice(0, MAX_SIGNATURES);
  let signedOther = false;
  for (const layer of candidates) {
    const payload = await client.fetchBlobBytes(repo, layer, { maxBytes: MAX_PAYLOAD_BYTES, ...(signal ? { signal } : {}) });
    if (!signatureVerifies(payload, layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION] ?? '', keys)) continue;
    if (signedDigest(payload) === digest) return;
    signedOther = true;
  }
  if (signedOther) throw verificationFailed(`the signatures under ${tag} verify but are for another artifact, not ${digest}`);
  throw verificationFailed(`none of the ${candidates.length} signature(s) of ${digest} verifies with the given public keys`);
}
