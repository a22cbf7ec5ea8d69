/**
 * Fetching the tree of one commit: a shallow (depth 1), single-ref fetch into a
 * private git directory next to the destination, then a checkout of exactly that
 * commit into the destination, then the git directory is deleted. The destination
 * ends up holding the working tree only (no `.git`).
 *
 * A pinned commit that is the tip of some branch or tag is fetched shallowly like
 * any other; one that is not needs history, so the named branch (or, without one,
 * every branch) is fetched in full and the commit looked up in it.
 */
import * as fs from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import git from 'isomorphic-git';
import type { HostPolicy } from '../net/host-policy.ts';
import { checkoutCommit, type CheckoutLimits } from './checkout.ts';
import { GitRefNotFoundError } from './errors.ts';
import { readRemoteRefs, resolveAgainst, withGitDeadline, type GitRef, type RemoteRef, type ResolvedRevision } from './refs.ts';
import { authHeaders, limitedHttp, type GitCredentials } from './transport.ts';

/**
 * Default cap on what one Git fetch downloads. isomorphic-git holds the whole
 * pack in memory and inflates every object to index it, so this cap bounds the
 * fetcher's memory: keep it well under the container's limit.
 */
export const DEFAULT_GIT_MAX_FETCH_BYTES = 64 * 1024 * 1024;

/**
 * Default cap on what one fetch's objects inflate to. isomorphic-git's peak
 * memory while indexing is about four times this (measured: 1 GiB of growth for
 * one 256 MiB blob), so 64 MiB keeps a fetch near 256 MiB.
 */
export const DEFAULT_GIT_MAX_INFLATED_BYTES = 64 * 1024 * 1024;

/** What a verifier gets: the fetched objects, before anything is checked out. */
export interface FetchedObjects {
  readonly gitdir: string;
  /** The commit that will be checked out. */
  readonly commit: string;
  /** The annotated tag object the ref pointed at, when it did. */
  readonly tag?: string | undefined;
  /** The ref fetched (`refs/tags/v1.0.0`), when one was. */
  readonly refName?: string | undefined;
  readonly cache: object;
}

/** Options for {@link fetchTree}. */
export interface FetchOptions {
  readonly auth?: GitCredentials | undefined;
  /** Time limit for the whole fetch (listing, download, checkout). Default 60 s. */
  readonly timeoutMs?: number | undefined;
  /** Cap on downloaded bytes (packfiles and ref listings). Default {@link DEFAULT_GIT_MAX_FETCH_BYTES}. */
  readonly maxDownloadBytes?: number | undefined;
  /**
   * Bytes the fetched objects may inflate to, all together: isomorphic-git
   * holds every inflated object while it indexes the pack. Default
   * {@link DEFAULT_GIT_MAX_INFLATED_BYTES}.
   */
  readonly maxInflatedBytes?: number | undefined;
  /** Caps on the checked-out tree (entries, bytes, depth). */
  readonly checkoutLimits?: CheckoutLimits | undefined;
  /** Where requests may go; default: the default deny rules. */
  readonly hostPolicy?: HostPolicy | undefined;
  /**
   * Runs after the download and before the checkout (signature verification):
   * a throw ends the fetch with nothing written to the destination.
   */
  readonly verify?: ((objects: FetchedObjects) => Promise<void>) | undefined;
}

/** What {@link fetchTree} checked out. */
export interface FetchedTree extends ResolvedRevision {
  /** The directory holding the working tree. */
  readonly dir: string;
}

const isResolved = (ref: GitRef | ResolvedRevision): ref is ResolvedRevision =>
  typeof (ref as ResolvedRevision).revision === 'string' && typeof (ref as ResolvedRevision).commit === 'string';

/** The revision string for `commit` reached through `refName` (or a bare pin). */
function revisionFor(refName: string | undefined, commit: string): string {
  if (refName === undefined) return `sha1:${commit}`;
  const short = refName.replace(/^refs\/(heads|tags)\//, '');
  return `${short}@sha1:${commit}`;
}

/** The ref whose tip is `commit`, preferring `preferred`, then branches, then tags. */
function tipRef(refs: readonly RemoteRef[], commit: string, preferred: string | undefined): RemoteRef | undefined {
  const tips = refs.filter((r) => r.commit === commit && r.name.startsWith('refs/'));
  return tips.find((r) => r.name === preferred) ?? tips.find((r) => r.name.startsWith('refs/heads/')) ?? tips[0];
}

async function ensureEmptyDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) throw new Error(`fetch destination ${dir} is not empty`);
}

