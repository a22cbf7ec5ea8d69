/**
 * Workload 9, program render (issue 15): the web example compiled into a
 * program bundle's script, rendered the way the apply controller renders it,
 * in a child process started for each round: the first render of the process
 * (cold: the QuickJS module compiled, a Worker, a fresh interpreter, the
 * program parsed and run), renders with new values in the warm process (each
 * still in a fresh sandbox), and renders of values rendered before (the render
 * cache answers). No cluster.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../hack/lib/system-tools.ts';
import { compileProgram } from '../../packages-cdk8s/build/compile.ts';
import { runNodeScript } from '../framework/commands.ts';
import { runAlternately, type Contender } from '../framework/rounds.ts';
import { formatDuration, formatMiB, median } from '../framework/stats.ts';
import { atMost, type BenchContext, type Workload, type WorkloadOutcome } from '../framework/workload.ts';

const WARM_RENDERS = 5;
const CACHED_RENDERS = 20;
const COLD = 'web example: render, first in a fresh process (cold)';
const WARM = `web example: render with new values, process warm (median of ${WARM_RENDERS})`;
const CACHED = `web example: render of values rendered before (cache, median of ${CACHED_RENDERS})`;
const GOAL = 'cold render ≤ 1 s on 2 cores';

/** What the child prints. */
interface ChildResult {
  readonly coldMs: number;
  readonly warmMs: readonly number[];
  readonly cachedMs: readonly number[];
  readonly misses: number;
  readonly hits: number;
  readonly programBytes: number;
  readonly rssBefore: number;
  readonly hwm: number;
}

async function run(ctx: BenchContext): Promise<WorkloadOutcome> {
  mkdirSync(ctx.dir, { recursive: true });
  const t0 = performance.now();
  const program = await compileProgram(join(projectRoot, 'packages-cdk8s', 'examples', 'web', 'package.ts'));
  const compileMs = performance.now() - t0;
  const file = join(ctx.dir, 'web.js');
  writeFileSync(file, program.source);
  const child = join(projectRoot, 'bench', 'child', 'program-render.ts');
  const seen: ChildResult[] = [];
  const loads: number[] = [];
  const contender: Contender = {
    name: 'Trellis (apply-controller/program: Worker + QuickJS sandbox)', role: 'trellis',
    metrics: { [COLD]: 'ms', [WARM]: 'ms', [CACHED]: 'ms' },
    async run() {
      loads.push(loadavg()[0]!);
      const r = await runNodeScript<ChildResult>(child, [file, String(WARM_RENDERS), String(CACHED_RENDERS)]);
      seen.push(r);
      return { [COLD]: r.coldMs, [WARM]: median([...r.warmMs]), [CACHED]: median([...r.cachedMs]) };
    },
  };
  const measurements = await runAlternately([contender], { rounds: ctx.rounds, log: ctx.log });
  const cold = measurements.find((m) => m.metric === COLD)?.samples ?? [];
  const last = seen.at(-1);
  return {
    measurements,
    goals: [atMost(COLD, GOAL, cold.length > 0 ? median(cold) : undefined, 1_000, formatDuration)],
    notes: [
      `The program is ${((last?.programBytes ?? 0) / 1024).toFixed(0)} KiB (esbuild, minified; compiled once by the benchmark in ${formatDuration(compileMs)}). `
        + 'Each round is a new Node process: the cold render includes compiling the QuickJS WebAssembly module, which a controller does once; '
        + 'every later render with new values still starts a Worker and a fresh interpreter and parses the program (nothing of a render is reused but the compiled module). '
        + `The child's render cache saw ${last?.misses ?? '?'} renders and ${last?.hits ?? '?'} hits per round; `
        + `its peak RSS was ${formatMiB(median(seen.map((r) => r.hwm)))} (${formatMiB(median(seen.map((r) => r.rssBefore)))} before the first render). `
        + `1-minute load average when the rounds started: ${loads.map((l) => l.toFixed(1)).join(', ')}.`,
    ],
  };
}

/** Workload 9. */
export const workload: Workload = {
  name: 'program-render',
  number: 9,
  title: 'Program render',
  description: 'The web example as a program (issue 15), rendered in the sandbox in a fresh process: cold (first render), warm (new values), cached (same values).',
  goal: GOAL,
  defaultRounds: 5,
  run,
};
