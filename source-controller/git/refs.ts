/**
 * Resolving a GitRepository ref to a revision with the cheapest call Git has: one
 * GET of `info/refs` (protocol v1, the `git ls-remote` of smart HTTP), which lists
 * every branch and tag with annotated tags already peeled. Nothing is downloaded.
 *
 * Revisions: `<branch>@sha1:<commit>` for a branch, `<tag>@sha1:<commit>` for a tag
 * or a semver match (the commit an annotated tag points at, not the tag object),
 * and `sha1:<commit>` for a pinned commit (`<branch>@sha1:<commit>` when a branch is
 * named with it).
 */
import { listServerRefs } from 'isomorphic-git';
import semver from 'semver';
import type { HostPolicy } from '../net/host-policy.ts';
import { GitRefNotFoundError, GitTimeoutError, toGitError } from './errors.ts';
import { authHeaders, limitedHttp, type GitCredentials, type LimitedHttpClient } from './transport.ts';

/**
 * What to check out. The API allows exactly one field; when several are set the
 * precedence is commit > semver > tag > branch. `branch` next to `commit` only
 * names the branch to search. Nothing set: the remote's default branch (HEAD).
 */
export interface GitRef {
  readonly branch?: string | undefined;
  readonly tag?: string | undefined;
  readonly semver?: string | undefined;
  readonly commit?: string | undefined;
}

/** A ref as the server lists it. */
export interface RemoteRef {
  /** Full name: `refs/heads/main`, `refs/tags/v1.0.0`, `HEAD`. */
  readonly name: string;
  /** The object the ref points at (a tag object for annotated tags). */
  readonly oid: string;
  /** The commit an annotated tag points at; equal to `oid` otherwise. */
  readonly commit: string;
  /** For a symbolic ref (HEAD): the ref it points at. */
  readonly target?: string | undefined;
}

/** A ref resolved to a commit. */
export interface ResolvedRevision {
  /** What the ref named: a pinned commit never moves, the others follow their ref. */
  readonly kind: 'branch' | 'tag' | 'semver' | 'commit';
  /** `main@sha1:<sha>`, `v1.2.0@sha1:<sha>` or `sha1:<sha>`. */
  readonly revision: string;
  /** The commit sha (40 hex). */
  readonly commit: string;
  /** The full remote ref to fetch (`refs/heads/main`, `refs/tags/v1.2.0`); undefined for a bare commit pin. */
  readonly refName?: string | undefined;
}

/** Options shared by the remote calls. */
export interface RemoteOptions {
  readonly auth?: GitCredentials | undefined;
  /** Time limit for the call. Default 60 s. */
  readonly timeoutMs?: number | undefined;
  /** Where requests may go; default: the default deny rules. */
  readonly hostPolicy?: HostPolicy | undefined;
}

/**
 * Bytes an `info/refs` listing may have. isomorphic-git reads it whole into
 * memory; 16 MiB lists over 100 000 refs.
 */
export const MAX_REF_LISTING_BYTES = 16 * 1024 * 1024;

/**
 * True when `name` is a ref name Git itself would accept (the rules of
 * `git check-ref-format`), under `refs/`, or `HEAD`. A hostile server can list
 * any bytes as a ref name, and the fetch writes refs as files: a name with `..`
 * or a control character must never get that far.
 */
export function isSafeRefName(name: string): boolean {
  if (name === 'HEAD') return true;
  if (!name.startsWith('refs/') || name.length > 1024) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name) || name.includes('..') || name.includes('@{') || name.includes('//')) return false;
  if (name.endsWith('/') || name.endsWith('.')) return false;
  return name.split('/').every((part) => part !== '' && !part.startsWith('.') && !part.endsWith('.lock'));
}

const SHA1 = /^[0-9a-f]{40}$/;
/** Default time limit of one remote call or fetch. */
export const DEFAULT_GIT_TIMEOUT_MS = 60_000;

/**
 * Runs `op` with a signal that aborts after `timeoutMs`, mapping every failure
 * to a redacted GitError. Exported for the fetcher.
 */
export async function withGitDeadline<T>(operation: string, url: string, opts: RemoteOptions,
  op: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new GitTimeoutError(timeoutMs)), timeoutMs);
  try {
    return await op(controller.signal);
  } catch (err) {
    // Whatever the library made of the aborted request, the cause is the deadline.
    if (controller.signal.aborted) throw controller.signal.reason as Error;
    throw toGitError(err, { url, auth: opts.auth, operation });
  } finally {
    clearTimeout(timer);
  }
}

/** The ref listing itself, over a caller's transport (no deadline, no error mapping). */
export async function readRemoteRefs(http: LimitedHttpClient, url: string, auth: GitCredentials | undefined): Promise<RemoteRef[]> {
  const refs = await listServerRefs({ http, url, headers: authHeaders(auth), protocolVersion: 1, symrefs: true, peelTags: true });
  http.throwIfExceeded();
  // Refs with names Git would refuse, or a HEAD pointing at one, are not refs we can follow: they are left out.
  return refs
    .filter((r) => isSafeRefName(r.ref) && SHA1.test(r.oid) && (r.target === undefined || isSafeRefName(r.target)))
    .map((r) => ({ name: r.ref, oid: r.oid, commit: r.peeled !== undefined && SHA1.test(r.peeled) ? r.peeled : r.oid, target: r.target }));
}

