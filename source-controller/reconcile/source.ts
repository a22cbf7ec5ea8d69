/**
 * What the shared reconcile skeleton needs from a source kind (GitRepository,
 * OCIRepository): its identity, and a way to turn one object into a
 * {@link SourceFetcher} — the spec checked and its Secrets read — whose two
 * calls do the network work: a cheap `resolve` and a full `fetch`.
 */
import type { KubeClient } from '../../runtime/kube.ts';
import type { Logger } from '../../runtime/logging.ts';
import type { CustomObject } from '../../runtime/schema.ts';
import type { HostPolicy } from '../net/host-policy.ts';
import type { SourceStatus } from '../api.ts';
import type { SensitiveValues } from '../secrets.ts';

/** The spec fields both source kinds share. */
export interface SourceSpecCommon {
  url: string;
  interval: string;
  timeout: string;
  suspend: boolean;
  /** Signature verification, when the kind and the object ask for it. */
  verify?: unknown;
}

/** A GitRepository or an OCIRepository, as the skeleton sees it. */
export type SourceObject = CustomObject<SourceSpecCommon, SourceStatus>;

/** Caps on what one fetch may download and unpack. */
export interface SourceLimits {
  /** Bytes downloaded for one OCI fetch (the layer, streamed to disk). */
  readonly maxDownloadBytes: number;
  /** Bytes downloaded for one Git fetch (the pack, held in memory by isomorphic-git). */
  readonly maxGitDownloadBytes: number;
  /** Bytes the objects of one Git fetch may inflate to (isomorphic-git holds them all while indexing). */
  readonly maxGitInflatedBytes: number;
  /** Bytes of files an unpacked OCI layer or a Git checkout may hold. */
  readonly maxExtractBytes: number;
  /** Files and directories an unpacked OCI layer or a Git checkout may hold. */
  readonly maxEntries: number;
  /** Folders inside folders of a Git checkout. */
  readonly maxTreeDepth: number;
}

/**
 * Default {@link SourceLimits}: 256 MiB downloaded from a registry, 64 MiB from
 * Git (inflating to at most 64 MiB), 512 MiB unpacked, 20 000 entries, trees 64
 * levels deep.
 */
export const DEFAULT_SOURCE_LIMITS: SourceLimits = {
  maxDownloadBytes: 256 * 1024 * 1024, maxGitDownloadBytes: 64 * 1024 * 1024, maxGitInflatedBytes: 64 * 1024 * 1024,
  maxExtractBytes: 512 * 1024 * 1024,
  maxEntries: 20_000, maxTreeDepth: 64,
};

/** What a source kind gets to prepare a fetcher. */
export interface FetcherContext {
  readonly client: KubeClient;
  /** Every secret value read must be added here before anything can echo it. */
  readonly sensitive: SensitiveValues;
  /** Aborts when the spec's `timeout` has passed. */
  readonly signal: AbortSignal;
  /** The spec's `timeout` in milliseconds (for clients that take a duration rather than a signal). */
  readonly timeoutMs: number;
  readonly limits: SourceLimits;
  /** Where the fetcher may connect (Git servers, registries, their redirects). */
  readonly hostPolicy: HostPolicy;
  readonly log: Logger;
}

/** What a fetch produced besides the tarball. */
export interface FetchedContent {
  /** The revision actually fetched (a branch may have moved since `resolve`). */
  readonly revision: string;
  /** Published as `status.artifact.metadata` (OCI manifest annotations). */
  readonly metadata?: Readonly<Record<string, string>> | undefined;
}

/**
 * The network side of one reconcile of one object. Errors are the clients'
 * typed errors or {@link import('./failure.ts').SourceFailure}s.
 */
export interface SourceFetcher {
  /** The revision the ref names now, with the cheapest call there is (none for a pinned commit or digest). */
  resolve(): Promise<string>;
  /** Verifies the resolved revision's signature before anything is downloaded (when the spec asks for it). */
  verify?(): Promise<void>;
  /**
   * Downloads the resolved revision, verified, and writes the artifact tar.gz to
   * `destFile`. `workDir` does not exist yet; its parent folder is private to this run.
   */
  fetch(workDir: string, destFile: string): Promise<FetchedContent>;
  /** Releases connections. */
  close(): void;
}

/** A source kind for the skeleton. */
export interface SourceKind<T extends SourceObject> {
  /** `GitRepository`. */
  readonly kind: string;
  /** `source.trellis.dev/v1alpha1`. */
  readonly apiVersion: string;
  /** The kind's folder in storage and in artifact URLs: `gitrepository`. */
  readonly storageKind: string;
  /** Checks the spec (stalling failures) and reads referenced Secrets; no request to the source yet. */
  prepare(obj: T, ctx: FetcherContext): Promise<SourceFetcher>;
}
