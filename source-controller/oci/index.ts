/**
 * Trellis's OCI distribution client: references, media types, credentials, and
 * {@link OciClient} to resolve, pull and push ORAS-compatible artifacts.
 */
export { OciClient, type OciClientOptions } from './client.ts';
export * from './errors.ts';
export * from './media-types.ts';
export {
  parseReference, formatReference, referenceUrl, withTag, withDigest, isValidTag, type OciReference, type ParseReferenceOptions,
} from './reference.ts';
export { isDigest, digestOf, type DigestAlgorithm } from './digest.ts';
export { parseDockerConfig, credentialsForHost, normalizeRegistryHost, type Credentials, type DockerConfig } from './docker-config.ts';
export type { CredentialSource } from './auth.ts';
export { formatRevision, selectorOf, validateSelector, type RefSelector, type ResolvedReference, type ResolveOptions } from './resolve.ts';
export { selectSemverTag, tagVersion, type SemverMatch } from './semver-tags.ts';
export { parseManifest, selectPlatform, formatPlatform, type Descriptor, type ImageIndex, type ImageManifest, type Manifest, type Platform } from './manifest.ts';
export { selectLayer, type LayerOperation, type LayerSelector, type SelectedLayer } from './layers.ts';
export { MAX_MANIFEST_BYTES, type FetchedManifest, type ManifestBytes, type ManifestHead } from './manifests.ts';
export type { BlobSource, FetchBlobOptions, PushBlobOptions, PushedBlob } from './blobs.ts';
export {
  buildArtifactManifest, type ArtifactLayer, type ArtifactSpec, type PullOptions, type PulledArtifact, type PushedArtifact,
  type PushedArtifactBlob, type PushProgress,
} from './artifact.ts';
export type { ListTagsOptions } from './tags.ts';
export type { OciLogger, TransportOptions } from './transport.ts';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.ts';