/** Lists the server's branches, tags and HEAD with one request. */
export async function listRemoteRefs(url: string, opts: RemoteOptions = {}): Promise<RemoteRef[]> {
  return withGitDeadline('list refs of', url, opts, (signal) =>
    readRemoteRefs(limitedHttp({ signal, maxBytes: MAX_REF_LISTING_BYTES, hostPolicy: opts.hostPolicy }), url, opts.auth));
}

/**
 * The highest tag whose version satisfies `range` (a leading `v` is allowed;
 * prereleases only match ranges that name a prerelease, as in `semver`). Ties
 * between `1.0.0` and `v1.0.0` go to the name that sorts first. Undefined when
 * nothing matches.
 */
export function selectSemverTag(tags: readonly RemoteRef[], range: string): RemoteRef | undefined {
  const valid = semver.validRange(range);
  if (valid === null) throw new GitRefNotFoundError(`invalid semver range ${JSON.stringify(range)}`, 'InvalidRef');
  let best: { ref: RemoteRef; version: string; tag: string } | undefined;
  for (const ref of tags) {
    if (!ref.name.startsWith('refs/tags/')) continue;
    const tag = ref.name.slice('refs/tags/'.length);
    const version = semver.valid(tag);
    if (version === null || !semver.satisfies(version, valid)) continue;
    const order = best === undefined ? 1 : semver.compare(version, best.version);
    if (order > 0 || (order === 0 && best !== undefined && tag < best.tag)) best = { ref, version, tag };
  }
  return best?.ref;
}

/** Throws `InvalidRef` when the branch or tag `ref` names is not a name Git would accept. */
export function checkRefNames(ref: GitRef): void {
  for (const [field, prefix] of [['branch', 'refs/heads/'], ['tag', 'refs/tags/']] as const) {
    const value = ref[field];
    if (value !== undefined && !isSafeRefName(`${prefix}${value}`)) {
      throw new GitRefNotFoundError(`${field} ${JSON.stringify(value)} is not a valid ref name`, 'InvalidRef');
    }
  }
}

/** Resolves `ref` against an already listed set of refs (pure; see {@link resolveRef}). */
export function resolveAgainst(refs: readonly RemoteRef[], ref: GitRef): ResolvedRevision {
  checkRefNames(ref);
  const byName = new Map(refs.map((r) => [r.name, r]));
  if (ref.commit !== undefined) {
    const commit = ref.commit.toLowerCase();
    if (!SHA1.test(commit)) throw new GitRefNotFoundError(`commit ${JSON.stringify(ref.commit)} is not a full SHA-1 hash`, 'InvalidRef');
    if (ref.branch === undefined) return { kind: 'commit', revision: `sha1:${commit}`, commit };
    if (!byName.has(`refs/heads/${ref.branch}`)) throw new GitRefNotFoundError(`branch ${JSON.stringify(ref.branch)} not found`);
    return { kind: 'commit', revision: `${ref.branch}@sha1:${commit}`, commit, refName: `refs/heads/${ref.branch}` };
  }
  if (ref.semver !== undefined) {
    const match = selectSemverTag(refs, ref.semver);
    if (!match) throw new GitRefNotFoundError(`no tag matches semver range ${JSON.stringify(ref.semver)}`);
    return { kind: 'semver', revision: `${match.name.slice('refs/tags/'.length)}@sha1:${match.commit}`, commit: match.commit, refName: match.name };
  }
  if (ref.tag !== undefined) {
    const found = byName.get(`refs/tags/${ref.tag}`);
    if (!found) throw new GitRefNotFoundError(`tag ${JSON.stringify(ref.tag)} not found`);
    return { kind: 'tag', revision: `${ref.tag}@sha1:${found.commit}`, commit: found.commit, refName: found.name };
  }
  let branch = ref.branch;
  if (branch === undefined) {
    const head = byName.get('HEAD');
    if (!head?.target?.startsWith('refs/heads/')) throw new GitRefNotFoundError('the remote has no default branch (HEAD)');
    branch = head.target.slice('refs/heads/'.length);
  }
  const found = byName.get(`refs/heads/${branch}`);
  if (!found) throw new GitRefNotFoundError(`branch ${JSON.stringify(branch)} not found`);
  return { kind: 'branch', revision: `${branch}@sha1:${found.commit}`, commit: found.commit, refName: found.name };
}

/**
 * Resolves `ref` to a commit and revision with a single ls-remote-style request.
 * A pinned commit is only checked for form here; {@link fetchTree} finds out
 * whether it exists.
 */
export async function resolveRef(url: string, ref: GitRef, opts: RemoteOptions = {}): Promise<ResolvedRevision> {
  if (ref.commit !== undefined && ref.branch === undefined) return resolveAgainst([], ref);
  checkRefNames(ref); // before any request
  return resolveAgainst(await listRemoteRefs(url, opts), ref);
}
