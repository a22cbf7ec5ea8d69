/**
 * What of the checkout goes into the image: the modules the controllers' entry
 * points reach through their imports (followed statically, so a module nothing
 * imports stays out), and the npm packages those modules import with everything
 * they depend on according to package-lock.json — the controllers' production
 * dependencies, not the CLI's, the package kit's or the tests'.
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
  readonly link?: boolean;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { optional?: boolean }>>;
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

/** Where Node finds `name` when imported from the package at `fromPath` (`''` for the project itself). */
function resolveInLock(lock: Readonly<Record<string, LockEntry>>, fromPath: string, name: string): string | undefined {
  let base = fromPath;
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (lock[candidate] !== undefined) return candidate;
    if (base === '') return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut < 0 ? '' : base.slice(0, cut);
  }
}

/**
 * The npm packages `imported` (by the application's own modules) need, with every
 * dependency they have in package-lock.json (optional and peer ones when
 * installed), sorted by path. Throws when an imported package is not installed or
 * is a development dependency.
 */
export async function npmClosure(root: string, imported: readonly string[]): Promise<NpmPackage[]> {
  const lockFile = join(root, 'package-lock.json');
  const lock = (JSON.parse(await readFile(lockFile, 'utf8')) as { packages?: Record<string, LockEntry> }).packages;
  if (lock === undefined) throw new ApplicationClosureError(`${lockFile} has no "packages" map (lockfileVersion 2 or later is needed)`);
  const chosen = new Map<string, NpmPackage>();
  const visit = (fromPath: string, name: string, required: boolean): void => {
    const path = resolveInLock(lock, fromPath, name);
    if (path === undefined) {
      if (required) throw new ApplicationClosureError(`${name} (needed by ${fromPath || 'the controllers'}) is not in package-lock.json`);
      return;
    }
    if (chosen.has(path)) return;
    const entry = lock[path]!;
    if (entry.dev && fromPath === '') throw new ApplicationClosureError(`the controllers import ${name}, a development dependency`);
    if (!existsSync(join(root, path))) throw new ApplicationClosureError(`${path} is in package-lock.json but not installed (npm ci)`);
    chosen.set(path, { name, version: entry.version ?? '0.0.0', license: entry.license ?? 'NOASSERTION', path });
    for (const dep of Object.keys(entry.dependencies ?? {})) visit(path, dep, true);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) visit(path, dep, false);
    for (const dep of Object.keys(entry.peerDependencies ?? {})) visit(path, dep, entry.peerDependenciesMeta?.[dep]?.optional !== true);
  };
  for (const name of imported) visit('', name, true);
  return [...chosen.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Files of an installed npm package that a running program never reads: type
 * declarations, source maps, TypeScript sources (Node does not strip types under
 * node_modules), Markdown other than licences, and nested `node_modules` (its
 * packages are chosen one by one). `relPath` is relative to the package folder.
 */
export function isDroppedFromPackage(relPath: string, isDirectory: boolean): boolean {
  const base = relPath.slice(relPath.lastIndexOf('/') + 1);
  if (isDirectory) return base === 'node_modules' || (!relPath.includes('/') && ['.github', 'test', 'tests', '__tests__'].includes(base));
  if (/^(licen[cs]e|copying|notice)/i.test(base)) return false;
  return /\.(d\.[cm]?ts|map|[cm]?ts|tsx|md|markdown)$/i.test(base);
}
