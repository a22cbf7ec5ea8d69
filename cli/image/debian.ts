/**
 * The Debian part of the image, made the way distroless images are: a short list
 * of packages (the C and C++ runtime the Node binary links against, CA
 * certificates, time zone data) fetched with `apt-get download` at the versions the
 * machine's apt lists name, verified against those lists' SHA-256, cached under
 * `~/.cache/trellis/debs/` by file name (which carries the version), and unpacked
 * with `dpkg -x` — no maintainer scripts, no dpkg database, no shell.
 *
 * A few Go binaries Debian 12 does not package (kustomize) come from a later
 * suite of the same archive, through a private apt state (apt-suite.ts) whose lists
 * are kept beside the cache and refreshed once a day: the same `apt-get download`,
 * the same SHA-256 check against that suite's own signed lists, the same cache.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { preparePrivateAptState, type PrivateAptState } from './apt-suite.ts';

const run = promisify(execFile);

/** The packages every image gets, before those `ldd` adds for the Node binary. */
export const BASE_DEBIAN_PACKAGES: readonly string[] = ['libc6', 'libgcc-s1', 'gcc-12-base', 'libstdc++6', 'ca-certificates', 'tzdata'];

/**
 * Packages taken from another suite of the machine's archive: Go binaries that run
 * on Debian 12 (they link only against glibc) but are not in it. kustomize renders the kustomizations the
 * apply controller meets; it lands at `/usr/bin/kustomize`, on the image's PATH.
 */
export const SUITE_DEBIAN_PACKAGES: readonly { readonly suite: string; readonly name: string }[] = [{ suite: 'trixie', name: 'kustomize' }];

/** How old a private suite's lists may be before a build asks the archive again. */
export const SUITE_LISTS_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** A Debian package as the apt lists describe it. */
export interface DebianPackage {
  readonly name: string;
  /** The suite whose private lists describe it (apt-suite.ts); absent for the machine's own lists. */
  readonly suite?: string;
  readonly version: string;
  readonly architecture: string;
  /** The source package (for the SBOM); the binary's own name when it has no separate source. */
  readonly source: string;
  readonly sha256: string;
  readonly homepage?: string;
}

/** A package downloaded and verified. */
export interface FetchedDebianPackage extends DebianPackage {
  readonly file: string;
}

/** Raised when apt cannot describe or fetch a package. */
export class DebianPackageError extends Error {
  override readonly name = 'DebianPackageError';
}

/** `~/.cache/trellis/debs` (or `$XDG_CACHE_HOME/trellis/debs`). */
export function defaultDebCache(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME ?? join(env.HOME ?? homedir(), '.cache'), 'trellis', 'debs');
}

/** Parses one `apt-cache show` stanza's fields (continuation lines are dropped). */
export function parseControlFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (m) fields.set(m[1]!, m[2]!.trim());
  }
  return fields;
}

/** The private apt state of `suite`, kept in `<cacheDir>/.apt/<suite>`. */
export function suiteAptState(cacheDir: string, suite: string): PrivateAptState {
  return preparePrivateAptState(join(cacheDir, '.apt', suite), suite);
}

/**
 * Brings the private lists of `state` up to date when they are missing or older
 * than `maxAgeMs`. `apt-get update` checks the suite's Release signature; a list
 * that does not verify fails the update, and so the build.
 */
export async function updateSuiteLists(state: PrivateAptState, log: (line: string) => void, maxAgeMs = SUITE_LISTS_MAX_AGE_MS): Promise<void> {
  const stamp = join(state.dir, 'updated');
  const age = Date.now() - ((await stat(stamp).catch(() => undefined))?.mtimeMs ?? 0);
  if (age < maxAgeMs) return;
  log(`updating the package lists of Debian ${state.suite} (private apt state in ${state.dir})`);
  try {
    await run('apt-get', [...state.options, 'update', '-qq'], { maxBuffer: 4 * 1024 * 1024 });
  } catch (err) {
    throw new DebianPackageError(`apt-get update for Debian ${state.suite} failed: ${(err as { stderr?: string }).stderr?.trim() || String(err)}`);
  }
  await writeFile(stamp, `${new Date().toISOString()}\n`);
}

