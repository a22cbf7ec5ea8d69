/**
 * The OCI documents of an image (pure functions, keys in a fixed order so the same
 * inputs give the same bytes): the image config, the image manifest, and the SBOM
 * artifact manifest that points at the image through `subject`. Also the
 * referrers-tag index of the OCI distribution spec's fallback for registries
 * without the referrers API.
 */
import { createHash } from 'node:crypto';

/** OCI media types used by images. */
export const MEDIA_TYPES = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  empty: 'application/vnd.oci.empty.v1+json',
  spdx: 'application/spdx+json',
} as const;

/** A content descriptor. */
export interface OciDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** What the image runs and how (the config's `config` object). */
export interface ImageRunConfig {
  readonly user: string;
  readonly env: readonly string[];
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly workingDir: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** One layer as the config records it. */
export interface ConfigLayer {
  readonly diffId: string;
  /** The history line: what made this layer. */
  readonly createdBy: string;
}

/** `sha256:<hex>` of bytes. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

const encode = (doc: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(doc));

function sortedRecord(map: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function descriptorJson(d: OciDescriptor): Record<string, unknown> {
  return {
    mediaType: d.mediaType, digest: d.digest, size: d.size,
    ...(d.artifactType !== undefined ? { artifactType: d.artifactType } : {}),
    ...(d.annotations !== undefined && Object.keys(d.annotations).length > 0 ? { annotations: sortedRecord(d.annotations) } : {}),
  };
}

/** The image config (linux/amd64 or the given platform). */
export function buildImageConfig(input: {
  readonly created: string;
  readonly architecture: string;
  readonly run: ImageRunConfig;
  readonly layers: readonly ConfigLayer[];
}): Uint8Array {
  const { run } = input;
  return encode({
    created: input.created,
    architecture: input.architecture,
    os: 'linux',
    config: {
      User: run.user,
      Env: [...run.env],
      Entrypoint: [...run.entrypoint],
      Cmd: [...run.cmd],
      WorkingDir: run.workingDir,
      ...(run.labels !== undefined && Object.keys(run.labels).length > 0 ? { Labels: sortedRecord(run.labels) } : {}),
    },
    rootfs: { type: 'layers', diff_ids: input.layers.map((l) => l.diffId) },
    history: input.layers.map((l) => ({ created: input.created, created_by: l.createdBy })),
  });
}

/** The image manifest. */
export function buildImageManifest(config: OciDescriptor, layers: readonly OciDescriptor[],
  annotations: Readonly<Record<string, string>> = {}): Uint8Array {
  return encode({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: descriptorJson(config),
    layers: layers.map(descriptorJson),
    ...(Object.keys(annotations).length > 0 ? { annotations: sortedRecord(annotations) } : {}),
  });
}

/** The empty config blob (`{}`) artifacts carry. */
export const EMPTY_CONFIG = new TextEncoder().encode('{}');

/** An artifact manifest whose `subject` is the image: how referrers (the SBOM) attach to it. */
export function buildReferrerManifest(input: {
  readonly artifactType: string;
  readonly layer: OciDescriptor;
  readonly subject: OciDescriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}): Uint8Array {
  return encode({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    artifactType: input.artifactType,
    config: descriptorJson({ mediaType: MEDIA_TYPES.empty, digest: sha256Digest(EMPTY_CONFIG), size: EMPTY_CONFIG.byteLength }),
    layers: [descriptorJson(input.layer)],
    subject: descriptorJson({ mediaType: input.subject.mediaType, digest: input.subject.digest, size: input.subject.size }),
    ...(input.annotations !== undefined && Object.keys(input.annotations).length > 0 ? { annotations: sortedRecord(input.annotations) } : {}),
  });
}

/** The tag the referrers fallback keeps a subject's referrers under: `sha256-<hex>`. */
export function referrersTag(subjectDigest: string): string {
  const m = /^([a-z0-9]+):([a-f0-9]+)$/.exec(subjectDigest);
  if (!m) throw new Error(`invalid digest ${JSON.stringify(subjectDigest)}`);
  return `${m[1]!}-${m[2]!}`.slice(0, 128);
}

/**
 * The referrers index with `referrer` added (an existing entry of the same digest
 * is replaced), entries sorted by digest so re-pushing gives the same index.
 */
export function mergeReferrersIndex(existing: Uint8Array | undefined, referrer: OciDescriptor): Uint8Array {
  let manifests: OciDescriptor[] = [];
  if (existing !== undefined) {
    const doc = JSON.parse(new TextDecoder().decode(existing)) as { manifests?: OciDescriptor[] };
    manifests = (doc.manifests ?? []).filter((m) => m.digest !== referrer.digest);
  }
  manifests.push(referrer);
  manifests.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return encode({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: manifests.map(descriptorJson) });
}
