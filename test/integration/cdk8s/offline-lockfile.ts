/**
 * A package-lock.json for a package outside the checkout whose dependencies are
 * the checkout's own (same versions and integrity, taken from its
 * package-lock.json), plus local tarballs. With it `npm ci --offline` installs
 * from npm's cache, which the checkout's own `npm ci` filled: no registry is
 * asked, not even for package metadata.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import semver from 'semver';

/** One entry of a lockfile's `packages`. */
interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

/** A local tarball to install in place of the registry package of the same name. */
export interface LocalTarball {
  readonly file: string;
  readonly manifest: { readonly name: string; readonly version: string; readonly [field: string]: unknown };
}

/** Flags npm derives for the checkout's own tree, which mean nothing in another. */
const DERIVED_FLAGS = ['dev', 'peer', 'devOptional', 'extraneous'];

function entryFor(source: LockEntry): LockEntry {
  const entry: LockEntry = { ...source };
  for (const flag of DERIVED_FLAGS) delete entry[flag];
  return entry;
}

/** Names an entry needs installed (required and optional peers alike are listed only when not optional). */
function needs(entry: LockEntry): string[] {
  const optionalPeers = new Set(Object.entries(entry.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional).map(([n]) => n));
  return [
    ...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {}),
    ...Object.keys(entry.peerDependencies ?? {}).filter((n) => !optionalPeers.has(n)),
  ];
}

/**
 * The package.json (its dependencies on `tarballs` turned into `file:` specs, as
 * `npm install <tarball>` does) and package-lock.json texts for the package whose
 * package.json text is `manifestText`. Every other dependency is taken at the
 * checkout's version, which must satisfy the declared range.
 */
export function offlineInstallFiles(checkoutLockFile: string, manifestText: string, tarballs: readonly LocalTarball[]): { packageJson: string; lockfile: string } {
  const checkout = JSON.parse(readFileSync(checkoutLockFile, 'utf8')) as { packages: Record<string, LockEntry> };
  const manifest = JSON.parse(manifestText) as { name: string; version: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  const packages: Record<string, LockEntry> = {};
  const pending: string[] = [];
  const declared = (deps: Record<string, string> = {}): Record<string, string> => Object.fromEntries(Object.entries(deps).map(([name, range]) => {
    const tarball = tarballs.find((tb) => tb.manifest.name === name);
    if (tarball) return [name, `file:${basename(tarball.file)}`];
    const version = checkout.packages[`node_modules/${name}`]?.version;
    if (version === undefined || !semver.satisfies(version, range)) throw new Error(`the checkout has no ${name} that satisfies ${range} (${version ?? 'none'})`);
    pending.push(name);
    return [name, range];
  }));
  const dependencies = declared(manifest.dependencies);
  const devDependencies = declared(manifest.devDependencies);
  for (const tarball of tarballs) {
    const spec = `file:${basename(tarball.file)}`;
    const entry: LockEntry = {
      version: tarball.manifest.version, resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball.file)).digest('base64')}`,
    };
    for (const field of ['license', 'engines', 'dependencies', 'peerDependencies']) {
      if (tarball.manifest[field] !== undefined) entry[field] = tarball.manifest[field];
    }
    packages[`node_modules/${tarball.manifest.name}`] = entry;
    pending.push(...needs(entry));
  }
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    const key = `node_modules/${name}`;
    if (packages[key] !== undefined) continue;
    const source = checkout.packages[key];
    if (source === undefined) throw new Error(`${name} is not in the checkout's package-lock.json`);
    packages[key] = entryFor(source);
    // Its own nested copies (bundled, or versions that differ from the top level) come along.
    const nestedOf = (n: string): boolean => checkout.packages[`${key}/node_modules/${n}`] !== undefined;
    pending.push(...needs(source).filter((n) => !nestedOf(n)));
    for (const [nestedKey, nested] of Object.entries(checkout.packages)) {
      if (!nestedKey.startsWith(`${key}/node_modules/`)) continue;
      packages[nestedKey] = entryFor(nested);
      pending.push(...needs(nested).filter((n) => !nestedOf(n)));
    }
  }
  const root = { name: manifest.name, version: manifest.version, dependencies, devDependencies };
  const lock = {
    name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true,
    packages: { '': root, ...sortedByKey(packages) },
  };
  return {
    packageJson: `${JSON.stringify({ ...manifest, dependencies, devDependencies }, null, 2)}\n`,
    lockfile: `${JSON.stringify(lock, null, 2)}\n`,
  };
}

function sortedByKey<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
