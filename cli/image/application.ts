/**
 * What of the checkout goes into the image. The controllers ship as bundles
 * (hack/build-controllers.ts); this module names the npm packages inside them for
 * the bill of materials (from package-lock.json), and follows the controllers'
 * imports statically, which says what of a checkout the build reads.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, normalize, relative, sep } from 'node:path';

/** The controllers' entry points, relative to the project root. */
export const CONTROLLER_ENTRIES: readonly string[] = ['apply-controller/main.ts', 'source-controller/main.ts'];

/** Raised when an import cannot be followed. */
export class ApplicationClosureError extends Error {
  override readonly name = 'ApplicationClosureError';
}

/** The import closure of the entry points. */
export interface ApplicationClosure {
  /** Project-relative `/`-separated paths of every module reached, sorted. */
  readonly files: readonly string[];
  /** npm package names imported by those modules (`@scope/name` or `name`), sorted. */
  readonly packages: readonly string[];
}

/** Drops comments (block comments and whole-line `//` comments) so examples in them are not read as imports. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/**
 * The module specifiers a source file loads at run time: static imports and
 * re-exports (not `import type` / `export type`, which Node erases), side-effect
 * imports and `import('…')` with a literal.
 */
export function importSpecifiers(source: string): string[] {
  const text = withoutComments(source);
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|[;\n}])\s*(import|export)\s+(type\s+)?([^'";]*?)\bfrom\s*['"]([^'"]+)['"]/g)) {
    if (m[2] === undefined) found.push(m[4]!);
  }
  for (const m of text.matchAll(/(?:^|[;\n])\s*import\s*['"]([^'"]+)['"]/g)) found.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(m[1]!);
  return found;
}

/** `@scope/name` or `name` of a bare specifier; undefined for `node:` built-ins and relative paths. */
export function packageNameOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const toPosix = (p: string): string => p.split(sep).join('/');

/** Follows the imports of `entries` (project-relative) inside `root`. */
export async function applicationClosure(root: string, entries: readonly string[] = CONTROLLER_ENTRIES): Promise<ApplicationClosure> {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [...entries.map((e) => normalize(e))];
  while (queue.length > 0) {
    const rel = queue.pop()!;
    if (files.has(toPosix(rel))) continue;
    const abs = join(root, rel);
    if (!existsSync(abs) || !(await stat(abs)).isFile()) throw new ApplicationClosureError(`${toPosix(rel)} is imported but does not exist`);
    files.add(toPosix(rel));
    if (!/\.(ts|mts|js|mjs)$/.test(rel)) continue;
    for (const specifier of importSpecifiers(await readFile(abs, 'utf8'))) {
      const name = packageNameOf(specifier);
      if (name !== undefined) {
        packages.add(name);
      } else if (specifier.startsWith('.')) {
        const target = relative(root, join(dirname(abs), specifier));
        if (target.startsWith('..')) throw new ApplicationClosureError(`${toPosix(rel)} imports ${specifier}, outside the project`);
        queue.push(target);
      }
    }
  }
  return { files: [...files].sort(), packages: [...packages].sort() };
}

/** One package of package-lock.json's `packages` map. */
interface LockEntry {
  readonly version?: string;
  readonly license?: string;
  readonly dev?: boolean;
}

/** An npm package that goes into the image. */
export interface NpmPackage {
  readonly name: string;
  readonly version: string;
  /** As the package declares it (package-lock.json's `license`); NOASSERTION when it declares none. */
  readonly license: string;
  /** Its folder relative to the project root: `node_modules/a/node_modules/b`. */
  readonly path: string;
}

/** The package name of a package-lock.json folder: what follows its last `node_modules/`. */
function nameOfFolder(path: string): string {
  return path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/**
 * The npm packages whose code the controllers' bundles hold (`folders`, from
 * esbuild's metafile: `node_modules/a`, `node_modules/a/node_modules/b`), with
 * their version and licence from package-lock.json, sorted by folder. Throws
 * when a folder is not in the lock, or is a development dependency.
 */
export async function bundledPackages(root: string, folders: readonly string[]): Promise<NpmPackage[]> {
  const lockFile = join(root, 'package-lock.json');
  const lock = (JSON.parse(await readFile(lockFile, 'utf8')) as { packages?: Record<string, LockEntry> }).packages;
  if (lock === undefined) throw new ApplicationClosureError(`${lockFile} has no "packages" map (lockfileVersion 2 or later is needed)`);
  return [...new Set(folders)].sort().map((path): NpmPackage => {
    const entry = lock[path];
    if (entry === undefined) throw new ApplicationClosureError(`the controllers' bundles hold ${path}, which is not in package-lock.json`);
    if (entry.dev) throw new ApplicationClosureError(`the controllers' bundles hold ${nameOfFolder(path)}, a development dependency`);
    return { name: nameOfFolder(path), version: entry.version ?? '0.0.0', license: entry.license ?? 'NOASSERTION', path };
  });
}
