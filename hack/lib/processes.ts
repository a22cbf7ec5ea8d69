/**
 * Supervision of the local environment's child processes (etcd, kube-apiserver,
 * the registry, ...): start with output to a log file, stop with SIGTERM then
 * SIGKILL, and never leave one behind when this process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A child process owned by this process. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines the process wrote, for error messages. */
  tail(lines?: number): string;
}

/** Options for {@link startProcess}. */
export interface StartProcessOptions {
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last line of defence: whatever way this process ends, its children end too.
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Starts `command` with stdout and stderr appended to `opts.logFile`. */
export function startProcess(name: string, command: string, args: readonly string[],
  opts: StartProcessOptions): ManagedProcess {
  installExitHook();
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  // Its own process group: a Ctrl-C in the terminal reaches only our process,
  // which then stops the children in order (the node before the apiserver, the
  // apiserver before etcd) instead of all of them dying at once.
  const child = spawn(command, args, {
    env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  live.add(child);
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  // 'exit' can come before the last output has been read from the pipes: wait for
  // 'close' (bounded, since a grandchild may hold the pipes open) and for the log
  // file to be flushed, so whoever awaits `exited` reads everything the process wrote.
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      const result = code ?? signal ?? 1;
      const grace = new Promise<void>((r) => setTimeout(r, 2_000).unref());
      void Promise.race([closed, grace]).then(() => {
        log.end(() => resolve(result));
      });
    });
  });
  const pid = child.pid;
  return {
    name,
    pid,
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    tail(lines = 20) {
      try {
        return readFileSync(opts.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
  };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Options for {@link waitFor}. */
export interface WaitOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Fails the wait at once when this process exits first. */
  readonly process?: ManagedProcess;
}

/**
 * Polls `check` until it returns a value other than undefined/false, or throws
 * after `timeoutMs` with `what` and the last error in the message.
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>,
  opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  let processExit: number | NodeJS.Signals | undefined;
  void opts.process?.exited.then((code) => { processExit = code; });
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (processExit !== undefined && opts.process) {
      throw new Error(`${opts.process.name} exited (${processExit}) while waiting for ${what}:\n${opts.process.tail()}`);
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}

/** True when a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
