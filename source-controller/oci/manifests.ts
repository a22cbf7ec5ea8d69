/**
 * Manifest requests: HEAD for the cheapest resolve, GET with verification, PUT.
 * A fetched manifest's sha256 must equal the digest it was asked by and the
 * registry's `Docker-Content-Digest`; an index is followed to one platform's
 * manifest only when a platform is selected.
 */
import { digestAlgorithm, digestOf, isDigest } from './digest.ts';
import { DigestMismatchError, InvalidReferenceError, ManifestInvalidError, SizeLimitError } from './errors.ts';
import { discard, readBody } from './http-exchange.ts';
import { parseManifest, selectPlatform, type ImageManifest, type Platform } from './manifest.ts';
import { MANIFEST_ACCEPT } from './media-types.ts';
import { formatReference, isValidTag, type OciReference } from './reference.ts';
import { headerValue, type RegistryTransport } from './transport.ts';

/** Manifests larger than this are refused (registries commonly cap them at 4 MiB too). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** What a HEAD (or GET) says about a manifest without parsing it. */
export interface ManifestHead {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
}

/** Raw manifest bytes, verified against the requested digest and `Docker-Content-Digest`. */
export interface ManifestBytes extends ManifestHead {
  readonly bytes: Buffer;
}

/** A fetched and validated single manifest. */
export interface FetchedManifest extends ManifestBytes {
  readonly manifest: ImageManifest;
  /** When the reference named an index: the index's digest (the platform's manifest is `digest`). */
  readonly indexDigest?: string;
}

/** `host/repo:tag` or `host/repo@sha256:…` for messages. */
export function manifestName(repo: OciReference, reference: string): string {
  const base = formatReference({ host: repo.host, repository: repo.repository });
  return `manifest ${base}${isDigest(reference) ? '@' : ':'}${reference}`;
}

/** HEADs a manifest: one cheap request. Falls back to a GET when the registry sends no digest header. */
export async function headManifest(transport: RegistryTransport, repo: OciReference, reference: string,
  signal?: AbortSignal): Promise<ManifestHead> {
  const what = manifestName(repo, reference);
  const res = await transport.request({
    method: 'HEAD', host: repo.host, repository: repo.repository, path: manifestPath(repo, reference),
    headers: { accept: MANIFEST_ACCEPT }, what, signal,
  });
  discard(res.body);
  const header = headerValue(res.headers['docker-content-digest'])?.trim();
  if (header === undefined || !isDigest(header)) {
    const full = await fetchManifestBytes(transport, repo, reference, signal);
    return { digest: full.digest, mediaType: full.mediaType, size: full.size };
  }
  if (isDigest(reference) && header !== reference) {
    throw new DigestMismatchError(`${what}: the registry says its digest is ${header}`, reference, header);
  }
  const size = Number(res.headers['content-length'] ?? Number.NaN);
  return { digest: header, mediaType: contentType(res.headers['content-type']), size: Number.isFinite(size) ? size : -1 };
}

/** GETs a manifest's bytes and verifies them; does not parse them. */
export async function fetchManifestBytes(transport: RegistryTransport, repo: OciReference, reference: string,
  signal?: AbortSignal): Promise<ManifestBytes> {
  const what = manifestName(repo, reference);
  const res = await transport.request({
    method: 'GET', host: repo.host, repository: repo.repository, path: manifestPath(repo, reference),
    headers: { accept: MANIFEST_ACCEPT }, what, signal,
  });
  const bytes = await readBody(res.body, MAX_MANIFEST_BYTES, what);
  const header = headerValue(res.headers['docker-content-digest'])?.trim();
  const expected = isDigest(reference) ? reference : header !== undefined && isDigest(header) ? header : undefined;
  const digest = digestOf(bytes, expected ? digestAlgorithm(expected) : 'sha256');
  if (isDigest(reference) && digest !== reference) {
    throw new DigestMismatchError(`${what}: content digest ${digest} does not match the reference`, reference, digest);
  }
  if (header !== undefined && isDigest(header) && digestOf(bytes, digestAlgorithm(header)) !== header) {
    throw new DigestMismatchError(`${what}: content digest ${digest} does not match Docker-Content-Digest ${header}`, header, digest);
  }
  const sha256 = digestAlgorithm(digest) === 'sha256' ? digest : digestOf(bytes);
  return { bytes, digest: sha256, mediaType: mediaTypeOf(bytes, res.headers['content-type']), size: bytes.byteLength };
}

