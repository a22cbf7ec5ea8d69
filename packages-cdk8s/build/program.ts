/**
 * Running a package program in a child process: Node 24 runs the TypeScript
 * directly (no ts-node, no compile step, no network needed), under the permission
 * model (reads only: no writes, no child processes, no addons), with a small
 * fixed environment (no credentials of the caller, UTC, C locale) so the output
 * depends on the sources alone. A fresh process per build also means every build
 * sees the files as they are now, which is what `trellis dev` relies on.
 */
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildPlan } from '../kit/index.ts';
import { PackageBuildError, type PackageBuildReason } from './errors.ts';

/** The entry file of a package folder when none is named. */
export const DEFAULT_ENTRY = 'package.ts';

/** What the child sends back. */
export type ChildMessage =
  | { readonly ok: true; readonly plan: BuildPlan }
  | { readonly ok: false; readonly reason: PackageBuildReason; readonly message: string };

/** Options for {@link runPackageProgram}. */
export interface RunProgramOptions {
  /** The entry file, relative to the package folder (default `package.ts`). */
  readonly entry?: string;
  /** Default 120 s. */
  readonly timeoutMs?: number;
  /** The Node.js binary (default: this process's, which must be 24+). */
  readonly nodePath?: string;
  /** Each line the program prints (console.log / console.error). */
  readonly onOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
  readonly signal?: AbortSignal;
}

/** The script that runs a package program in a child process (next to this module, in a checkout). */
const childScript = (): string => join(dirname(fileURLToPath(import.meta.url)), 'child.ts');
const OUTPUT_TAIL = 20;

/** The entry file of the package folder `dir`; throws PackageBuildError(EntryNotFound) when missing. */
export async function packageEntry(dir: string, entry = DEFAULT_ENTRY): Promise<string> {
  const file = isAbsolute(entry) ? entry : resolve(dir, entry);
  try {
    await access(file);
  } catch {
    throw new PackageBuildError('EntryNotFound', `${file} does not exist: a package folder needs a ${DEFAULT_ENTRY} that default-exports definePackage({...})`);
  }
  return file;
}

/** Runs the package program of `dir` in a child process and returns its bundle plan. */
export async function runPackageProgram(dir: string, opts: RunProgramOptions = {}): Promise<BuildPlan> {
  const entry = await packageEntry(dir, opts.entry);
  const node = opts.nodePath ?? process.execPath;
  if (opts.nodePath === undefined && Number(process.versions.node.split('.')[0]) < 24) {
    throw new PackageBuildError('NodeVersion', `package programs run with Node.js 24 or later (this is ${process.versions.node}); run trellis through its launcher`);
  }
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const child = spawn(node, ['--permission', '--allow-fs-read=*', '--disable-warning=ExperimentalWarning', childScript(), entry], {
    cwd: resolve(dir),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  });
  const tail: string[] = [];
  const lines = (stream: 'stdout' | 'stderr') => {
    let buffer = '';
    return (chunk: Buffer): void => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        tail.push(line);
        if (tail.length > OUTPUT_TAIL) tail.shift();
        opts.onOutput?.(line, stream);
      }
    };
  };
  child.stdout?.on('data', lines('stdout'));
  child.stderr?.on('data', lines('stderr'));

  return new Promise<BuildPlan>((resolvePlan, reject) => {
    let message: ChildMessage | undefined;
    let settled = false;
    const finish = (err: Error | undefined, plan?: BuildPlan): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (err) reject(err);
      else resolvePlan(plan!);
    };
    const timer = setTimeout(() => {
      finish(new PackageBuildError('Timeout', `the package program ${entry} did not finish within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    const onAbort = (): void => finish(new PackageBuildError('ProgramFailed', 'the build was cancelled'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('message', (m: ChildMessage) => {
      message = m;
      // The result is in; a program that left timers running is not waited for.
      if (m.ok) finish(undefined, m.plan);
      else finish(new PackageBuildError(m.reason, m.message));
    });
    child.on('error', (err) => finish(new PackageBuildError('ProgramFailed', `could not start ${node}: ${err.message}`)));
    // 'close', not 'exit': 'exit' can arrive before the last IPC message is read,
    // while 'close' waits for stdio and the IPC channel to end.
    child.on('close', (code, signal) => {
      if (message) return;
      const output = tail.length > 0 ? `:\n${tail.join('\n')}` : '';
      finish(new PackageBuildError('ProgramFailed', `the package program ${entry} exited (${signal ?? `code ${code}`}) without a result${output}`));
    });
  });
}
