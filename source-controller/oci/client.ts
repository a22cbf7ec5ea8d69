/**
 * `OciClient`: Trellis's OCI distribution client, used by the source controller to
 * resolve and pull and by the CLI to push. One client holds connections, learned
 * auth challenges and cached tokens; keep one per registry configuration and
 * `close()` it when done. Every method takes the repository as an
 * {@link OciReference} (its tag and digest are ignored unless said otherwise).
 */
import { pullArtifact, pushArtifact, type ArtifactSpec, type PulledArtifact, type PullOptions, type PushedArtifact } from './artifact.ts';
import {
  blobExists, fetchBlob, fetchBlobBytes, pushBlob, type BlobSource, type FetchBlobOptions, type PushBlobOptions, type PushedBlob,
} from './blobs.ts';
import type { Descriptor, Platform } from './manifest.ts';
import {
  fetchManifest, fetchManifestBytes, headManifest, pushManifest, type FetchedManifest, type ManifestBytes, type ManifestHead,
} from './manifests.ts';
import type { OciReference } from './reference.ts';
import { resolveReference, type RefSelector, type ResolveOptions, type ResolvedReference } from './resolve.ts';
import { listTags, type ListTagsOptions } from './tags.ts';
import { RegistryTransport, type TransportOptions } from './transport.ts';

/** Options for {@link OciClient}: TLS or plain HTTP, CA, credentials, timeouts, retries. */
export type OciClientOptions = TransportOptions;

/** Registry operations for one configuration (insecure, CA, credentials). */
export class OciClient {
  readonly #transport: RegistryTransport;

  constructor(opts: OciClientOptions = {}) {
    this.#transport = new RegistryTransport(opts);
  }

  /** Resolves a tag, digest or semver range to a manifest digest (HEAD, or tag list + HEAD). */
  resolve(repo: OciReference, selector: RefSelector, opts?: ResolveOptions): Promise<ResolvedReference> {
    return resolveReference(this.#transport, repo, selector, opts);
  }

  /** Every tag of the repository (follows `Link` pagination). */
  listTags(repo: OciReference, opts?: ListTagsOptions): Promise<string[]> {
    return listTags(this.#transport, repo, opts);
  }

  /** HEADs a manifest by tag or digest. */
  headManifest(repo: OciReference, reference: string, signal?: AbortSignal): Promise<ManifestHead> {
    return headManifest(this.#transport, repo, reference, signal);
  }

  /** GETs and validates a manifest by tag or digest; an index needs `platform`. */
  fetchManifest(repo: OciReference, reference: string, opts?: { platform?: Platform; signal?: AbortSignal }): Promise<FetchedManifest> {
    return fetchManifest(this.#transport, repo, reference, opts);
  }

  /** GETs a manifest's verified bytes without interpreting them (any manifest kind). */
  fetchManifestBytes(repo: OciReference, reference: string, signal?: AbortSignal): Promise<ManifestBytes> {
    return fetchManifestBytes(this.#transport, repo, reference, signal);
  }

  /** Streams a blob into `destFile`, verified; nothing is left behind on failure. */
  fetchBlob(repo: OciReference, descriptor: Descriptor, destFile: string, opts?: FetchBlobOptions): Promise<void> {
    return fetchBlob(this.#transport, repo, descriptor, destFile, opts);
  }

  /** Downloads a small verified blob (a config) into memory. */
  fetchBlobBytes(repo: OciReference, descriptor: Descriptor, opts?: FetchBlobOptions): Promise<Buffer> {
    return fetchBlobBytes(this.#transport, repo, descriptor, opts);
  }

  /** True when the repository has the blob. */
  blobExists(repo: OciReference, digest: string, signal?: AbortSignal): Promise<boolean> {
    return blobExists(this.#transport, repo, digest, { signal });
  }

  /** Uploads a blob unless the registry has it (`uploaded: false` then). */
  pushBlob(repo: OciReference, source: BlobSource, opts?: PushBlobOptions): Promise<PushedBlob> {
    return pushBlob(this.#transport, repo, source, opts);
  }

  /** PUTs manifest bytes under a tag or their digest; returns the digest. */
  pushManifest(repo: OciReference, tagOrDigest: string, bytes: Uint8Array, mediaType: string,
    signal?: AbortSignal): Promise<{ digest: string; size: number }> {
    return pushManifest(this.#transport, repo, tagOrDigest, bytes, mediaType, signal);
  }

  /** Points `newTag` at the manifest `source` (a tag or digest) names; returns its digest. */
  async tag(repo: OciReference, source: string, newTag: string, signal?: AbortSignal): Promise<string> {
    const existing = await fetchManifestBytes(this.#transport, repo, source, signal);
    const { digest } = await pushManifest(this.#transport, repo, newTag, existing.bytes, existing.mediaType, signal);
    return digest;
  }

  /** Pushes an ORAS-style artifact (blobs the registry lacks, then the manifest). */
  pushArtifact(repo: OciReference, spec: ArtifactSpec): Promise<PushedArtifact> {
    return pushArtifact(this.#transport, repo, spec);
  }

  /** Resolves, verifies and downloads an artifact's content layer into `destDir`. */
  pullArtifact(repo: OciReference, selector: RefSelector, destDir: string, opts?: PullOptions): Promise<PulledArtifact> {
    return pullArtifact(this.#transport, repo, selector, destDir, opts);
  }

  /** Releases the client's connections. */
  close(): void {
    this.#transport.close();
  }
}
