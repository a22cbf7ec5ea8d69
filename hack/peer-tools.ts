/**
 * Real peer clients for interop tests and benchmarks: `oras`, `cosign` and `kustomize` from
 * Debian 13 (trixie) packages, whose static binaries run on Debian 12. They are
 * downloaded with apt through a private state folder that points the machine's
 * own Debian archive at another suite, and unpacked with `dpkg -x` into
 * `.tools/peers`: nothing is installed system-wide and the system's apt
 * configuration is not touched.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from './lib/processes.ts';
import { ensureDebianTool, MissingToolError, projectRoot } from './lib/system-tools.ts';

/** Paths of the peer binaries. */
export interface PeerTools {
  readonly oras: string;
  readonly cosign: string;
}

/** The folder peer tools are unpacked into. */
export const peerToolsDir = join(projectRoot, '.tools', 'peers');

/** The Debian suite the peers come from (oras and cosign are not in Debian 12). */
const PEER_SUITE = 'trixie';

const defaultLog = (line: string): void => { process.stderr.write(`[trellis] ${line}\n`); };

/** Returns the paths of oras and cosign, downloading and unpacking them once. */
export function ensurePeerTools(log: (line: string) => void = defaultLog): PeerTools {
  const root = join(peerToolsDir, PEER_SUITE);
  const tools: PeerTools = { oras: join(root, 'usr', 'bin', 'oras'), cosign: join(root, 'usr', 'bin', 'cosign') };
  const ready = (): boolean => [tools.oras, tools.cosign].every(isExecutable);
  if (ready()) return tools;
  withLock(join(peerToolsDir, 'lock'), () => {
    if (ready()) return; // another process unpacked them while we waited
    unpackDebianPackages({ suite: PEER_SUITE, packages: ['oras', 'cosign'], dest: root, log });
  });
  for (const [name, path] of [['oras', tools.oras], ['cosign', tools.cosign]] as const) {
    if (!isExecutable(path)) throw new MissingToolError(`the ${PEER_SUITE} package ${name} did not contain ${path}`);
  }
  return tools;
}

/**
 * Returns the path of `kustomize` (5.6 from trixie, a static binary), downloading
 * and unpacking it once next to oras and cosign. Integration tests render
 * overlays with it and compare with its own `kustomize build` output.
 */
export function ensureKustomize(log: (line: string) => void = defaultLog): string {
  const root = join(peerToolsDir, PEER_SUITE);
  const path = join(root, 'usr', 'bin', 'kustomize');
  if (isExecutable(path)) return path;
  withLock(join(peerToolsDir, 'lock'), () => {
    if (isExecutable(path)) return;
    unpackDebianPackages({ suite: PEER_SUITE, packages: ['kustomize'], dest: root, log });
  });
  if (!isExecutable(path)) throw new MissingToolError(`the ${PEER_SUITE} package kustomize did not contain ${path}`);
  return path;
}

/** Path of skopeo (Debian 12 has it), the baseline for OCI pull speed. */
export function ensureSkopeo(log: (line: string) => void = defaultLog): string {
  return ensureDebianTool('skopeo', 'skopeo', log);
}

/** Options for {@link unpackDebianPackages}. */
export interface UnpackOptions {
  /** Debian suite to download from (`bookworm`, `trixie`, ...), on the machine's own archive. */
  readonly suite: string;
  readonly packages: readonly string[];
  /** Folder the packages' file trees are unpacked into (`dest/usr/bin/...`). */
  readonly dest: string;
  readonly log: (line: string) => void;
}

/**
 * Downloads Debian packages (without their dependencies) from `suite` of the
 * machine's Debian archive and unpacks them into `dest`. Uses apt with a private
 * state folder next to `dest`, so the system's package lists stay as they are.
 */
