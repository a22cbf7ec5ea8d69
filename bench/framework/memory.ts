/**
 * Memory of processes as Linux reports it in `/proc/<pid>/status`: VmRSS (the
 * resident set now) and VmHWM (its peak since the process started). A sampler
 * reads them periodically for a set of processes, so a peak is known even for a
 * process that is gone by the time the benchmark asks.
 */
import { readFileSync } from 'node:fs';

/** Memory of one process, in bytes. */
export interface ProcessMemory {
  /** Resident set size now. */
  readonly rss: number;
  /** Peak resident set size since the process started. */
  readonly hwm: number;
}

/** Raised when a status file lacks the VmRSS/VmHWM lines (a kernel thread, a zombie). */
export class ProcStatusError extends Error {
  override readonly name = 'ProcStatusError';
}

function kib(text: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s*(\\d+)\\s*kB\\s*$`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** VmRSS and VmHWM of a `/proc/<pid>/status` text. */
export function parseProcStatus(text: string): ProcessMemory {
  const rss = kib(text, 'VmRSS');
  const hwm = kib(text, 'VmHWM');
  if (rss === undefined || hwm === undefined) throw new ProcStatusError('no VmRSS/VmHWM in the status (not a user process?)');
  return { rss, hwm };
}

/** The memory of process `pid` now, or undefined when it is gone. */
export function readProcessMemory(pid: number | 'self'): ProcessMemory | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return parseProcStatus(text);
  } catch {
    return undefined;
  }
}

/** What a sampler saw of one process. */
export interface SampledMemory {
  /** The first resident size seen. */
  readonly first: number;
  /** The largest of every VmRSS sampled and the last VmHWM read: the peak since the process started. */
  readonly peak: number;
  /**
   * The largest VmRSS sampled: the peak while this sampler ran (a spike
   * between two samples can be missed), for one phase of a longer-lived process.
   */
  readonly maxRss: number;
  /** The last resident size seen. */
  readonly last: number;
  readonly samples: number;
}

/** Samples the memory of some processes every `intervalMs` until stopped. */
export class MemorySampler {
  readonly #pids: readonly number[];
  readonly #seen = new Map<number, { first: number; peak: number; maxRss: number; last: number; samples: number }>();
  readonly #timer: NodeJS.Timeout;

  constructor(pids: readonly number[], intervalMs = 200) {
    this.#pids = pids;
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  /** Reads every process once more (also called by the timer). */
  sample(): void {
    for (const pid of this.#pids) {
      const mem = readProcessMemory(pid);
      if (!mem) continue;
      const prev = this.#seen.get(pid);
      const peak = Math.max(prev?.peak ?? 0, mem.rss, mem.hwm);
      const maxRss = Math.max(prev?.maxRss ?? 0, mem.rss);
      this.#seen.set(pid, { first: prev?.first ?? mem.rss, peak, maxRss, last: mem.rss, samples: (prev?.samples ?? 0) + 1 });
    }
  }

  /** Stops sampling and returns what was seen, per pid (pids never seen are left out). */
  stop(): Map<number, SampledMemory> {
    this.sample();
    clearInterval(this.#timer);
    return new Map(this.#seen);
  }
}
