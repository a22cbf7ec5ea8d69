/**
 * Running peer tools (git, skopeo, oras, kubectl) and Node child scripts as
 * timed processes: wall time from spawn to exit, stdout kept, and the peak
 * memory (VmHWM) of the process read from /proc just before it is reaped.
 */
import { spawn } from 'node:child_process';
import { MemorySampler } from './memory.ts';

/** Raised when a command exits non-zero; the message ends with its stderr. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

/** The outcome of {@link runTimed}. */
export interface TimedRun {
  readonly ms: number;
  readonly stdout: string;
  /** Largest resident size seen (sampled every 50 ms), in bytes; 0 if it ended before the first sample. */
  readonly peakRss: number;
}

/** Options of {@link runTimed}. */
export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Killed (and the run failed) after this long; default 10 min. */
  readonly timeoutMs?: number;
}

/** Runs `command args`, resolves with its wall time; rejects with {@link CommandError} on a non-zero exit. */
export function runTimed(command: string, args: readonly string[], opts: RunOptions = {}): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const sampler = child.pid === undefined ? undefined : new MemorySampler([child.pid], 50);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      sampler?.stop();
      reject(new CommandError(`${command}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      const ms = performance.now() - started;
      clearTimeout(timer);
      const seen = sampler?.stop().get(child.pid ?? -1);
      const stdout = Buffer.concat(out).toString('utf8');
      if (code === 0) return resolve({ ms, stdout, peakRss: seen?.peak ?? 0 });
      const stderr = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-6).join('\n');
      reject(new CommandError(`${[command, ...args].join(' ').slice(0, 300)} exited ${code ?? signal ?? '?'}: ${stderr}`));
    });
  });
}

/** Runs a Node script (`.ts`, on this Node) that prints one JSON line at the end; resolves with it parsed. */
export async function runNodeScript<T>(script: string, args: readonly string[], opts: RunOptions = {}): Promise<T & { wallMs: number }> {
  const run = await runTimed(process.execPath, [script, ...args], opts);
  const last = run.stdout.trim().split('\n').pop() ?? '';
  try {
    return { ...(JSON.parse(last) as T), wallMs: run.ms };
  } catch {
    throw new CommandError(`${script} printed no JSON result: ${run.stdout.slice(-500)}`);
  }
}
