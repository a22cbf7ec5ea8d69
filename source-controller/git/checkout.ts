/**
 * Writing one commit's tree into a folder, with every entry checked and the
 * whole walk capped. isomorphic-git's own checkout trusts the tree: it writes
 * whatever names a tree holds and has no limit on entries, bytes or depth, so a
 * hostile repository could name a file `..`, hide content under `.git`, or be a
 * "Git bomb" (a few kilobytes of trees that expand to millions of entries).
 *
 * Here a tree entry must be a plain name (not empty, `.`, `..` or any spelling
 * of `.git`; no `/`, `\` or NUL; not twice in one tree) with a mode Git writes
 * (file, executable, symlink, tree, submodule). Limits: entries, bytes of file
 * content and depth of trees. Files are created exclusively and never through a
 * symlink; symlinks are written as they are and left to the packer, which never
 * follows one out of the tree (git/pack.ts). Submodules become empty folders.
 */
import * as fs from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { FILE_CONCURRENCY, mapBounded } from '../../runtime/concurrency.ts';
import { GitTooLargeError, GitUnsafeTreeError } from './errors.ts';

/** Caps on what one checkout may write. */
export interface CheckoutLimits {
  /** Bytes of file content (and symlink targets). */
  readonly maxBytes: number;
  /** Files, folders, symlinks and submodules. */
  readonly maxEntries: number;
  /** Folders inside folders, the root being depth 0. */
  readonly maxDepth: number;
}

/** Default {@link CheckoutLimits}: 512 MiB, 20 000 entries, 64 levels. */
export const DEFAULT_CHECKOUT_LIMITS: CheckoutLimits = { maxBytes: 512 * 1024 * 1024, maxEntries: 20_000, maxDepth: 64 };

/** What was written. */
export interface CheckoutSummary {
  readonly entries: number;
  readonly bytes: number;
}

/** Why `name` may not be written, or undefined when it is a plain, safe name. */
export function unsafeEntryName(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..') return 'is not a file name';
  if (/[/\\\0]/.test(name)) return 'holds a path separator or NUL';
  // `.git` in any case, with trailing dots or spaces (Windows strips them), or as its NTFS short name.
  const folded = name.toLowerCase().replace(/[. ]+$/, '');
  if (folded === '.git' || /^git~\d+$/.test(folded)) return 'names the Git metadata folder';
  return undefined;
}

interface Walk {
  readonly gitdir: string;
  readonly cache: object;
  readonly limits: CheckoutLimits;
  readonly signal?: AbortSignal | undefined;
  entries: number;
  bytes: number;
}

function count(walk: Walk, path: string, bytes: number): void {
  walk.entries += 1;
  walk.bytes += bytes;
  if (walk.entries > walk.limits.maxEntries) {
    throw new GitTooLargeError(walk.limits.maxEntries, `the tree has more than ${walk.limits.maxEntries} entries`);
  }
  if (walk.bytes > walk.limits.maxBytes) {
    throw new GitTooLargeError(walk.limits.maxBytes, `the tree holds more than ${walk.limits.maxBytes} bytes (at ${JSON.stringify(path)})`);
  }
}

/** One tree entry as stored. */
interface RawTreeEntry {
  readonly mode: string;
  readonly path: string;
  readonly oid: string;
}

/**
 * The entries of a tree object, parsed here from its bytes (`<mode> <name>\0<20-byte id>`
 * repeated): isomorphic-git's parser normalizes modes and refuses some names with
 * its own errors, and the checks above must see the names exactly as stored.
 */
async function readRawTree(walk: Walk, oid: string, rel: string): Promise<RawTreeEntry[]> {
  const { type, object } = await git.readObject({ fs, gitdir: walk.gitdir, oid, cache: walk.cache, format: 'content' });
  if (type !== 'tree') throw new GitUnsafeTreeError(`${JSON.stringify(rel)} is a ${type}, not a tree`);
  const bytes = Buffer.from(object as Uint8Array);
  const entries: RawTreeEntry[] = [];
  for (let at = 0; at < bytes.length;) {
    const space = bytes.indexOf(0x20, at);
    const nul = space === -1 ? -1 : bytes.indexOf(0, space + 1);
    if (space === -1 || nul === -1 || nul + 21 > bytes.length) throw new GitUnsafeTreeError(`the tree at ${JSON.stringify(rel)} is malformed`);
    entries.push({
      mode: bytes.toString('latin1', at, space).padStart(6, '0'),
      path: bytes.toString('utf8', space + 1, nul),
      oid: bytes.toString('hex', nul + 1, nul + 21),
    });
    at = nul + 21;
  }
  return entries;
}

