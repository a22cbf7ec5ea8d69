/**
 * Reading manifests: OCI image manifests and Docker schema 2 manifests (one
 * artifact: config + layers), OCI indexes and Docker manifest lists (one manifest
 * per platform). Everything is validated before use — JSON, `schemaVersion: 2`,
 * well-formed descriptors — because a registry may store whatever it was given.
 */
import { isDigest } from './digest.ts';
import { ManifestInvalidError, PlatformSelectionError } from './errors.ts';
import { DOCKER_SCHEMA1_MEDIA_TYPES, INDEX_MEDIA_TYPES, SINGLE_MANIFEST_MEDIA_TYPES } from './media-types.ts';

/** An OS and architecture, as in an index entry. */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** A content descriptor: what a blob or manifest is, its digest and size. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly artifactType?: string;
  readonly platform?: Platform;
}

/** A single artifact or image: config and layers. */
export interface ImageManifest {
  readonly kind: 'manifest';
  readonly mediaType: string;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations: Readonly<Record<string, string>>;
}

/** A list of per-platform manifests. */
export interface ImageIndex {
  readonly kind: 'index';
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
  readonly annotations: Readonly<Record<string, string>>;
}

/** Either kind of manifest. */
export type Manifest = ImageManifest | ImageIndex;

/**
 * Parses and validates manifest bytes. `contentType` (the response's) decides the
 * format when the document has no `mediaType`. Throws {@link ManifestInvalidError}.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined, what: string): Manifest {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ManifestInvalidError(`${what} is not valid JSON (${bytes.byteLength} bytes)`);
  }
  if (!isRecord(doc)) throw new ManifestInvalidError(`${what} is not a JSON object`);
  if (doc.schemaVersion !== 2) {
    throw new ManifestInvalidError(`${what} has schemaVersion ${JSON.stringify(doc.schemaVersion) ?? 'missing'}; only 2 is supported`);
  }
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const headerType = contentType?.split(';')[0]?.trim().toLowerCase();
  const mediaType = declared ?? (headerType && headerType !== 'application/json' ? headerType : undefined)
    ?? (Array.isArray(doc.manifests) ? INDEX_MEDIA_TYPES[0]! : SINGLE_MANIFEST_MEDIA_TYPES[0]!);
  if (DOCKER_SCHEMA1_MEDIA_TYPES.includes(mediaType)) {
    throw new ManifestInvalidError(`${what} is a Docker schema 1 manifest, which is not supported`);
  }
  const annotations = stringMap(doc.annotations, `${what}: annotations`);
  if (INDEX_MEDIA_TYPES.includes(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw new ManifestInvalidError(`${what}: an index needs a "manifests" array`);
    const manifests = doc.manifests.map((d, i) => descriptor(d, `${what}: manifests[${i}]`));
    return { kind: 'index', mediaType, manifests, annotations };
  }
  if (!SINGLE_MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    throw new ManifestInvalidError(`${what} has unsupported media type ${mediaType}`);
  }
  if (!Array.isArray(doc.layers)) throw new ManifestInvalidError(`${what}: a manifest needs a "layers" array`);
  const config = descriptor(doc.config, `${what}: config`);
  const layers = doc.layers.map((d, i) => descriptor(d, `${what}: layers[${i}]`));
  const artifactType = typeof doc.artifactType === 'string' ? doc.artifactType : undefined;
  return { kind: 'manifest', mediaType, ...(artifactType ? { artifactType } : {}), config, layers, annotations };
}

/** The entry of `index` for `platform`; a clear error when none is given or none matches. */
export function selectPlatform(index: ImageIndex, platform: Platform | undefined, what: string): Descriptor {
  const offered = index.manifests.map((d) => (d.platform ? formatPlatform(d.platform) : 'unknown')).join(', ') || 'none';
  if (!platform) {
    throw new PlatformSelectionError(`${what} is an image index (platforms: ${offered}); select a platform (os/architecture) to pull one of its manifests`);
  }
  const match = index.manifests.find((d) => d.platform
    && d.platform.os === platform.os && d.platform.architecture === platform.architecture
    && (platform.variant === undefined || d.platform.variant === platform.variant));
  if (!match) throw new PlatformSelectionError(`${what} has no manifest for ${formatPlatform(platform)} (platforms: ${offered})`);
  return match;
}

/** `linux/arm64/v8`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== '').join('/');
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!isRecord(value)) throw new ManifestInvalidError(`${where} is not a descriptor object`);
  const { mediaType, digest, size, artifactType, platform } = value;
  if (typeof mediaType !== 'string' || mediaType === '') throw new ManifestInvalidError(`${where} has no mediaType`);
  if (typeof digest !== 'string' || !isDigest(digest)) {
    throw new ManifestInvalidError(`${where} has an invalid digest ${JSON.stringify(digest)?.slice(0, 100) ?? 'missing'}`);
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new ManifestInvalidError(`${where} has an invalid size ${JSON.stringify(size) ?? 'missing'}`);
  }
  const out: { -readonly [K in keyof Descriptor]: Descriptor[K] } = { mediaType, digest, size };
  if (value.annotations !== undefined) out.annotations = stringMap(value.annotations, `${where}: annotations`);
  if (typeof artifactType === 'string') out.artifactType = artifactType;
  if (isRecord(platform) && typeof platform.os === 'string' && typeof platform.architecture === 'string') {
    out.platform = {
      os: platform.os, architecture: platform.architecture,
      ...(typeof platform.variant === 'string' ? { variant: platform.variant } : {}),
    };
  }
  return out;
}

function stringMap(value: unknown, where: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw new ManifestInvalidError(`${where} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new ManifestInvalidError(`${where}: "${k.slice(0, 100)}" is not a string`);
    out[k] = v;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
