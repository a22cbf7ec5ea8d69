/**
 * Packing a checked-out tree into the GitRepository's artifact: the deterministic
 * tar.gz of runtime/archive.ts, without `.git` (at any depth) and without what the `ignore` lines
 * (gitignore syntax) exclude. Symlinks are never followed out of the tree: one to a
 * file inside becomes a copy of that file, any other is left out (see the archive
 * module), so a repo cannot pull outside content into its artifact.
 */
import ignore from 'ignore';
import { createDeterministicTarGz, type ArchiveResult } from '../../runtime/archive.ts';

/** Options for {@link packTree}. */
export interface PackOptions {
  /** gitignore-syntax patterns, as lines or one multi-line string (`spec.ignore`). */
  readonly ignore?: string | readonly string[] | undefined;
}

/** A filter for {@link createDeterministicTarGz} that drops `.git` and ignored paths. */
export function treeFilter(patterns: PackOptions['ignore']): (relPath: string, info: { isDirectory: boolean }) => boolean {
  const rules = ignore();
  if (patterns !== undefined) rules.add(typeof patterns === 'string' ? patterns.split(/\r?\n/) : [...patterns]);
  return (relPath, info) => {
    // Git never tracks a `.git` at any depth; one in the tree is repository metadata, not content.
    if (relPath.split('/').includes('.git')) return false;
    // A trailing slash lets directory-only patterns (`build/`) match.
    return !rules.ignores(info.isDirectory ? `${relPath}/` : relPath);
  };
}

/** Writes the artifact tar.gz of `checkoutDir` to `destFile`; returns its digest and size. */
export function packTree(checkoutDir: string, destFile: string, opts: PackOptions = {}): Promise<ArchiveResult> {
  return createDeterministicTarGz(checkoutDir, destFile, { filter: treeFilter(opts.ignore) });
}
