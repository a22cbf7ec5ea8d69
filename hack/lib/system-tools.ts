/**
 * Finds the real components the local environment runs (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler, the Distribution registry) and obtains
 * the missing ones the way ENVIRONMENT.md describes: Debian packages, or a build of
 * Debian's kubernetes source package cached once per user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (the folder holding package.json). */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Kubernetes version built from Debian's source package. */
export const KUBERNETES_VERSION = '1.20.2';

/**
 * Bumped whenever hack/build-kubernetes.sh changes what it builds, so binaries
 * cached by an older script are never reused (r2: reflect2 1.0.2 swapped in).
 */
export const BUILD_REVISION = 'r2';

/** Where built binaries are cached for this user. */
export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'trellis');
}

/** Raised when a component cannot be obtained on this machine; the message says what to do. */
export class MissingToolError extends Error {
  override readonly name = 'MissingToolError';
}

function which(binary: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path ? path : undefined;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Returns the path of `binary`, installing Debian package `pkg` when it is missing
 * and we are root; otherwise fails with a message naming the package. Installs
 * take a lock file in the cache folder first and look again under it: test
 * processes running side by side would otherwise start apt-get together, and all
 * but one would fail on dpkg's lock.
 */
export function ensureDebianTool(binary: string, pkg: string, log: (line: string) => void): string {
  const found = which(binary);
  if (found) return found;
  if (!isRoot()) {
    throw new MissingToolError(`${binary} is not installed: run \`sudo apt-get install ${pkg}\` (Debian 12) and retry`);
  }
  log(`installing Debian package ${pkg} (for ${binary})`);
  mkdirSync(cacheDir(), { recursive: true });
  const install = 'command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }';
  execFileSync('flock', [join(cacheDir(), 'apt.lock'), 'sh', '-c', install, 'sh', binary, pkg], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const installed = which(binary);
  if (!installed) throw new MissingToolError(`installing ${pkg} did not provide ${binary}`);
  return installed;
}

/** Paths of the control-plane binaries. */
export interface KubeBinaries {
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
}

const KUBE_NAMES = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

/**
 * Locates the control-plane binaries: `KUBEBUILDER_ASSETS` first (the envtest
 * layout), then the per-user cache, building into the cache what is missing.
 */
export function ensureKubeBinaries(log: (line: string) => void): KubeBinaries {
  const assets = process.env.KUBEBUILDER_ASSETS;
  const cached = join(cacheDir(), `kubernetes-${KUBERNETES_VERSION}-${BUILD_REVISION}`, 'bin');
  const pick = (name: string): string | undefined => {
    if (assets && existsSync(join(assets, name))) return join(assets, name);
    if (existsSync(join(cached, name))) return join(cached, name);
    return undefined;
  };
  if (KUBE_NAMES.some((n) => !pick(n))) {
    if (!isRoot() && !which('go')) {
      throw new MissingToolError(
        'kube-apiserver, kube-controller-manager and kube-scheduler are not cached and cannot be built without root. ' +
        'Either run once as root (it builds them from Debian\'s kubernetes source package), or set KUBEBUILDER_ASSETS ' +
        'to a folder with etcd and kube-apiserver (envtest layout).');
    }
    mkdirSync(cached, { recursive: true });
    log(`building Kubernetes ${KUBERNETES_VERSION} control-plane binaries into ${cached} (once per machine)`);
    const lock = join(dirname(cached), 'build.lock');
    acquireDirLock(lock);
    try {
      const r = spawnSync('bash', [join(projectRoot, 'hack', 'build-kubernetes.sh'), cached], { stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.status !== 0) throw new MissingToolError(`building the Kubernetes binaries failed (exit ${r.status ?? r.signal})`);
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  const etcd = assets && existsSync(join(assets, 'etcd')) ? join(assets, 'etcd') : ensureDebianTool('etcd', 'etcd-server', log);
  const need = (name: string): string => {
    const p = pick(name);
    if (!p) throw new MissingToolError(`${name} is missing after the build`);
    return p;
  };
  return {
    etcd,
    kubeApiserver: need('kube-apiserver'),
    kubeControllerManager: need('kube-controller-manager'),
    kubeScheduler: need('kube-scheduler'),
  };
}

/** A crude cross-process lock: mkdir is atomic. Waits up to 30 minutes for a concurrent build. */
function acquireDirLock(path: string): void {
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      mkdirSync(path);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`lock ${path} held for too long; remove it if no build is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }
  }
}
