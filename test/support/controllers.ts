/**
 * Controllers as separate processes for e2e tests: `startController` runs a
 * controller's `main.ts` on this Node (24) with the given flags, its stdout and
 * stderr appended to a log file in a fresh folder under the run folder, and
 * waits until the process says it is running. The log is pino JSON; `lines()`
 * parses it and `waitForLine` waits for a line to appear. Every controller a
 * test file started is stopped when the file ends (`withControllers(test)`),
 * and the process harness kills any left when the test process exits.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestFn } from 'ava';
import { startProcess, type ManagedProcess } from '../../hack/lib/processes.ts';
import { projectRoot } from '../../hack/lib/system-tools.ts';
import { scratchDir } from './cluster.ts';

/** One parsed JSON log line (non-JSON lines come back as `{ msg: <text>, raw: true }`). */
export interface LogLine {
  readonly level?: string;
  readonly msg?: string;
  readonly raw?: boolean;
  readonly [field: string]: unknown;
}

/** Options of {@link startController}. */
export interface StartControllerOptions {
  /** The script, relative to the project root: `source-controller/main.ts`. */
  readonly entry: string;
  /** Flags for the controller. */
  readonly args?: readonly string[];
  /** Added to this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Prefix of the log folder (default: the entry's folder name). */
  readonly name?: string;
  /**
   * When the controller counts as started (default: a line whose `msg` is
   * `controllers running`, which the runtime Manager logs once caches synced).
   */
  readonly readyWhen?: (line: LogLine) => boolean;
  /** How long to wait for `readyWhen` (default 60 s). */
  readonly startTimeoutMs?: number;
}

/** A running controller process. */
export interface RunningController {
  readonly pid: number;
  /** The file stdout and stderr go to. */
  readonly logFile: string;
  /** The folder of this controller's log (free for the test to use, e.g. for storage). */
  readonly dir: string;
  /** Resolves with the exit code (or signal) once the process ended. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** Every log line so far. */
  lines(): LogLine[];
  /** Waits until a line matches (looking at lines already written too) and returns it. */
  waitForLine(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM (graceful), SIGKILL after `graceMs` (default 15 s); resolves once it exited, with its exit code or signal. */
  stop(graceMs?: number): Promise<number | NodeJS.Signals>;
  /** SIGKILL at once (a crash); resolves once it exited. */
  kill(): Promise<void>;
}

/** Raised when a controller exits or never says it is running; carries the end of its log. */
export class ControllerStartError extends Error {
  override readonly name = 'ControllerStartError';
}

const running = new Set<RunningController>();

function parseLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed: unknown = JSON.parse(line);
      out.push(typeof parsed === 'object' && parsed !== null ? parsed as LogLine : { msg: line, raw: true });
    } catch {
      out.push({ msg: line, raw: true });
    }
  }
  return out;
}

function tailOf(logFile: string, lines = 30): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Starts a controller process and resolves once it is running. */
export async function startController(opts: StartControllerOptions): Promise<RunningController> {
  const entry = resolve(projectRoot, opts.entry);
  if (!existsSync(entry)) throw new ControllerStartError(`no such entry point: ${opts.entry}`);
  const name = opts.name ?? opts.entry.split('/')[0] ?? 'controller';
  const dir = scratchDir(name);
  const logFile = join(dir, 'controller.log');
  const proc: ManagedProcess = startProcess(name, process.execPath, [entry, ...(opts.args ?? [])], {
    logFile, cwd: projectRoot, env: { ...process.env, ...opts.env },
  });
  let exitCode: number | NodeJS.Signals | undefined;
  void proc.exited.then((code) => { exitCode = code; });
  const lines = (): LogLine[] => (existsSync(logFile) ? parseLines(readFileSync(logFile, 'utf8')) : []);
  const waitForLine = async (match: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines().find(match);
      if (found) return found;
      if (exitCode !== undefined) {
        throw new ControllerStartError(`${name} exited (${exitCode}) before the awaited log line:\n${tailOf(logFile)}`);
      }
      if (Date.now() > deadline) throw new ControllerStartError(`${name}: awaited log line not seen within ${timeoutMs} ms:\n${tailOf(logFile)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const controller: RunningController = {
    pid: proc.pid,
    logFile,
    dir,
    exited: proc.exited,
    lines,
    waitForLine,
    async stop(graceMs = 15_000) {
      running.delete(controller);
      await proc.stop(graceMs);
      return proc.exited;
    },
    async kill() {
      running.delete(controller);
      if (exitCode === undefined) process.kill(proc.pid, 'SIGKILL');
      await proc.exited;
    },
  };
  running.add(controller);
  try {
    await waitForLine(opts.readyWhen ?? ((l) => l.msg === 'controllers running'), opts.startTimeoutMs ?? 60_000);
  } catch (err) {
    await controller.kill();
    throw err;
  }
  return controller;
}

/** Stops every controller this file started (gracefully, then by force). */
export async function releaseControllers(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((c) => c.stop(5_000)));
}

/** Registers the controller cleanup hook on an AVA test function and returns it. */
export function withControllers<T>(test: TestFn<T>): TestFn<T> {
  test.after.always(releaseControllers);
  return test;
}
