/**
 * CPU time of processes as Linux reports it in `/proc/<pid>/stat`, read before
 * and after a measured span: which process spent the machine's cores on it.
 * On a machine of two cores a round that keeps about two busy is bound by CPU,
 * and its time follows the CPU every process spent on it, the apiserver's and
 * etcd's as much as the client's.
 */
import { readFileSync } from 'node:fs';
import { median } from './stats.ts';

/**
 * Clock ticks per second of the times in `/proc/<pid>/stat`: USER_HZ, which
 * Linux fixes at 100 for every architecture it reports to user space.
 */
const TICKS_PER_SECOND = 100;

/** CPU seconds of one process from its stat line. */
export interface ProcessCpu {
  /** User and system time of the process itself (all its threads). */
  readonly own: number;
  /** User and system time of its children that have ended and been waited for. */
  readonly children: number;
}

/** Raised for a stat line that is not one (a truncated read, another file). */
export class ProcStatError extends Error {
  override readonly name = 'ProcStatError';
}

/**
 * The CPU seconds of a `/proc/<pid>/stat` line. The command name (second field)
 * may hold spaces and parentheses, so the fields are counted from the last `)`.
 */
export function parseProcStat(text: string): ProcessCpu {
  const end = text.lastIndexOf(')');
  if (end < 0) throw new ProcStatError('no command name in the stat line');
  // After the name: state (field 3) first, so utime (field 14) is the 12th, then stime, cutime, cstime.
  const fields = text.slice(end + 1).trim().split(/\s+/);
  const ticks = fields.slice(11, 15).map(Number);
  if (ticks.length < 4 || ticks.some((t) => !Number.isInteger(t) || t < 0)) throw new ProcStatError('the stat line has no CPU times');
  const [utime, stime, cutime, cstime] = ticks as [number, number, number, number];
  return { own: (utime + stime) / TICKS_PER_SECOND, children: (cutime + cstime) / TICKS_PER_SECOND };
}

/** The CPU seconds of process `pid` so far, or undefined when it is gone. */
export function readProcessCpu(pid: number | 'self'): ProcessCpu | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** A process to account for, under the name a report gives it. */
export interface MeteredProcess {
  readonly name: string;
  readonly pid: number | 'self';
  /** Count the CPU of its ended children too (the benchmark's own process, whose children are kubectl runs). */
  readonly withChildren?: boolean;
}

/** CPU seconds by process name. */
export type CpuSnapshot = ReadonlyMap<string, number>;

/** The CPU seconds of each process now; a process that is gone is left out. */
export function cpuSnapshot(processes: readonly MeteredProcess[]): CpuSnapshot {
  const seen = new Map<string, number>();
  for (const p of processes) {
    const cpu = readProcessCpu(p.pid);
    if (cpu !== undefined) seen.set(p.name, (seen.get(p.name) ?? 0) + cpu.own + (p.withChildren ? cpu.children : 0));
  }
  return seen;
}

/** What each process spent between two snapshots (only processes seen in both). */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Map<string, number> {
  const spent = new Map<string, number>();
  for (const [name, seconds] of after) {
    const start = before.get(name);
    if (start !== undefined) spent.set(name, Math.max(0, seconds - start));
  }
  return spent;
}

/** The name of a control-plane process: its program's file name (`/proc/<pid>/cmdline`), or `pid <n>`. */
export function processName(pid: number): string {
  try {
    const program = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    return program.split('/').pop() || `pid ${pid}`;
  } catch {
    return `pid ${pid}`;
  }
}

/** One measured span: how long it took and what each process spent on it. */
export interface CpuRound {
  readonly ms: number;
  readonly cpu: ReadonlyMap<string, number>;
}

/**
 * `2.10 s (kube-apiserver 1.08 s, etcd 0.33 s, …), 1.87 cores busy`: the
 * median CPU of a contender's rounds in all and per process (largest first),
 * and the median of its rounds' CPU divided by their time. Undefined without
 * rounds.
 */
export function describeCpu(rounds: readonly CpuRound[]): string | undefined {
  if (rounds.length === 0) return undefined;
  const totals = rounds.map((r) => [...r.cpu.values()].reduce((a, b) => a + b, 0));
  const names = [...new Set(rounds.flatMap((r) => [...r.cpu.keys()]))];
  const perProcess = names.map((name) => ({ name, seconds: median(rounds.map((r) => r.cpu.get(name) ?? 0)) }))
    .filter((p) => p.seconds >= 0.005)
    .sort((a, b) => b.seconds - a.seconds);
  const busy = median(rounds.map((r, i) => (r.ms > 0 ? (totals[i] as number) / (r.ms / 1000) : 0)));
  return `${median(totals).toFixed(2)} s (${perProcess.map((p) => `${p.name} ${p.seconds.toFixed(2)} s`).join(', ')}), ${busy.toFixed(2)} cores busy`;
}
