/**
 * Artifacts the ORAS way: an OCI image manifest with an `artifactType`, a config
 * (the artifact's own, or the empty `{}` config), and layers whose file names ride
 * in the `org.opencontainers.image.title` annotation. `pushArtifact` uploads what the
 * registry lacks and then the manifest; `pullArtifact` resolves, verifies and
 * downloads the one content layer.
 */
import { basename, join } from 'node:path';
import { fetchBlob, pushBlob, type PushedBlob } from './blobs.ts';
import { digestOf } from './digest.ts';
import { InvalidReferenceError } from './errors.ts';
import { selectLayer, type LayerOperation, type LayerSelector } from './layers.ts';
import type { Descriptor, ImageManifest, Platform } from './manifest.ts';
import { fetchManifest, pushManifest } from './manifests.ts';
import { ANNOTATION_TITLE, OCI_EMPTY_CONFIG, OCI_EMPTY_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE } from './media-types.ts';
import { isValidTag, type OciReference } from './reference.ts';
import { formatRevision, resolveReference, type RefSelector } from './resolve.ts';
import type { RegistryTransport } from './transport.ts';

/** One layer to push: a file (streamed) or bytes. */
export interface ArtifactLayer {
  readonly mediaType: string;
  readonly file?: string;
  readonly bytes?: Uint8Array;
  /** File name for `oras pull` (the title annotation); defaults to the file's base name. */
  readonly title?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Progress of one blob of a push, for a progress bar. */
export interface PushProgress {
  readonly digest: string;
  readonly mediaType: string;
  readonly sent: number;
  readonly total: number;
  /** The registry already had the blob: nothing was sent. */
  readonly skipped: boolean;
}

/** What {@link pushArtifact} pushes. */
export interface ArtifactSpec {
  readonly artifactType?: string;
  /** Defaults to the empty config (`application/vnd.oci.empty.v1+json`, `{}`). */
  readonly config?: { readonly mediaType: string; readonly bytes: Uint8Array };
  readonly layers: readonly ArtifactLayer[];
  readonly annotations?: Readonly<Record<string, string>>;
  /** Tag to push the manifest under; without one it is pushed by digest only. */
  readonly tag?: string;
  readonly onProgress?: (progress: PushProgress) => void;
  readonly signal?: AbortSignal;
}

/** A blob of a pushed artifact. */
export interface PushedArtifactBlob extends PushedBlob {
  readonly mediaType: string;
}

/** The outcome of {@link pushArtifact}. */
export interface PushedArtifact {
  /** Repository with `tag` (if any) and `digest`. */
  readonly reference: OciReference;
  /** Manifest digest. */
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
  /** The manifest bytes as pushed. */
  readonly manifest: Uint8Array;
  readonly revision: string;
  /** Config first, then layers, in manifest order. */
  readonly blobs: readonly PushedArtifactBlob[];
}

/**
 * The manifest of an artifact (pure): keys in a fixed order, annotations sorted,
 * so the same inputs give the same bytes and digest.
 */
export function buildArtifactManifest(input: {
  artifactType?: string | undefined;
  config: Descriptor;
  layers: readonly Descriptor[];
  annotations?: Readonly<Record<string, string>> | undefined;
}): Uint8Array {
  const descriptor = (d: Descriptor): Record<string, unknown> => ({
    mediaType: d.mediaType, digest: d.digest, size: d.size,
    ...(d.annotations && Object.keys(d.annotations).length > 0 ? { annotations: sorted(d.annotations) } : {}),
  });
  const doc = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    ...(input.artifactType ? { artifactType: input.artifactType } : {}),
    config: descriptor(input.config),
    layers: input.layers.map(descriptor),
    ...(input.annotations && Object.keys(input.annotations).length > 0 ? { annotations: sorted(input.annotations) } : {}),
  };
  return new TextEncoder().encode(JSON.stringify(doc));
}

