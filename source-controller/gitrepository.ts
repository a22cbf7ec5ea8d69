/**
 * GitRepository: follows a branch, tag, semver range of tags or pinned commit
 * of a Git repository over HTTP(S) and publishes the tree as an artifact.
 *
 * - resolve: one `info/refs` request (git ls-remote); a pinned commit needs none.
 *   Without `ref`, the remote's default branch (its HEAD).
 * - fetch: a shallow, single-ref fetch into a private folder within the spec's
 *   timeout and the download cap, then the deterministic tar.gz of the tree
 *   without `.git` and without what `ignore` excludes. Symlinks never bring
 *   content from outside the repository into the artifact (see git/pack.ts).
 * - credentials: `secretRef` with `username`/`password` or `bearerToken`, sent
 *   up front; never logged, redacted from every message.
 *
 * Revisions: `main@sha1:<commit>`, `v1.2.0@sha1:<commit>`, `sha1:<commit>`.
 */
import semver from 'semver';
import type { Controller } from '../runtime/controller.ts';
import { gitRepositoryResource, type GitRepository } from './api.ts';
import { fetchTree } from './git/fetch.ts';
import { packTree } from './git/pack.ts';
import { resolveRef, type GitRef, type ResolvedRevision } from './git/refs.ts';
import type { GitCredentials } from './git/transport.ts';
import { fetchFailed } from './reconcile/failure.ts';
import { createSourceController, type SourceControllerOptions } from './reconcile/controller.ts';
import type { FetcherContext, SourceFetcher, SourceKind } from './reconcile/source.ts';
import { readGitCredentials } from './secrets.ts';

/** The folder of GitRepository artifacts in storage and in artifact URLs. */
export const GIT_STORAGE_KIND = 'gitrepository';

/** The ref to follow: the spec's, or the remote's default branch when the spec names none. */
export function gitRefOf(repo: GitRepository): GitRef {
  const ref = repo.spec.ref;
  if (!ref) return {};
  if (ref.semver !== undefined && semver.validRange(ref.semver) === null) {
    throw fetchFailed('InvalidRef', `spec.ref.semver ${JSON.stringify(ref.semver)} is not a valid semver range`, 'stall');
  }
  return ref;
}

/** The network side of one GitRepository reconcile. */
function gitFetcher(repo: GitRepository, ref: GitRef, auth: GitCredentials | undefined, ctx: FetcherContext): SourceFetcher {
  const url = repo.spec.url;
  let resolved: ResolvedRevision | undefined;
  return {
    async resolve() {
      resolved = await resolveRef(url, ref, { auth, timeoutMs: ctx.timeoutMs });
      return resolved.revision;
    },
    async fetch(workDir, destFile) {
      const tree = await fetchTree(url, resolved ?? ref, workDir, {
        auth, timeoutMs: ctx.timeoutMs, maxDownloadBytes: ctx.limits.maxDownloadBytes,
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
    const namespace = repo.metadata.namespace ?? '';
    const auth = repo.spec.secretRef
      ? await readGitCredentials(ctx.client, namespace, repo.spec.secretRef.name, ctx.sensitive)
      : undefined;
    return gitFetcher(repo, ref, auth, ctx);
  },
};

/** The GitRepository controller: informer, queue and the source reconciler. */
export function gitRepositoryController(options: SourceControllerOptions): Controller<GitRepository> {
  return createSourceController(gitRepositoryKind, options);
}
