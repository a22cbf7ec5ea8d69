/**
 * What `npm test` says when AVA stops printing: which test files still run, how
 * many of their tests reported, what keeps each worker's event loop alive, the
 * state of AVA's own process, and how loaded the machine is. Each test worker
 * (test/support/worker.ts) leaves a marker naming its file and answers SIGUSR2
 * with its active resources; this reads them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The folder of worker markers inside a test run's folder. */
export function workersDir(runDir: string): string {
  return join(runDir, 'workers');
}

/**
 * True when AVA's `title` is a test of `file`. AVA names a test after its file's path
 * without the folders all the run's files share: `test/e2e/ui/dashboard.test.ts`
 * gives `e2e › ui › dashboard › …` in a whole run and `dashboard › …` alone.
 */
export function isTestOf(title: string, file: string): boolean {
  const parts = file.replace(/\.test\.ts$/, '').split('/');
  return parts.some((_, i) => title.startsWith(`${parts.slice(i).join(' › ')} › `));
}

/** `R (running)`, `S (sleeping) in ep_poll`…: a process's state and where the kernel holds it, or `gone`. */
function processState(pid: number): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const state = /^State:\s+(.+)$/m.exec(status)?.[1] ?? '?';
    const wchan = existsSync(`/proc/${pid}/wchan`) ? readFileSync(`/proc/${pid}/wchan`, 'utf8').trim() : '';
    return wchan && wchan !== '0' ? `${state} in ${wchan}` : state;
  } catch {
    return 'gone';
  }
}

/** `Timeout ×3, TCPSocketWrap ×2`. */
function countResources(text: string): string {
  const counts = new Map<string, number>();
  for (const name of text.split('\n').filter(Boolean)) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts].map(([name, n]) => `${name} ×${n}`).join(', ') || 'nothing';
}

function machineLine(): string {
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const available = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
  return `machine: load ${load}, ${available ? Math.round(Number(available) / 1024) : '?'} MiB available`;
}

/**
 * Describes a stalled AVA run, a line each. `reported` holds the titles AVA printed
 * an `ok`/`not ok` line for; `root` is the project root the file paths are relative to.
 */
export async function describeStall(opts: { runDir: string; avaPid: number | undefined; reported: readonly string[]; root: string }): Promise<string[]> {
  const lines = [machineLine()];
  if (opts.avaPid !== undefined) lines.push(`AVA (pid ${opts.avaPid}): ${processState(opts.avaPid)}`);
  const dir = workersDir(opts.runDir);
  const workers = (existsSync(dir) ? readdirSync(dir) : [])
    .filter((name) => /^\d+$/.test(name))
    .map((name) => ({ pid: Number(name), file: relative(opts.root, readFileSync(join(dir, name), 'utf8')) }))
    .filter((w) => processState(w.pid) !== 'gone');
  if (workers.length === 0) return [...lines, 'no test worker is running: AVA itself is stuck'];
  for (const w of workers) {
    try { process.kill(w.pid, 'SIGUSR2'); } catch { /* it just ended */ }
  }
  await sleep(2_000);
  for (const w of workers) {
    const done = opts.reported.filter((title) => isTestOf(title, w.file)).length;
    const resources = join(dir, `${w.pid}.resources`);
    const alive = existsSync(resources) ? countResources(readFileSync(resources, 'utf8')) : 'no answer to SIGUSR2';
    lines.push(`still running: ${w.file} (pid ${w.pid}, ${processState(w.pid)}; ${done} of its tests reported; keeping it alive: ${alive})`);
  }
  return lines;
}