/** Tree entry modes Git writes: file, executable, symlink, tree, submodule. */
const KNOWN_MODES = new Set(['100644', '100755', '120000', '040000', '160000']);

/** A tree or a submodule: checked out as a folder. */
function isFolder(entry: RawTreeEntry): boolean {
  return entry.mode === '040000' || entry.mode === '160000';
}

/** The entry's path from the top of the checkout. */
function pathOf(rel: string, entry: RawTreeEntry): string {
  return rel === '' ? entry.path : `${rel}/${entry.path}`;
}

async function writeTree(walk: Walk, treeOid: string, dir: string, rel: string, depth: number): Promise<void> {
  walk.signal?.throwIfAborted();
  if (depth > walk.limits.maxDepth) {
    throw new GitTooLargeError(walk.limits.maxDepth, `the tree is nested more than ${walk.limits.maxDepth} levels deep (at ${JSON.stringify(rel)})`);
  }
  const tree = await readRawTree(walk, treeOid, rel);
  // Every entry of the tree is checked before any of them is written.
  const seen = new Set<string>();
  for (const entry of tree) {
    const path = pathOf(rel, entry);
    const why = unsafeEntryName(entry.path);
    if (why !== undefined) throw new GitUnsafeTreeError(`tree entry ${JSON.stringify(path)} ${why}`);
    if (seen.has(entry.path)) throw new GitUnsafeTreeError(`tree entry ${JSON.stringify(path)} appears twice`);
    seen.add(entry.path);
    if (!KNOWN_MODES.has(entry.mode)) throw new GitUnsafeTreeError(`tree entry ${JSON.stringify(path)} has the unknown mode ${entry.mode}`);
  }
  // Files a few at a time (each is several thread-pool round trips: isomorphic-git looks for a loose object before the
  // pack, then the open, write and close), then the folders, one after the other. A failure lets the writes under way
  // finish before it is thrown, so the caller's cleanup never races one.
  const blobs = tree.filter((entry) => !isFolder(entry));
  await mapBounded(blobs, FILE_CONCURRENCY, (entry) => writeBlob(walk, entry, dir, rel));
  for (const entry of tree) {
    if (!isFolder(entry)) continue;
    const path = pathOf(rel, entry);
    const target = join(dir, entry.path);
    count(walk, path, 0);
    await mkdir(target);
    // A submodule becomes an empty folder.
    if (entry.mode === '040000') await writeTree(walk, entry.oid, target, path, depth + 1);
  }
}

/** Writes one file or symlink entry of a tree (its mode checked by the caller). */
async function writeBlob(walk: Walk, entry: RawTreeEntry, dir: string, rel: string): Promise<void> {
  walk.signal?.throwIfAborted();
  const path = pathOf(rel, entry);
  const target = join(dir, entry.path);
  const { blob } = await git.readBlob({ fs, gitdir: walk.gitdir, oid: entry.oid, cache: walk.cache });
  count(walk, path, blob.byteLength);
  if (entry.mode === '120000') {
    const link = Buffer.from(blob).toString('utf8');
    if (link === '' || link.includes('\0')) throw new GitUnsafeTreeError(`symlink ${JSON.stringify(path)} has an invalid target`);
    await symlink(link, target);
  } else {
    // `wx`: never through an existing file or symlink.
    await writeFile(target, blob, { flag: 'wx', mode: entry.mode === '100755' ? 0o755 : 0o644 });
  }
}

/**
 * Writes the tree of `commit` (in `gitdir`) into the empty folder `destDir`.
 * Throws {@link GitUnsafeTreeError} for a hostile entry and
 * {@link GitTooLargeError} past a limit; the caller removes `destDir` then.
 */
export async function checkoutCommit(gitdir: string, commit: string, destDir: string, opts: {
  readonly limits?: CheckoutLimits | undefined; readonly cache?: object | undefined; readonly signal?: AbortSignal | undefined;
} = {}): Promise<CheckoutSummary> {
  const cache = opts.cache ?? {};
  const { commit: parsed } = await git.readCommit({ fs, gitdir, oid: commit, cache });
  const walk: Walk = { gitdir, cache, limits: opts.limits ?? DEFAULT_CHECKOUT_LIMITS, signal: opts.signal, entries: 0, bytes: 0 };
  await mkdir(destDir, { recursive: true });
  await writeTree(walk, parsed.tree, destDir, '', 0);
  return { entries: walk.entries, bytes: walk.bytes };
}