export function unpackDebianPackages(opts: UnpackOptions): void {
  const archive = debianArchive();
  const state = `${opts.dest}.apt`;
  const downloads = join(state, 'debs');
  rmSync(downloads, { recursive: true, force: true });
  for (const d of ['lists/partial', 'sources.list.d', 'cache/archives/partial', 'debs']) mkdirSync(join(state, d), { recursive: true });
  writeFileSync(join(state, 'sources.list.d', 'peers.sources'), [
    'Types: deb', `URIs: ${archive.uri}`, `Suites: ${opts.suite}`, 'Components: main',
    ...(archive.signedBy ? [`Signed-By: ${archive.signedBy}`] : []), '',
  ].join('\n'));
  writeFileSync(join(state, 'sources.list'), '');
  // An empty dpkg status: what the machine has installed must not decide which version is downloaded.
  writeFileSync(join(state, 'status'), '');
  const aptOptions = [
    '-o', `Dir::Etc::SourceList=${join(state, 'sources.list')}`,
    '-o', `Dir::Etc::SourceParts=${join(state, 'sources.list.d')}`,
    '-o', `Dir::State::Lists=${join(state, 'lists')}`,
    '-o', `Dir::Cache=${join(state, 'cache')}`,
    '-o', `Dir::State::status=${join(state, 'status')}`,
    '-o', 'Acquire::Languages=none',
    // The private folder is not readable by apt's unprivileged download user.
    '-o', 'APT::Sandbox::User=root',
  ];
  const run = (args: readonly string[], cwd?: string): void => {
    try {
      execFileSync('apt-get', [...aptOptions, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
      throw new MissingToolError(`apt-get ${args.join(' ')} (suite ${opts.suite}) failed${stderr ? `: ${stderr}` : ''}`);
    }
  };
  opts.log(`downloading ${opts.packages.join(', ')} from Debian ${opts.suite} (once, into ${opts.dest})`);
  run(['update', '-qq']);
  run(['download', '-qq', ...opts.packages], downloads);
  const debs = readdirSync(downloads).filter((f) => f.endsWith('.deb'));
  if (debs.length < opts.packages.length) throw new MissingToolError(`apt-get download gave ${debs.join(', ') || 'nothing'}`);
  mkdirSync(opts.dest, { recursive: true });
  for (const deb of debs) execFileSync('dpkg', ['-x', join(downloads, deb), opts.dest], { stdio: ['ignore', 'ignore', 'pipe'] });
  opts.log(`unpacked ${debs.join(', ')}`);
  // The package lists (tens of MB) are only needed for the download.
  rmSync(state, { recursive: true, force: true });
}

/** The machine's main Debian archive, from its apt sources (never hard-coded). */
export function debianArchive(): { uri: string; signedBy?: string } {
  const dir = '/etc/apt/sources.list.d';
  const entries: { uri: string; suites: string[]; signedBy?: string }[] = [];
  for (const file of existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.sources')) : []) {
    for (const stanza of readFileSync(join(dir, file), 'utf8').split(/\n\s*\n/)) {
      const field = (name: string): string | undefined =>
        new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim();
      if (!(field('Types') ?? '').split(/\s+/).includes('deb') || /^Enabled:\s*no/mi.test(stanza)) continue;
      const uri = field('URIs')?.split(/\s+/)[0];
      if (!uri) continue;
      const signedBy = field('Signed-By');
      entries.push({ uri, suites: (field('Suites') ?? '').split(/\s+/), ...(signedBy ? { signedBy } : {}) });
    }
  }
  if (existsSync('/etc/apt/sources.list')) {
    for (const line of readFileSync('/etc/apt/sources.list', 'utf8').split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
      if (m?.[1] && m[2]) entries.push({ uri: m[1], suites: [m[2]] });
    }
  }
  // The main archive carries the release suite itself (`bookworm`), not only `-security`/`-updates`.
  const main = entries.find((e) => e.suites.some((s) => /^[a-z]+$/.test(s)) && !/security/.test(e.uri));
  if (!main) throw new MissingToolError('no Debian archive found in the apt sources of this machine');
  return main.signedBy ? { uri: main.uri, signedBy: main.signedBy } : { uri: main.uri };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `fn` holding a cross-process lock (an atomic mkdir with the owner's pid
 * inside). A lock left by a dead process is taken over.
 */
function withLock(path: string, fn: () => void): void {
  mkdirSync(join(path, '..'), { recursive: true });
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(path);
      writeFileSync(join(path, 'pid'), String(process.pid));
      break;
    } catch {
      const owner = Number(readFileIfAny(join(path, 'pid')));
      if (owner > 0 && !isAlive(owner)) {
        rmSync(path, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`lock ${path} held for too long; remove it if no download is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
  try {
    fn();
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}

function readFileIfAny(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
