/**
 * Pushing a bundle tarball as a Trellis OCI artifact: `artifactType`
 * application/vnd.trellis.package.v1, the package manifest as JSON for config,
 * the tarball as the one content layer, and the org.opencontainers.image
 * annotations (source, revision, created, version). Blobs the registry already
 * has are not sent again (the client checks first).
 */
import { canonicalJSON, type PackageManifest } from '../../apply-controller/bundle/index.ts';
import {
  ANNOTATION_CREATED, ANNOTATION_REVISION, ANNOTATION_SOURCE, ANNOTATION_VERSION, InvalidReferenceError, isValidTag,
  TRELLIS_ARTIFACT_TYPE, TRELLIS_CONFIG_MEDIA_TYPE, TRELLIS_CONTENT_MEDIA_TYPE,
  type OciClient, type OciReference, type PushedArtifact, type PushProgress,
} from '../../source-controller/oci/index.ts';

/** `created` of a `--reproducible` push: SOURCE_DATE_EPOCH when set, else the Unix epoch. */
export function reproducibleCreated(env: NodeJS.ProcessEnv = process.env): string {
  const epoch = env.SOURCE_DATE_EPOCH;
  const seconds = epoch !== undefined && /^\d+$/.test(epoch) ? Number(epoch) : 0;
  return new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/** The tag a version is pushed under when the reference names none (`+` is not allowed in tags). */
export function tagForVersion(version: string): string {
  return version.replace(/\+/g, '_');
}

/** What {@link pushBundle} pushes, and where. */
export interface PushBundleOptions {
  readonly client: OciClient;
  /** `oci://host/repo[:tag]`; without a tag the package version is the tag. A digest is refused. */
  readonly reference: OciReference;
  /** The bundle tarball. */
  readonly file: string;
  /** Its package manifest (becomes the config blob and the version annotation). */
  readonly manifest: PackageManifest;
  /** `org.opencontainers.image.source`, e.g. the Git URL. */
  readonly source?: string;
  /** `org.opencontainers.image.revision`, e.g. the commit. */
  readonly revision?: string;
  /** `org.opencontainers.image.created` (RFC 3339); default now. */
  readonly created?: string;
  /** More manifest annotations; they win over the ones above. */
  readonly annotations?: Readonly<Record<string, string>>;
  readonly onProgress?: (progress: PushProgress) => void;
  readonly signal?: AbortSignal;
}

/** The manifest annotations of a bundle push. */
export function bundleAnnotations(opts: Pick<PushBundleOptions, 'manifest' | 'source' | 'revision' | 'created' | 'annotations'>): Record<string, string> {
  return {
    [ANNOTATION_CREATED]: opts.created ?? new Date().toISOString(),
    [ANNOTATION_VERSION]: opts.manifest.version,
    ...(opts.source !== undefined ? { [ANNOTATION_SOURCE]: opts.source } : {}),
    ...(opts.revision !== undefined ? { [ANNOTATION_REVISION]: opts.revision } : {}),
    ...opts.annotations,
  };
}

/** Pushes the bundle; returns the pushed artifact (digest, reference, and per blob whether it was uploaded). */
export async function pushBundle(opts: PushBundleOptions): Promise<PushedArtifact> {
  if (opts.reference.digest !== undefined) {
    throw new InvalidReferenceError('push needs a tag (oci://host/repo:tag), not a digest: the digest is the result of the push');
  }
  const tag = opts.reference.tag ?? tagForVersion(opts.manifest.version);
  if (!isValidTag(tag)) throw new InvalidReferenceError(`"${tag}" is not a valid tag`);
  const { name, version } = opts.manifest;
  return opts.client.pushArtifact({ host: opts.reference.host, repository: opts.reference.repository }, {
    artifactType: TRELLIS_ARTIFACT_TYPE,
    config: { mediaType: TRELLIS_CONFIG_MEDIA_TYPE, bytes: new TextEncoder().encode(canonicalJSON(opts.manifest)) },
    layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, file: opts.file, title: `${name}-${tagForVersion(version)}.tgz` }],
    annotations: bundleAnnotations(opts),
    tag,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}
