/**
 * GitRepository: follows a branch, tag, semver range of tags or pinned commit
 * of a Git repository over HTTP(S) and publishes the tree as an artifact.
 *
 * - resolve: one `info/refs` request (git ls-remote), its size capped; a pinned
 *   commit needs none. Without `ref`, the remote's default branch (its HEAD).
 *   Ref names Git would refuse are ignored.
 * - fetch: a shallow, single-ref fetch into a private folder within the spec's
 *   timeout and the Git download cap, then a checkout that refuses hostile tree
 *   entries and stops at the entry, byte and depth caps (git/checkout.ts), then
 *   the deterministic tar.gz of the tree without `.git` and without what
 *   `ignore` excludes. Symlinks never bring content from outside the
 *   repository into the artifact (see git/pack.ts).
 * - network: every request, redirect and resolved address passes the
 *   source-host policy (net/host-policy.ts).
 * - verify: with `verify` set, the OpenPGP signature of the commit and/or the
 *   annotated tag must verify with a key of `verify.secretRef` after the
 *   download and before the checkout (git/signature.ts): an unverified
 *   revision gets no artifact and the previous one stays published.
 * - credentials: `secretRef` with `username`/`password` or `bearerToken`, read
 *   from the GitRepository's own namespace (the API has no namespace field),
 *   sent up front; never logged, redacted from every message.
 *
 * Revisions: `main@sha1:<commit>`, `v1.2.0@sha1:<commit>`, `sha1:<commit>`.
 */
import semver from 'semver';
import type { Controller } from '../runtime/controller.ts';
import { gitRepositoryResource, type GitRepository } from './api.ts';
import { fetchTree, type FetchedObjects } from './git/fetch.ts';
import { packTree } from './git/pack.ts';
import { checkRefNames, resolveRef, type GitRef, type ResolvedRevision } from './git/refs.ts';
import { readPublicKeys, SignatureError, verifySignatures, type VerifyMode } from './git/signature.ts';
import type { GitCredentials } from './git/transport.ts';
import { fetchFailed, SourceFailure } from './reconcile/failure.ts';
import { createSourceController, type SourceControllerOptions } from './reconcile/controller.ts';
import type { FetcherContext, SourceFetcher, SourceKind } from './reconcile/source.ts';
import { readGitCredentials, readSecret } from './secrets.ts';
import { ConditionType } from '../runtime/conditions.ts';

/** The folder of GitRepository artifacts in storage and in artifact URLs. */
export const GIT_STORAGE_KIND = 'gitrepository';

/** The ref to follow: the spec's, or the remote's default branch when the spec names none. */
export function gitRefOf(repo: GitRepository): GitRef {
  const ref = repo.spec.ref;
  if (!ref) return {};
  if (ref.semver !== undefined && semver.validRange(ref.semver) === null) {
    throw fetchFailed('InvalidRef', `spec.ref.semver ${JSON.stringify(ref.semver)} is not a valid semver range`, 'stall');
  }
  try {
    checkRefNames(ref);
  } catch (err) {
    throw fetchFailed('InvalidRef', `spec.ref: ${(err as Error).message}`, 'stall');
  }
  return ref;
}

/** A signature check for {@link fetchTree}'s `verify` hook. */
type Verifier = (objects: FetchedObjects) => Promise<void>;

/**
 * The verifier `spec.verify` asks for (undefined without one). Checks the spec
 * and reads the keys now, so a bad spec or Secret fails before any download.
 */
async function gitVerifier(repo: GitRepository, ctx: FetcherContext): Promise<Verifier | undefined> {
  const verify = repo.spec.verify;
  if (!verify) return undefined;
  const mode: VerifyMode = verify.mode;
  if (mode !== 'HEAD' && repo.spec.ref?.tag === undefined && repo.spec.ref?.semver === undefined) {
    throw new SourceFailure(ConditionType.VerificationFailed, 'InvalidSpec',
      `spec.verify.mode ${mode} needs spec.ref.tag or spec.ref.semver`, 'stall');
  }
  const namespace = repo.metadata.namespace ?? '';
  const where = `Secret ${namespace}/${verify.secretRef.name}`;
  const { data } = await readSecret(ctx.client, namespace, verify.secretRef.name, ctx.sensitive);
  const keys = await readPublicKeys(data, where).catch((err: unknown) => { throw asVerificationFailure(err); });
  return async (objects) => {
    const signers = await verifySignatures({ ...objects, mode, keys }).catch((err: unknown) => { throw asVerificationFailure(err); });
    ctx.log.info({ commit: objects.commit, tag: objects.tag, signers, mode }, 'signature verified');
  };
}

function asVerificationFailure(err: unknown): unknown {
  if (!(err instanceof SignatureError)) return err;
  // A new key in the Secret or a newly signed commit may fix it: retried at the interval.
  return new SourceFailure(ConditionType.VerificationFailed, err.reason, err.message, 'interval');
}

/** The network side of one GitRepository reconcile. */
function gitFetcher(repo: GitRepository, ref: GitRef, auth: GitCredentials | undefined, verify: Verifier | undefined,
  ctx: FetcherContext): SourceFetcher {
  const url = repo.spec.url;
  const network = { auth, timeoutMs: ctx.timeoutMs, hostPolicy: ctx.hostPolicy };
  let resolved: ResolvedRevision | undefined;
  return {
    async resolve() {
      resolved = await resolveRef(url, ref, network);
      return resolved.revision;
    },
    async fetch(workDir, destFile) {
      const limits = ctx.limits;
      const tree = await fetchTree(url, resolved ?? ref, workDir, {
        ...network, maxDownloadBytes: Math.min(limits.maxGitDownloadBytes, limits.maxDownloadBytes),
        maxInflatedBytes: limits.maxGitInflatedBytes, verify,
        checkoutLimits: { maxBytes: limits.maxExtractBytes, maxEntries: limits.maxEntries, maxDepth: limits.maxTreeDepth },
      });
      const packed = await packTree(tree.dir, destFile, { ignore: repo.spec.ignore });
      if (packed.skipped.length > 0) {
        ctx.log.info({ skipped: packed.skipped.slice(0, 20), count: packed.skipped.length },
          'left symlinks and special files out of the artifact');
      }
      return { revision: tree.revision };
    },
    close() {
      // isomorphic-git keeps no connections between calls.
    },
  };
}

/** GitRepository for the reconcile skeleton. */
export const gitRepositoryKind: SourceKind<GitRepository> = {
  kind: gitRepositoryResource.kind,
  apiVersion: gitRepositoryResource.apiVersion,
  storageKind: GIT_STORAGE_KIND,
  async prepare(repo, ctx) {
    const ref = gitRefOf(repo);
    // Secrets only ever come from the GitRepository's own namespace: a secretRef has no namespace field.
    const namespace = repo.metadata.namespace ?? '';
    const verify = await gitVerifier(repo, ctx);
    const auth = repo.spec.secretRef
      ? await readGitCredentials(ctx.client, namespace, repo.spec.secretRef.name, ctx.sensitive)
      : undefined;
    return gitFetcher(repo, ref, auth, verify, ctx);
  },
};

/** The GitRepository controller: informer, queue and the source reconciler. */
export function gitRepositoryController(options: SourceControllerOptions): Controller<GitRepository> {
  return createSourceController(gitRepositoryKind, options);
}
