/**
 * What `trellis up` keeps in its folder besides the cluster's and the
 * registry's own state: the ports it chose (reused on the next run when still
 * free, so `TRELLIS_REGISTRY` and artifact URLs stay the same), a lock naming
 * the running `up` process and its controllers (a second `up` on the same
 * folder is refused; controllers orphaned by a killed `up` are ended), the
 * shell-sourceable `env` file, and `bin/` with `trellis` and `kubectl-package`
 * for the PATH.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freePort, isAlive } from '../../hack/lib/processes.ts';

/** Ports kept from one run to the next. */
export interface UpPorts {
  /** The stable registry address users see in TRELLIS_REGISTRY. */
  registry?: number;
  /** The source controller's artifact server. */
  artifacts?: number;
}

/** Raised when another `trellis up` runs on the same folder. */
export class AlreadyRunningError extends Error {
  override readonly name = 'AlreadyRunningError';
}

const PORTS_FILE = 'ports.json';
const LOCK_FILE = 'up.json';

/** The ports recorded by the last run (empty when none). */
export function readPorts(dir: string): UpPorts {
  try {
    return JSON.parse(readFileSync(join(dir, PORTS_FILE), 'utf8')) as UpPorts;
  } catch {
    return {};
  }
}

/** Records the ports of this run. */
export function writePorts(dir: string, ports: UpPorts): void {
  writeFileSync(join(dir, PORTS_FILE), `${JSON.stringify(ports, null, 2)}\n`);
}

/** True when nothing listens on 127.0.0.1:`port` right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `preferred` when it is set and free, else a free port. */
export async function choosePort(preferred: number | undefined): Promise<number> {
  if (preferred !== undefined && preferred > 0 && await portIsFree(preferred)) return preferred;
  return freePort();
}

interface LockState {
  readonly pid: number;
  readonly controllers: readonly number[];
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/**
 * Takes the folder's lock for this process. A live `trellis up` holding it is an
 * {@link AlreadyRunningError}; controllers a dead holder left behind are killed
 * (only when their command line still names this folder, so a recycled pid is
 * never touched).
 */
export function takeLock(dir: string): void {
  const file = join(dir, LOCK_FILE);
  if (existsSync(file)) {
    let state: LockState | undefined;
    try {
      state = JSON.parse(readFileSync(file, 'utf8')) as LockState;
    } catch {
      state = undefined;
    }
    if (state && state.pid !== process.pid && isAlive(state.pid) && / up\b/.test(cmdlineOf(state.pid))) {
      throw new AlreadyRunningError(`trellis up is already running for ${dir} (pid ${state.pid}); stop it with Ctrl-C, or use another --dir`);
    }
    for (const pid of state?.controllers ?? []) {
      if (isAlive(pid) && cmdlineOf(pid).includes(dir)) process.kill(pid, 'SIGKILL');
    }
  }
  writeLock(dir, []);
}

/** Records the controllers' pids in the lock (for the next run to clean up after a crash). */
export function writeLock(dir: string, controllers: readonly number[]): void {
  const state: LockState = { pid: process.pid, controllers };
  writeFileSync(join(dir, LOCK_FILE), `${JSON.stringify(state)}\n`);
}

/** Releases the lock. */
export function releaseLock(dir: string): void {
  rmSync(join(dir, LOCK_FILE), { force: true });
}

/** A value as a single-quoted shell word. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** What the env file exports. */
export interface EnvFileInput {
  readonly kubeconfig: string;
  /** `127.0.0.1:<port>`; absent when running against an existing cluster. */
  readonly registry?: string | undefined;
  /** Folder with the `trellis` and `kubectl-package` wrappers. */
  readonly binDir: string;
}

/** The text of `<dir>/env` (POSIX shell). */
export function envFileText(input: EnvFileInput): string {
  return [
    '# Written by `trellis up`. Use it with: source <this file>',
    `export KUBECONFIG=${shellQuote(input.kubeconfig)}`,
    input.registry ? `export TRELLIS_REGISTRY=${shellQuote(input.registry)}` : '# no local registry: trellis up runs against an existing cluster',
    `export PATH=${shellQuote(input.binDir)}:"$PATH"`,
    '',
  ].join('\n');
}

/**
 * Writes `bin/trellis` and `bin/kubectl-package`: small shell wrappers that run
 * the CLI with this Node (24) directly, so they start fast and work from any
 * folder. kubectl finds `kubectl-package` on the PATH as the `package` plugin.
 */
export function writeBinWrappers(binDir: string, nodePath: string, cliEntry: string): void {
  mkdirSync(binDir, { recursive: true });
  const wrappers: Record<string, string> = {
    trellis: `exec ${shellQuote(nodePath)} ${shellQuote(cliEntry)} "$@"`,
    'kubectl-package': `exec ${shellQuote(nodePath)} ${shellQuote(cliEntry)} package "$@"`,
  };
  for (const [name, line] of Object.entries(wrappers)) {
    const file = join(binDir, name);
    writeFileSync(file, `#!/bin/sh\n# Written by \`trellis up\`.\n${line}\n`);
    chmodSync(file, 0o755);
  }
}
