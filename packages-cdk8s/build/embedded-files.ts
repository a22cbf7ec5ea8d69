/**
 * Collecting the files a package declares (`definePackage({ files })`) for
 * embedding in its program: every declared path, folder or glob pattern is
 * expanded inside the package folder, each file is checked to really be there
 * (symbolic links are followed and must stay inside the folder) and the total
 * size is capped — all before anything is read into the program or written.
 * Text files are embedded as text, others as base64; the table is in path
 * order, so the same folder gives the same program bytes.
 */
import { glob, lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileDeclarationProblem, isFilePattern, normalizeDeclaredPath } from '../kit/files.ts';
import type { EmbeddedFile, EmbeddedFiles } from '../kit/sandbox/fs.ts';
import { PackageBuildError } from './errors.ts';

/** Most bytes of files one program may embed (the program file is capped at 16 MiB by the controller). */
export const MAX_EMBEDDED_BYTES = 8 * 1024 * 1024;

/** Options of {@link collectEmbeddedFiles}. */
export interface CollectFilesOptions {
  /** Default {@link MAX_EMBEDDED_BYTES}. */
  readonly maxBytes?: number;
}

/** The files to embed. */
export interface CollectedFiles {
  readonly files: EmbeddedFiles;
  /** Their total size on disk. */
  readonly bytes: number;
}

/** A file found for a declaration: its path in the package (the table's key), where it really is, its size. */
interface FoundFile {
  readonly key: string;
  readonly real: string;
  readonly size: number;
}

const refuse = (message: string): never => {
  throw new PackageBuildError('InvalidFiles', message);
};

const toKey = (path: string): string => path.split(sep).join('/');

/** Where `rel` really is: inside `root` (the package folder's real path), or a refusal. */
async function resolveInside(root: string, rel: string, declared: string): Promise<string> {
  const real = await realpath(join(root, rel)).catch(() => refuse(`files: ${rel} (from ${JSON.stringify(declared)}) does not exist in the package folder`));
  if (real !== root && !real.startsWith(root + sep)) {
    refuse(`files: ${rel} (from ${JSON.stringify(declared)}) is a symbolic link that leads outside the package folder`);
  }
  return real;
}

/** The files at `rel` (a file, or every file under a folder), checked one by one. */
async function filesAt(root: string, rel: string, declared: string, seen: Set<string>, out: Map<string, FoundFile>): Promise<void> {
  const real = await resolveInside(root, rel, declared);
  const info = await stat(real);
  if (info.isFile()) {
    out.set(toKey(rel), { key: toKey(rel), real, size: info.size });
    return;
  }
  if (!info.isDirectory()) refuse(`files: ${rel} (from ${JSON.stringify(declared)}) is neither a file nor a folder`);
  // A link back into a folder already being walked would never end.
  if (seen.has(real)) return;
  const inner = new Set(seen).add(real);
  const names = (await readdir(real)).sort();
  for (const name of names) await filesAt(root, rel === '' ? name : join(rel, name), declared, inner, out);
}

/** The paths a declaration names, relative to the package folder: itself, or what its pattern matches. */
async function expand(root: string, declared: string): Promise<string[]> {
  const path = normalizeDeclaredPath(declared);
  if (!isFilePattern(path)) {
    await lstat(join(root, path)).catch(() => refuse(`files: ${JSON.stringify(declared)} does not exist in the package folder`));
    return [path];
  }
  const matches: string[] = [];
  for await (const match of glob(path, { cwd: root })) matches.push(match);
  if (matches.length === 0) refuse(`files: the pattern ${JSON.stringify(declared)} matches no file in the package folder`);
  // A match the pattern reached through "..": never, but cheaper to check than to reason about.
  for (const match of matches) if (relative(root, join(root, match)).startsWith('..')) refuse(`files: ${JSON.stringify(declared)} leaves the package folder`);
  return matches.sort();
}

/** What a file's bytes become in the table: text when they are UTF-8 (a byte order mark kept), base64 otherwise. */
function embedded(bytes: Buffer): EmbeddedFile {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes) };
  } catch {
    return { base64: bytes.toString('base64') };
  }
}

/**
 * The files `declared` names in the package folder `dir`, ready to embed.
 * Throws PackageBuildError(InvalidFiles) for a declaration that leaves the
 * folder (`..`, an absolute path, a URL, a symbolic link leading out), names
 * nothing, or when the files are larger than the cap together.
 */
export async function collectEmbeddedFiles(dir: string, declared: readonly string[], opts: CollectFilesOptions = {}): Promise<CollectedFiles> {
  for (const path of declared) {
    const problem = fileDeclarationProblem(path);
    if (problem !== undefined) refuse(problem);
  }
  const root = await realpath(dir);
  const found = new Map<string, FoundFile>();
  for (const path of declared) {
    for (const rel of await expand(root, path)) await filesAt(root, rel, path, new Set(), found);
  }
  const maxBytes = opts.maxBytes ?? MAX_EMBEDDED_BYTES;
  const bytes = [...found.values()].reduce((sum, f) => sum + f.size, 0);
  if (bytes > maxBytes) {
    const largest = [...found.values()].sort((a, b) => b.size - a.size).slice(0, 3).map((f) => `${f.key} (${f.size} bytes)`);
    refuse(`files: the declared files are ${bytes} bytes together, more than the ${maxBytes} a program may embed; the largest: ${largest.join(', ')}`);
  }
  const keys = [...found.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files: Record<string, EmbeddedFile> = {};
  let read = 0;
  for (const key of keys) {
    const bytes = await readFile(found.get(key)!.real);
    read += bytes.length;
    // A file that grew since it was measured counts as it is now.
    if (read > maxBytes) refuse(`files: the declared files grew past the ${maxBytes} bytes a program may embed while they were read (${key})`);
    files[key] = embedded(bytes);
  }
  return { files, bytes: read };
}
