/**
 * The files a package declares with `definePackage({ files: [...] })`: paths or
 * glob patterns relative to the package folder, which `trellis build` embeds in
 * the program bundle so that the program can read them in the sandbox
 * (`ConfigMap.addFile`, cdk8s' `Include`, `fs.readFileSync`). Like the files a
 * Helm chart ships, they are fixed when the bundle is built.
 *
 * The checks here are on the text alone (the build checks the folder itself:
 * symbolic links, sizes), so a declaration that could reach outside the package
 * folder is refused by `definePackage`, before anything is read or written.
 */

/** Characters that make a declared path a glob pattern. */
const GLOB_CHARS = /[*?[\]{}]/;

/** A URL scheme (`http:`, `https:`, `file:`...), or a Windows drive. */
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/**
 * Why `path` (a declared file, folder or glob pattern) cannot be declared, or
 * `undefined` when it can: it must be relative to the package folder, use `/`,
 * and never climb out of it with `..`.
 */
export function fileDeclarationProblem(path: unknown): string | undefined {
  if (typeof path !== 'string' || path.trim() === '') return `files: ${JSON.stringify(path)} is not a path`;
  const quoted = JSON.stringify(path);
  if (path.includes('\0')) return `files: ${quoted} contains a NUL character`;
  if (SCHEME.test(path)) return `files: ${quoted} is a URL or a drive, not a path in the package folder (a program has no network: download the file into the package folder)`;
  if (path.startsWith('/') || path.startsWith('~')) return `files: ${quoted} is absolute; paths are relative to the package folder`;
  if (path.includes('\\')) return `files: ${quoted} uses "\\"; separate folders with "/"`;
  if (path.split('/').includes('..')) return `files: ${quoted} leaves the package folder ("..")`;
  return undefined;
}

/** Whether a declared path is a glob pattern rather than a file or folder name. */
export function isFilePattern(path: string): boolean {
  return GLOB_CHARS.test(path);
}

/**
 * The declared path in its plain form: `./a//b/` -> `a/b`, `.` -> `` (the package
 * folder itself). Call after {@link fileDeclarationProblem} found nothing.
 */
export function normalizeDeclaredPath(path: string): string {
  return path.split('/').filter((part) => part !== '' && part !== '.').join('/');
}
