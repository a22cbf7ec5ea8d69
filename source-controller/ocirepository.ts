/**
 * OCIRepository: follows a tag, semver range or digest of an OCI artifact and
 * publishes its content layer as an artifact.
 *
 * - resolve: one HEAD of the manifest for a tag; the tag list plus one HEAD for
 *   a semver range; nothing for a digest (it cannot move). Without `ref`, the tag
 *   `latest`.
 * - fetch: the manifest by digest (verified against it), the one content layer
 *   (Trellis, then Flux media types, or `layerSelector.mediaType`) streamed to
 *   disk under a size cap and verified against its digest before anything else
 *   happens. Then, by `layerSelector.operation`:
 *   - `extract` (default): the layer is unpacked with the safe extractor (no `..`,
 *     absolute paths, links or devices; size and entry caps, so a tar bomb is
 *     refused) and re-packed deterministically. The artifact is then the same
 *     kind of tarball a GitRepository serves, whatever tool made the layer.
 *   - `copy`: the verified layer is stored as it is (its digest is the artifact
 *     digest); it is never unpacked here, so consumers must treat it as untrusted.
 * - credentials: `secretRef` (kubernetes.io/dockerconfigjson), `certSecretRef`
 *   (`ca.crt`), `insecure` for plain HTTP.
 * - verify: with `verify` set, a cosign signature of the resolved manifest must
 *   verify with a public key of `verify.secretRef` before anything is downloaded
 *   (see reconcile/cosign.ts); the verified artifact is not verified again on
 *   polls that find the same revision.
 *
 * Revisions: `<tag>@sha256:<manifest digest>`, or the digest alone for a digest ref.
 */
import type { KeyObject } from 'node:crypto';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { createDeterministicTarGz, extractTarGz } from '../runtime/archive.ts';
import type { Controller } from '../runtime/controller.ts';
import { ociRepositoryResource, type OCIRepository } from './api.ts';
import {
  OciClient, parseReference, validateSelector, type Credentials, type OciReference, type RefSelector,
} from './oci/index.ts';
import { createSourceController, type SourceControllerOptions } from './reconcile/controller.ts';
import { parsePublicKeys, verifyCosignSignature } from './reconcile/cosign.ts';
import type { FetcherContext, SourceFetcher, SourceKind } from './reconcile/source.ts';
import { readCaCertificate, readRegistryCredentials, readSecret } from './secrets.ts';

/** The folder of OCIRepository artifacts in storage and in artifact URLs. */
export const OCI_STORAGE_KIND = 'ocirepository';

/** The tag followed when the spec names no ref. */
export const DEFAULT_OCI_TAG = 'latest';

/** Per-request socket inactivity limit for registry calls (the spec's timeout bounds the whole fetch). */
const REQUEST_TIMEOUT_MS = 30_000;

/** What `spec.ref` selects (tag `latest` when absent). */
export function ociSelectorOf(repo: OCIRepository): RefSelector {
  const ref = repo.spec.ref;
  if (ref?.digest !== undefined) return { digest: ref.digest };
  if (ref?.semver !== undefined) return { semver: ref.semver };
  return { tag: ref?.tag ?? DEFAULT_OCI_TAG };
}

/** The network side of one OCIRepository reconcile. */
function ociFetcher(repo: OCIRepository, reference: OciReference, selector: RefSelector, client: OciClient,
  ctx: FetcherContext, verifyKeys: readonly KeyObject[] | undefined): SourceFetcher {
  let resolved: { digest: string; revision: string } | undefined;
  return {
    ...(verifyKeys ? {
      async verify() {
        if (!resolved) throw new Error('verify before resolve');
        await verifyCosignSignature(client, reference, resolved.digest, verifyKeys, ctx.signal);
      },
    } : {}),
    async resolve() {
      // A digest names one manifest forever: nothing to ask; the fetch verifies it.
      resolved = 'digest' in selector
        ? { digest: selector.digest, revision: selector.digest }
        : await client.resolve(reference, selector, { signal: ctx.signal });
      return resolved.revision;
    },
    async fetch(workDir, destFile) {
      if (!resolved) throw new Error('fetch before resolve');
      await mkdir(workDir, { recursive: true });
      const pulled = await client.pullArtifact(reference, { digest: resolved.digest }, workDir, {
        layerSelector: repo.spec.layerSelector, maxBytes: ctx.limits.maxDownloadBytes, signal: ctx.signal,
      });
      if (pulled.operation === 'copy') {
        await rename(pulled.file, destFile);
      } else {
        const content = join(workDir, 'extracted');
        await extractTarGz(pulled.file, content, { maxBytes: ctx.limits.maxExtractBytes, maxEntries: ctx.limits.maxEntries });
        await createDeterministicTarGz(content, destFile);
      }
      return { revision: resolved.revision, metadata: pulled.annotations };
    },
    close() {
      client.close();
    },
  };
}

/** OCIRepository for the reconcile skeleton. */
export const ociRepositoryKind: SourceKind<OCIRepository> = {
  kind: ociRepositoryResource.kind,
  apiVersion: ociRepositoryResource.apiVersion,
  storageKind: OCI_STORAGE_KIND,
  async prepare(repo, ctx) {
    const spec = repo.spec;
    const reference = parseReference(spec.url);
    const selector = ociSelectorOf(repo);
    validateSelector(selector);
    const namespace = repo.metadata.namespace ?? '';
    let verifyKeys: KeyObject[] | undefined;
    if (spec.verify) {
      const { data } = await readSecret(ctx.client, namespace, spec.verify.secretRef.name, ctx.sensitive);
      verifyKeys = parsePublicKeys(data, `${namespace}/${spec.verify.secretRef.name}`);
    }
    let credentials: Credentials | undefined;
    if (spec.secretRef) {
      credentials = await readRegistryCredentials(ctx.client, namespace, spec.secretRef.name, reference.host, ctx.sensitive);
    }
    const ca = spec.certSecretRef ? await readCaCertificate(ctx.client, namespace, spec.certSecretRef.name, ctx.sensitive) : undefined;
    const client = new OciClient({
      insecure: spec.insecure, ca, credentials, timeoutMs: Math.min(ctx.timeoutMs, REQUEST_TIMEOUT_MS),
      // The reconcile's own backoff takes over after a few quick retries.
      maxRetries: 2, userAgent: 'trellis-source-controller', hostPolicy: ctx.hostPolicy,
    });
    return ociFetcher(repo, { host: reference.host, repository: reference.repository }, selector, client, ctx, verifyKeys);
  },
};

/** The OCIRepository controller: informer, queue and the source reconciler. */
export function ociRepositoryController(options: SourceControllerOptions): Controller<OCIRepository> {
  return createSourceController(ociRepositoryKind, options);
}
