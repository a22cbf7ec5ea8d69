/**
 * The media types this client reads and writes: Trellis bundles, Flux artifacts,
 * the OCI and Docker manifest formats, and the ORAS empty config.
 */

/** `artifactType` of a Trellis package bundle. */
export const TRELLIS_ARTIFACT_TYPE = 'application/vnd.trellis.package.v1';
/** Config of a Trellis bundle: the package manifest as JSON. */
export const TRELLIS_CONFIG_MEDIA_TYPE = 'application/vnd.trellis.package.config.v1+json';
/** The one content layer of a Trellis bundle: a deterministic tar+gzip. */
export const TRELLIS_CONTENT_MEDIA_TYPE = 'application/vnd.trellis.package.content.v1.tar+gzip';

/** Config of a Flux artifact (`flux push artifact`). */
export const FLUX_CONFIG_MEDIA_TYPE = 'application/vnd.cncf.flux.config.v1+json';
/** Content layer of a Flux artifact. */
export const FLUX_CONTENT_MEDIA_TYPE = 'application/vnd.cncf.flux.content.v1.tar+gzip';

/** OCI image manifest. */
export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
/** OCI image index (multi-platform). */
export const OCI_INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
/** Docker image manifest, schema 2. */
export const DOCKER_MANIFEST_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
/** Docker manifest list (multi-platform). */
export const DOCKER_MANIFEST_LIST_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** Docker schema 1, refused: it is deprecated and not content addressable in the same way. */
export const DOCKER_SCHEMA1_MEDIA_TYPES: readonly string[] = [
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
];

/** The empty JSON config (`{}`) ORAS uses when an artifact has no config of its own. */
export const OCI_EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
/** The bytes of the empty config. */
export const OCI_EMPTY_CONFIG: Uint8Array = new TextEncoder().encode('{}');
/** sha256 of {@link OCI_EMPTY_CONFIG}. */
export const OCI_EMPTY_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

/** Plain OCI image layers, which `layerSelector` may also pick. */
export const OCI_LAYER_TAR_GZIP_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** Annotation ORAS reads as a layer's file name. */
export const ANNOTATION_TITLE = 'org.opencontainers.image.title';
/** Manifest annotation: where the package's source lives (a Git URL). */
export const ANNOTATION_SOURCE = 'org.opencontainers.image.source';
/** Manifest annotation: the source revision (commit) the bundle was built from. */
export const ANNOTATION_REVISION = 'org.opencontainers.image.revision';
/** Manifest annotation: RFC 3339 creation time. */
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';
/** Manifest annotation: the package version. */
export const ANNOTATION_VERSION = 'org.opencontainers.image.version';

/** Manifest media types that describe a single artifact (config + layers). */
export const SINGLE_MANIFEST_MEDIA_TYPES: readonly string[] = [OCI_MANIFEST_MEDIA_TYPE, DOCKER_MANIFEST_MEDIA_TYPE];
/** Manifest media types that list per-platform manifests. */
export const INDEX_MEDIA_TYPES: readonly string[] = [OCI_INDEX_MEDIA_TYPE, DOCKER_MANIFEST_LIST_MEDIA_TYPE];

/** The `Accept` header for manifest requests: every format this client can read. */
export const MANIFEST_ACCEPT = [
  OCI_MANIFEST_MEDIA_TYPE, OCI_INDEX_MEDIA_TYPE, DOCKER_MANIFEST_MEDIA_TYPE, DOCKER_MANIFEST_LIST_MEDIA_TYPE,
].join(', ');

/** The content layer types looked for, in order, when no layer selector is given. */
export const DEFAULT_CONTENT_MEDIA_TYPES: readonly string[] = [TRELLIS_CONTENT_MEDIA_TYPE, FLUX_CONTENT_MEDIA_TYPE];
