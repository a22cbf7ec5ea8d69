/**
 * Real peer clients for interop tests and benchmarks: `oras`, `cosign` and `kustomize` from
 * Debian 13 (trixie) packages, whose static binaries run on Debian 12. They are
 * downloaded with apt through a private state folder that points the machine's
 * own Debian archive at another suite, and unpacked with `dpkg -x` into
 * `.tools/peers`: nothing is installed system-wide and the system's apt
 * configuration is not touched.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { preparePrivateAptState, type PrivateAptState } from '../cli/image/apt-suite.ts';
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
 * state folder next to `dest` (cli/image/apt-suite.ts, which the image builder
 * uses too), so the system's package lists stay as they are.
 */
export function unpackDebianPackages(opts: UnpackOptions): void {
  let state: PrivateAptState;
  try {
    state = preparePrivateAptState(`${opts.dest}.apt`, opts.suite);
  } catch (err) {
    throw new MissingToolError((err as Error).message);
  }
  const downloads = join(state.dir, 'debs');
  rmSync(downloads, { recursive: true, force: true });
  mkdirSync(downloads, { recursive: true });
  const run = (args: readonly string[], cwd?: string): void => {
    try {
      execFileSync('apt-get', [...state.options, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
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
  rmSync(state.dir, { recursive: true, force: true });
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