/** Pushes blobs (skipping those the registry has) and the manifest. */
export async function pushArtifact(transport: RegistryTransport, repo: OciReference, spec: ArtifactSpec): Promise<PushedArtifact> {
  if (spec.tag !== undefined && !isValidTag(spec.tag)) throw new InvalidReferenceError(`invalid tag ${JSON.stringify(spec.tag.slice(0, 200))}`);
  if (spec.layers.length === 0) throw new InvalidReferenceError('an artifact needs at least one layer');
  const config = spec.config ?? { mediaType: OCI_EMPTY_MEDIA_TYPE, bytes: OCI_EMPTY_CONFIG };
  const blobs: PushedArtifactBlob[] = [];
  const push = async (mediaType: string, source: { bytes: Uint8Array } | { file: string }): Promise<PushedBlob> => {
    const pushed = await pushBlob(transport, repo, source, {
      signal: spec.signal,
      onProgress: (sent, total, digest) => spec.onProgress?.({ digest, mediaType, sent, total, skipped: false }),
    });
    if (!pushed.uploaded) spec.onProgress?.({ digest: pushed.digest, mediaType, sent: 0, total: pushed.size, skipped: true });
    blobs.push({ ...pushed, mediaType });
    return pushed;
  };
  const configBlob = await push(config.mediaType, { bytes: config.bytes });
  const layerDescriptors: Descriptor[] = [];
  for (const layer of spec.layers) {
    const source = layerSource(layer);
    const pushed = await push(layer.mediaType, source);
    const title = layer.title ?? (layer.file !== undefined ? basename(layer.file) : undefined);
    const annotations = { ...layer.annotations, ...(title !== undefined ? { [ANNOTATION_TITLE]: title } : {}) };
    layerDescriptors.push({ mediaType: layer.mediaType, digest: pushed.digest, size: pushed.size, annotations });
  }
  const manifest = buildArtifactManifest({
    artifactType: spec.artifactType,
    config: { mediaType: config.mediaType, digest: configBlob.digest, size: configBlob.size },
    layers: layerDescriptors,
    annotations: spec.annotations,
  });
  const { digest, size } = await pushManifest(transport, repo, spec.tag ?? digestOf(manifest), manifest, OCI_MANIFEST_MEDIA_TYPE, spec.signal);
  const reference: OciReference = { host: repo.host, repository: repo.repository, ...(spec.tag !== undefined ? { tag: spec.tag } : {}), digest };
  return { reference, digest, size, mediaType: OCI_MANIFEST_MEDIA_TYPE, manifest, revision: formatRevision(spec.tag, digest), blobs };
}

/** Options for {@link pullArtifact}. */
export interface PullOptions {
  readonly layerSelector?: LayerSelector | undefined;
  readonly platform?: Platform | undefined;
  /** Refuse a layer larger than this. */
  readonly maxBytes?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Tags per page when resolving a semver range. */
  readonly pageSize?: number | undefined;
}

/** The outcome of {@link pullArtifact}. */
export interface PulledArtifact {
  readonly reference: OciReference;
  readonly tag?: string;
  /** The digest the selector resolved to (an index's digest for a multi-platform tag). */
  readonly digest: string;
  readonly revision: string;
  readonly manifest: ImageManifest;
  /** Digest of the manifest that was read (differs from `digest` only for an index). */
  readonly manifestDigest: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly layer: Descriptor;
  readonly operation: LayerOperation;
  /** The verified layer on disk: `<destDir>/layer-<hex>`. */
  readonly file: string;
}

/** Resolves `selector`, verifies the manifest, and downloads the one content layer into `destDir`. */
export async function pullArtifact(transport: RegistryTransport, repo: OciReference, selector: RefSelector, destDir: string,
  opts: PullOptions = {}): Promise<PulledArtifact> {
  // A digest needs no resolve call: the manifest GET verifies it.
  const resolved = 'digest' in selector
    ? { tag: undefined, digest: selector.digest }
    : await resolveReference(transport, repo, selector, { signal: opts.signal, pageSize: opts.pageSize });
  const bare: OciReference = { host: repo.host, repository: repo.repository };
  const fetched = await fetchManifest(transport, bare, resolved.digest, { platform: opts.platform, signal: opts.signal });
  const what = `manifest ${repo.host}/${repo.repository}@${resolved.digest}`;
  const { descriptor, operation } = selectLayer(fetched.manifest, opts.layerSelector, what);
  const file = join(destDir, `layer-${descriptor.digest.slice(descriptor.digest.indexOf(':') + 1)}`);
  await fetchBlob(transport, bare, descriptor, file, { maxBytes: opts.maxBytes, signal: opts.signal });
  const tag = resolved.tag;
  return {
    reference: { ...bare, ...(tag !== undefined ? { tag } : {}), digest: resolved.digest },
    ...(tag !== undefined ? { tag } : {}),
    digest: resolved.digest,
    revision: formatRevision(tag, resolved.digest),
    manifest: fetched.manifest,
    manifestDigest: fetched.digest,
    annotations: fetched.manifest.annotations,
    layer: descriptor,
    operation,
    file,
  };
}

function layerSource(layer: ArtifactLayer): { bytes: Uint8Array } | { file: string } {
  if ((layer.file === undefined) === (layer.bytes === undefined)) {
    throw new InvalidReferenceError(`layer ${layer.mediaType} needs exactly one of file or bytes`);
  }
  return layer.file !== undefined ? { file: layer.file } : { bytes: layer.bytes! };
}

function sorted(map: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
