/**
 * Workload 5, Git: fetching a repo of 2,000 files (~10 MB) from the local Git
 * server the way the source-controller does (resolve, shallow fetch, checkout,
 * pack the artifact), against `git clone --depth 1 --single-branch`; and the
 * no-op poll (one ref listing) against `git ls-remote`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pushCommit } from '../../hack/git-fixtures.ts';
import { projectRoot } from '../../hack/lib/system-tools.ts';
import { runNodeScript, runTimed } from '../framework/commands.ts';
import { runAlternately, type Contender } from '../framework/rounds.ts';
import { formatDuration, formatRatio, median, ratio } from '../framework/stats.ts';
import { atMost, type BenchContext, type Workload, type WorkloadOutcome } from '../framework/workload.ts';

const FILES = 2_000;
const FILE_BYTES = 5 * 1024;
const POLLS_PER_ROUND = 5;
const FETCH = `fetch ${FILES.toLocaleString('en')} files (${Math.round((FILES * FILE_BYTES) / 1024 / 1024)} MiB)`;
const POLL = 'no-op poll';

/** Files of the benchmark repo: text lines of random base64 (git compresses it to about 3/4), 100 per folder. */
function repoFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < FILES; i++) {
    const body = randomBytes(Math.ceil((FILE_BYTES * 3) / 4)).toString('base64').slice(0, FILE_BYTES - 1).replace(/(.{76})/g, '$1\n');
    files[`d${String(Math.floor(i / 100)).padStart(2, '0')}/f${String(i).padStart(4, '0')}.txt`] = `${body}\n`;
  }
  return files;
}

/** A git environment without the machine's configuration. */
const gitEnv: NodeJS.ProcessEnv = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' };

interface FetchResult {
  ms: number;
  resolveMs: number;
  fetchMs: number;
  packMs: number;
  artifactBytes: number;
  rssBefore: number;
  hwm: number;
}

async function run(ctx: BenchContext): Promise<WorkloadOutcome> {
  const server = await ctx.env.git();
  ctx.log(`pushing a repo of ${FILES} files`);
  await pushCommit(server, 'bench-2000', { files: repoFiles(), message: '2,000 files' });
  const url = server.repoUrl('bench-2000');
  const fetchChild = join(projectRoot, 'bench', 'child', 'git-fetch.ts');
  const pollChild = join(projectRoot, 'bench', 'child', 'git-poll.ts');
  const breakdown: FetchResult[] = [];
  let n = 0;
  const scratch = (): string => join(ctx.dir, `run-${++n}`);

  const contenders: Contender[] = [
    {
      name: 'Trellis (resolveRef + fetchTree + packTree)', role: 'trellis', metrics: { [FETCH]: 'ms' },
      async run() {
        const r = await runNodeScript<FetchResult>(fetchChild, [url, 'main', scratch()]);
        breakdown.push(r);
        return { [FETCH]: r.ms };
      },
    },
    {
      name: 'git clone --depth 1 --single-branch', role: 'peer', metrics: { [FETCH]: 'ms' },
      async run() {
        const dir = scratch();
        const r = await runTimed('git', ['clone', '--quiet', '--depth', '1', '--single-branch', '--branch', 'main', url, dir], { env: gitEnv });
        rmSync(dir, { recursive: true, force: true });
        return { [FETCH]: r.ms };
      },
    },
    {
      name: `Trellis (resolveRef, warm process, median of ${POLLS_PER_ROUND})`, role: 'trellis', metrics: { [POLL]: 'ms' },
      async run() {
        const r = await runNodeScript<{ samples: number[] }>(pollChild, [url, 'main', String(POLLS_PER_ROUND)]);
        return { [POLL]: median(r.samples) };
      },
    },
    {
      name: `git ls-remote (median of ${POLLS_PER_ROUND})`, role: 'peer', metrics: { [POLL]: 'ms' },
      async run() {
        const times: number[] = [];
        for (let i = 0; i < POLLS_PER_ROUND; i++) times.push((await runTimed('git', ['ls-remote', url, 'refs/heads/main'], { env: gitEnv })).ms);
        return { [POLL]: median(times) };
      },
    },
  ];
  mkdirSync(ctx.dir, { recursive: true });
  const measurements = await runAlternately(contenders, { rounds: ctx.rounds, warmup: 1, log: ctx.log });

  const mine = (metric: string, role: string): number | undefined => {
    const m = measurements.find((x) => x.metric === metric && x.role === role);
    return m && m.samples.length > 0 ? median(m.samples) : undefined;
  };
  const fetchRatio = ratio(mine(FETCH, 'trellis') ?? Number.NaN, mine(FETCH, 'peer') ?? Number.NaN);
  const pollRatio = ratio(mine(POLL, 'trellis') ?? Number.NaN, mine(POLL, 'peer') ?? Number.NaN);
  const recorded = breakdown.slice(1); // the warm-up run is not part of the figures
  const part = (f: (r: FetchResult) => number): string => formatDuration(median(recorded.map(f)));
  return {
    measurements,
    goals: [
      atMost(FETCH, '≤ 2× git clone', fetchRatio, 2, formatRatio),
      atMost(POLL, '≤ 1.5× git ls-remote', pollRatio, 1.5, formatRatio),
    ],
    notes: recorded.length === 0 ? [] : [
      `Trellis fetch breakdown (medians): resolve ${part((r) => r.resolveMs)}, fetch + checkout ${part((r) => r.fetchMs)}, `
        + `pack ${part((r) => r.packMs)} (artifact ${(median(recorded.map((r) => r.artifactBytes)) / 1024 / 1024).toFixed(1)} MiB); `
        + `peak RSS of the fetching process ${(median(recorded.map((r) => r.hwm)) / 1024 / 1024).toFixed(0)} MiB. `
        + 'Trellis is timed inside its process from the first call (Node start-up and module loading excluded: a controller is long-running); git includes its own process start-up. '
        + 'Both talk to the same git http-backend server, which runs in the benchmark process.',
    ],
  };
}

/** Workload 5. */
export const workload: Workload = {
  name: 'git',
  number: 5,
  title: 'Git fetch and poll',
  description: `A repo of ${FILES} files (~10 MB) on the local Git server: the source-controller's fetch (resolve, shallow fetch, checkout, deterministic tar.gz) vs git clone --depth 1 --single-branch; a no-op poll (one ref listing) vs git ls-remote.`,
  goal: 'fetch ≤ 2× git\'s time; no-op poll ≤ 1.5× ls-remote',
  defaultRounds: 5,
  run,
};