/** Options for {@link fetchManifest}. */
export interface FetchManifestOptions {
  /** Required to follow an image index to one of its manifests. */
  readonly platform?: Platform | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** GETs, verifies and validates a manifest, following an index to the selected platform. */
export async function fetchManifest(transport: RegistryTransport, repo: OciReference, reference: string,
  opts: FetchManifestOptions = {}): Promise<FetchedManifest> {
  const what = manifestName(repo, reference);
  const raw = await fetchManifestBytes(transport, repo, reference, opts.signal);
  const parsed = parseManifest(raw.bytes, raw.mediaType, what);
  if (parsed.kind === 'manifest') return { ...raw, mediaType: parsed.mediaType, manifest: parsed };
  const entry = selectPlatform(parsed, opts.platform, what);
  if (entry.size > MAX_MANIFEST_BYTES) throw new SizeLimitError(`${what}: the platform manifest is ${entry.size} bytes`, MAX_MANIFEST_BYTES);
  const child = await fetchManifestBytes(transport, repo, entry.digest, opts.signal);
  if (child.size !== entry.size) {
    throw new DigestMismatchError(`${manifestName(repo, entry.digest)}: ${child.size} bytes, the index says ${entry.size}`, entry.digest, child.digest);
  }
  const manifest = parseManifest(child.bytes, child.mediaType, manifestName(repo, entry.digest));
  if (manifest.kind !== 'manifest') throw new ManifestInvalidError(`${manifestName(repo, entry.digest)}: an index inside an index is not supported`);
  return { ...child, mediaType: manifest.mediaType, manifest, indexDigest: raw.digest };
}

/** PUTs a manifest under a tag or its digest; returns its digest. */
export async function pushManifest(transport: RegistryTransport, repo: OciReference, reference: string,
  bytes: Uint8Array, mediaType: string, signal?: AbortSignal): Promise<{ digest: string; size: number }> {
  const what = manifestName(repo, reference);
  if (bytes.byteLength > MAX_MANIFEST_BYTES) throw new SizeLimitError(`${what} is ${bytes.byteLength} bytes`, MAX_MANIFEST_BYTES);
  const digest = digestOf(bytes);
  if (isDigest(reference) && digestOf(bytes, digestAlgorithm(reference)) !== reference) {
    throw new DigestMismatchError(`${what}: the manifest's digest is ${digest}`, reference, digest);
  }
  const res = await transport.request({
    method: 'PUT', host: repo.host, repository: repo.repository, push: true, path: manifestPath(repo, reference),
    headers: { 'content-type': mediaType }, body: bytes, what, signal,
  });
  discard(res.body);
  const header = headerValue(res.headers['docker-content-digest'])?.trim();
  if (header !== undefined && isDigest(header) && header.startsWith('sha256:') && header !== digest) {
    throw new DigestMismatchError(`${what}: the registry stored it as ${header}, expected ${digest}`, digest, header);
  }
  return { digest, size: bytes.byteLength };
}

function manifestPath(repo: OciReference, reference: string): string {
  // Tags and digests only hold [A-Za-z0-9_.:-], all safe in a path (and registries expect the ':' as is).
  if (!isDigest(reference) && !isValidTag(reference)) {
    throw new InvalidReferenceError(`${JSON.stringify(reference.slice(0, 200))} is neither a valid tag nor a digest`);
  }
  return `/v2/${repo.repository}/manifests/${reference}`;
}

function contentType(value: string | undefined): string {
  return (value ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The document's own `mediaType` when it has one, else the Content-Type header. */
function mediaTypeOf(bytes: Buffer, header: string | undefined): string {
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
    if (typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType;
  } catch {
    // Not JSON: parseManifest will say so; the header is all there is.
  }
  return contentType(header);
}