/**
 * Fetches the tree `ref` names from `url` into `destDir` (which must not exist or
 * be empty) and returns the revision actually checked out. `ref` is either a
 * {@link GitRef} (resolved first, one more ls-remote) or the result of
 * {@link resolveRef}. When a branch or tag moved since it was resolved, the new
 * tip is checked out and its revision returned: the result, not the input, says
 * what the tree is. On failure `destDir` is removed; errors are redacted GitErrors.
 */
export async function fetchTree(url: string, ref: GitRef | ResolvedRevision, destDir: string,
  opts: FetchOptions = {}): Promise<FetchedTree> {
  await ensureEmptyDir(destDir);
  const gitdir = await mkdtemp(join(dirname(destDir), `.${basename(destDir)}.gitdir-`));
  // The verifier's own error is the caller's to interpret: it is not a Git failure.
  let verifyFailure: unknown;
  try {
    return await withGitDeadline('fetch', url, opts, async (signal) => {
      const maxBytes = opts.maxDownloadBytes ?? DEFAULT_GIT_MAX_FETCH_BYTES;
      const http = limitedHttp({
        signal, maxBytes, hostPolicy: opts.hostPolicy, maxInflatedBytes: opts.maxInflatedBytes ?? DEFAULT_GIT_MAX_INFLATED_BYTES,
      });
      const headers = authHeaders(opts.auth);
      const cache = {};
      let resolved: ResolvedRevision = isResolved(ref) ? ref : resolveAgainst(
        ref.commit !== undefined && ref.branch === undefined ? [] : await readRemoteRefs(http, url, opts.auth), ref);

      await git.init({ fs, dir: destDir, gitdir, defaultBranch: 'trellis-fetch' });
      await git.addRemote({ fs, gitdir, remote: 'origin', url });
      const fetchRef = async (refName: string | undefined, shallow: boolean): Promise<string> => {
        const result = await git.fetch({
          fs, http, dir: destDir, gitdir, remote: 'origin', headers, cache, tags: false,
          ...(refName === undefined ? { singleBranch: false } : { singleBranch: true, ref: refName, remoteRef: refName }),
          ...(shallow ? { depth: 1 } : {}),
        });
        signal.throwIfAborted();
        http.throwIfExceeded();
        return result.fetchHead ?? '';
      };

      let commit: string;
      let tag: string | undefined;
      if (resolved.kind !== 'commit') {
        // Branch, tag or semver: the tip of the ref, whatever it is now.
        if (resolved.refName === undefined) throw new GitRefNotFoundError(`${resolved.kind} revision without a ref name`, 'InvalidRef');
        const head = await fetchRef(resolved.refName, true);
        commit = await peelToCommit(gitdir, head, cache);
        if (head !== commit) tag = head;
        if (commit !== resolved.commit) resolved = { ...resolved, commit, revision: revisionFor(resolved.refName, commit) };
      } else {
        // A pinned commit: shallow when some ref's tip is that commit, full history otherwise.
        commit = resolved.commit;
        const tip = tipRef(await readRemoteRefs(http, url, opts.auth), commit, resolved.refName);
        if (tip) await fetchRef(tip.name, true);
        else await fetchRef(resolved.refName, false);
        await git.readCommit({ fs, gitdir, oid: commit, cache }).catch(() => {
          throw new GitRefNotFoundError(`commit ${commit} not found${resolved.refName ? ` on ${resolved.refName}` : ''}`);
        });
      }
      try {
        await opts.verify?.({ gitdir, commit, tag, refName: resolved.refName, cache });
      } catch (err) {
        verifyFailure = err;
        throw err;
      }
      signal.throwIfAborted();
      await checkoutCommit(gitdir, commit, destDir, { limits: opts.checkoutLimits, cache, signal });
      signal.throwIfAborted();
      return { ...resolved, dir: destDir };
    });
  } catch (err) {
    await rm(destDir, { recursive: true, force: true });
    throw verifyFailure ?? err;
  } finally {
    await rm(gitdir, { recursive: true, force: true });
  }
}

/** The commit an object id names, following annotated tags. */
async function peelToCommit(gitdir: string, oid: string, cache: object): Promise<string> {
  let current = oid;
  for (let i = 0; i < 10; i++) {
    const { type, object } = await git.readObject({ fs, gitdir, oid: current, cache, format: 'parsed' });
    if (type === 'commit') return current;
    if (type !== 'tag') throw new GitRefNotFoundError(`ref points at a ${type}, not a commit`);
    current = (object as { object: string }).object;
  }
  throw new GitRefNotFoundError('tag chain too long');
}