/**
 * The candidate version of `name` from the apt lists: the machine's own, or those
 * of a private suite state (kept up to date by {@link updateSuiteLists}).
 */
export async function describeDebianPackage(name: string, apt?: PrivateAptState): Promise<DebianPackage> {
  if (!/^[a-z0-9][a-z0-9+.-]+$/.test(name)) throw new DebianPackageError(`invalid Debian package name ${JSON.stringify(name)}`);
  const lists = apt !== undefined ? ` of Debian ${apt.suite}` : '';
  let stdout: string;
  try {
    ({ stdout } = await run('apt-cache', [...apt?.options ?? [], 'show', '--no-all-versions', name], { maxBuffer: 4 * 1024 * 1024 }));
  } catch (err) {
    throw new DebianPackageError(`the apt lists${lists} have no package ${name} (run apt-get update?): ${(err as Error).message.split('\n')[0]}`);
  }
  const stanza = stdout.split(/\n\n/)[0] ?? '';
  const f = parseControlFields(stanza);
  const version = f.get('Version');
  const architecture = f.get('Architecture');
  const sha256 = f.get('SHA256');
  if (!version || !architecture || !sha256) throw new DebianPackageError(`apt-cache show ${name}${lists}: no Version, Architecture or SHA256`);
  if (!/^[a-f0-9]{64}$/.test(sha256)) throw new DebianPackageError(`apt-cache show ${name}${lists}: SHA256 ${JSON.stringify(sha256)} is not a SHA-256 sum`);
  const homepage = f.get('Homepage');
  return {
    name, version, architecture, sha256,
    ...(apt !== undefined ? { suite: apt.suite } : {}),
    source: (f.get('Source') ?? name).split(' ')[0]!,
    ...(homepage !== undefined ? { homepage } : {}),
  };
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

/** The cache file name of a package: apt's own naming, with the epoch's `:` escaped. */
export function debFileName(pkg: DebianPackage): string {
  return `${pkg.name}_${pkg.version.replace(/:/g, '%3a')}_${pkg.architecture}.deb`;
}

/**
 * The package's .deb from the cache, or downloaded into it with `apt-get download`
 * (`name=version`, so the file is the one the lists describe; `apt` for a package
 * of another suite, the state that described it). Verified either way.
 */
export async function fetchDebianPackage(pkg: DebianPackage, cacheDir: string, log: (line: string) => void,
  apt?: PrivateAptState): Promise<FetchedDebianPackage> {
  if (pkg.suite !== apt?.suite) {
    throw new DebianPackageError(`${pkg.name} was described by the lists of ${pkg.suite ?? 'this machine'}, not of ${apt?.suite ?? 'this machine'}`);
  }
  await mkdir(cacheDir, { recursive: true });
  const file = join(cacheDir, debFileName(pkg));
  if (existsSync(file) && (await sha256File(file)) === pkg.sha256) return { ...pkg, file };
  log(`downloading ${pkg.name} ${pkg.version}${pkg.suite !== undefined ? ` from Debian ${pkg.suite}` : ''}`);
  const work = await mkdtemp(join(cacheDir, '.download-'));
  try {
    try {
      await run('apt-get', [...apt?.options ?? [], 'download', '-q', `${pkg.name}=${pkg.version}`], { cwd: work, maxBuffer: 4 * 1024 * 1024 });
    } catch (err) {
      throw new DebianPackageError(`apt-get download ${pkg.name}=${pkg.version} failed: ${(err as { stderr?: string }).stderr?.trim() ?? String(err)}`);
    }
    const [downloaded] = (await readdir(work)).filter((n) => n.endsWith('.deb'));
    if (downloaded === undefined) throw new DebianPackageError(`apt-get download ${pkg.name} wrote no .deb`);
    const actual = await sha256File(join(work, downloaded));
    if (actual !== pkg.sha256) throw new DebianPackageError(`${downloaded}: SHA-256 ${actual} does not match the apt lists' ${pkg.sha256}`);
    await rename(join(work, downloaded), file);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { ...pkg, file };
}

/** Unpacks a .deb's files into `root` (`dpkg -x`: no scripts run). */
export async function extractDebianPackage(pkg: FetchedDebianPackage, root: string): Promise<void> {
  await mkdir(root, { recursive: true });
  await run('dpkg', ['-x', pkg.file, root], { maxBuffer: 4 * 1024 * 1024 });
}

/**
 * The packages owning the shared libraries `binary` links against (`ldd`, then
 * `dpkg -S` on each library's path as printed and as resolved, since Debian 12's
 * merged /usr makes the two differ).
 */
export async function packagesForBinary(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  const libraries = [...stdout.matchAll(/=>\s*(\/\S+)|^\s*(\/\S+)\s+\(/gm)].map((m) => (m[1] ?? m[2])!);
  const owners = new Set<string>();
  for (const lib of libraries) {
    const candidates = new Set([lib, await realpath(lib).catch(() => lib)]);
    for (const path of [...candidates]) {
      candidates.add(path.startsWith('/usr/') ? path.slice(4) : `/usr${path}`);
    }
    const found = await ownerOf([...candidates]);
    if (found === undefined) throw new DebianPackageError(`no Debian package owns ${lib}, which ${binary} needs`);
    owners.add(found);
  }
  return [...owners].sort();
}

async function ownerOf(paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) {
    try {
      const { stdout } = await run('dpkg-query', ['-S', path]);
      const name = stdout.split('\n')[0]?.split(':')[0]?.trim();
      if (name) return name;
    } catch {
      // Not owned under this spelling: try the next.
    }
  }
  return undefined;
}

/**
 * The licences a package's `/usr/share/doc/<name>/copyright` declares: the
 * `License:` names of a machine-readable (DEP-5) file, else the
 * `/usr/share/common-licenses/<name>` files the text refers to. Empty when neither.
 */
export async function debianLicences(root: string, name: string): Promise<string[]> {
  const file = join(root, 'usr', 'share', 'doc', name, 'copyright');
  if (!existsSync(file)) return [];
  const text = await readFile(file, 'utf8');
  const found = new Set<string>();
  if (/^Format:\s*\S+/m.test(text)) {
    for (const m of text.matchAll(/^License:\s*(.+)$/gm)) {
      for (const part of m[1]!.split(/\s+(?:and|or|with)\s+|\s*,\s*/i)) if (part.trim() !== '') found.add(part.trim());
    }
  } else {
    for (const m of text.matchAll(/common-licenses\/([A-Za-z0-9.+-]+[A-Za-z0-9+])/g)) found.add(m[1]!);
  }
  return [...found].sort();
}

const SPDX_OF_DEBIAN: Readonly<Record<string, string>> = {
  'GPL-2': 'GPL-2.0-only', 'GPL-2+': 'GPL-2.0-or-later', 'GPL-3': 'GPL-3.0-only', 'GPL-3+': 'GPL-3.0-or-later',
  'LGPL-2': 'LGPL-2.0-only', 'LGPL-2+': 'LGPL-2.0-or-later', 'LGPL-2.1': 'LGPL-2.1-only', 'LGPL-2.1+': 'LGPL-2.1-or-later',
  'LGPL-3': 'LGPL-3.0-only', 'LGPL-3+': 'LGPL-3.0-or-later', 'GFDL-1.3': 'GFDL-1.3-only', 'GFDL-1.3+': 'GFDL-1.3-or-later',
  'MPL-2.0': 'MPL-2.0', 'Apache-2.0': 'Apache-2.0', 'BSD-3-clause': 'BSD-3-Clause', 'BSD-2-clause': 'BSD-2-Clause',
  Expat: 'MIT', MIT: 'MIT', ISC: 'ISC', Zlib: 'Zlib', 'public-domain': 'LicenseRef-public-domain',
};

/** Debian licence short names as one SPDX expression (unknown names as `LicenseRef-`); NOASSERTION when none. */
export function spdxExpressionOf(names: readonly string[]): string {
  if (names.length === 0) return 'NOASSERTION';
  const ids = [...new Set(names.map((n) => SPDX_OF_DEBIAN[n] ?? `LicenseRef-${n.replace(/[^A-Za-z0-9.-]/g, '-')}`))].sort();
  return ids.join(' AND ');
}
