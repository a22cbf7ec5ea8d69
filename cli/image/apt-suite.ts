/**
 * A private apt state for one suite of the machine's own Debian archive (Debian 13
 * `trixie` on a Debian 12 machine, say): a folder with its own sources entry,
 * package lists, package cache and an empty dpkg status, and the `-o` options that
 * point `apt-get` and `apt-cache` at it. The system's sources and lists stay as they
 * are, and apt still checks the suite's signed Release file against the archive's
 * keyring, so the SHA-256 sums in the private lists are as trustworthy as the
 * system's own. The image builder (debian.ts) and the development tools
 * (hack/peer-tools.ts) both fetch packages of other suites through it; it runs no
 * command itself, so a synchronous and an asynchronous caller can share it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The Debian archive packages come from, as the machine's apt sources name it. */
export interface DebianArchive {
  readonly uri: string;
  /** The keyring that signs the archive's Release files (`Signed-By`), when the sources name one. */
  readonly signedBy?: string;
}

/** A private apt state for one suite, ready for `apt-get update`. */
export interface PrivateAptState {
  readonly suite: string;
  /** The state folder (sources, lists, cache, status). */
  readonly dir: string;
  /** The `-o` options to give `apt-get` and `apt-cache` before their command. */
  readonly options: readonly string[];
}

/** Raised when the machine has no usable Debian archive or the suite name is not one. */
export class AptSuiteError extends Error {
  override readonly name = 'AptSuiteError';
}

/** Where {@link debianArchive} reads the machine's apt sources (tests pass their own). */
export interface AptSourceFiles {
  readonly sourcesDir: string;
  readonly sourcesList: string;
}

const SYSTEM_SOURCES: AptSourceFiles = { sourcesDir: '/etc/apt/sources.list.d', sourcesList: '/etc/apt/sources.list' };

/** The machine's main Debian archive, from its apt sources (never hard-coded, so mirrors and proxies keep working). */
export function debianArchive(files: AptSourceFiles = SYSTEM_SOURCES): DebianArchive {
  const entries: { uri: string; suites: string[]; signedBy?: string }[] = [];
  const dir = files.sourcesDir;
  for (const file of existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.sources')).sort() : []) {
    for (const stanza of readFileSync(join(dir, file), 'utf8').split(/\n\s*\n/)) {
      const field = (name: string): string | undefined => new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim();
      if (!(field('Types') ?? '').split(/\s+/).includes('deb') || /^Enabled:\s*no/mi.test(stanza)) continue;
      const uri = field('URIs')?.split(/\s+/)[0];
      if (!uri) continue;
      const signedBy = field('Signed-By');
      entries.push({ uri, suites: (field('Suites') ?? '').split(/\s+/), ...(signedBy ? { signedBy } : {}) });
    }
  }
  if (existsSync(files.sourcesList)) {
    for (const line of readFileSync(files.sourcesList, 'utf8').split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
      if (m?.[1] && m[2]) entries.push({ uri: m[1], suites: [m[2]] });
    }
  }
  // The main archive carries the release suite itself (`bookworm`), not only `-security`/`-updates`.
  const main = entries.find((e) => e.suites.some((s) => /^[a-z]+$/.test(s)) && !/security/.test(e.uri));
  if (!main) throw new AptSuiteError('no Debian archive found in the apt sources of this machine');
  return main.signedBy ? { uri: main.uri, signedBy: main.signedBy } : { uri: main.uri };
}

/**
 * Writes the private state for `suite` of `archive` into `dir` (kept between calls:
 * its lists are reused until the caller updates them) and returns the apt options
 * that use it. Only the suite's `main` component, and no translations.
 */
export function preparePrivateAptState(dir: string, suite: string, archive: DebianArchive = debianArchive()): PrivateAptState {
  // The name goes into a sources file: a codename or codename-updates, nothing else.
  if (!/^[a-z]+(-[a-z]+)?$/.test(suite)) throw new AptSuiteError(`invalid Debian suite ${JSON.stringify(suite)}`);
  for (const d of ['lists/partial', 'sources.list.d', 'cache/archives/partial']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'sources.list.d', `${suite}.sources`), [
    'Types: deb', `URIs: ${archive.uri}`, `Suites: ${suite}`, 'Components: main',
    ...(archive.signedBy ? [`Signed-By: ${archive.signedBy}`] : []), '',
  ].join('\n'));
  writeFileSync(join(dir, 'sources.list'), '');
  // An empty dpkg status: what the machine has installed must not decide which version is the candidate.
  writeFileSync(join(dir, 'status'), '');
  const options = [
    '-o', `Dir::Etc::SourceList=${join(dir, 'sources.list')}`,
    '-o', `Dir::Etc::SourceParts=${join(dir, 'sources.list.d')}`,
    '-o', `Dir::State::Lists=${join(dir, 'lists')}`,
    '-o', `Dir::Cache=${join(dir, 'cache')}`,
    '-o', `Dir::State::status=${join(dir, 'status')}`,
    '-o', 'Acquire::Languages=none',
    // A private folder under a home directory is not readable by apt's unprivileged download user.
    '-o', 'APT::Sandbox::User=root',
  ];
  return { suite, dir, options };
}
