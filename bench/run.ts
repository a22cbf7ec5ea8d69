/**
 * `npm run bench [-- <workload>...] [--rounds N] [--objects N] [--large] [--skip-slow]`:
 * runs Trellis's benchmarks on the local environment (cluster, registry, Git
 * server, both controllers as processes, all started under a temporary folder
 * and stopped at the end), prints one markdown table and writes the same
 * figures as JSON to `.bench-results/latest.json` (and `.md`).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { projectRoot } from '../hack/lib/system-tools.ts';
import { Environment } from './framework/environment.ts';
import { machineHeader } from './framework/header.ts';
import { renderReport, reportJson, type RunHeader, type WorkloadReport } from './framework/report.ts';
import { NotRunError, type BenchContext, type BenchOptions, type Workload } from './framework/workload.ts';
import { workloads } from './workloads/index.ts';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

/** The command line. */
function benchCommand(): Command {
  return new Command()
    .name('bench')
    .description(`Trellis benchmarks against real peers. Workloads: ${workloads.map((w) => w.name).join(', ')} (default: all).`)
    .argument('[workloads...]', 'workloads to run, by name or number')
    .option('--rounds <n>', 'rounds of every workload (default: each workload\'s own)', positiveInt)
    .option('--objects <n>', 'ConfigMaps of the cold-apply Package', positiveInt, 1_000)
    .option('--large', 'also run the cold apply with 5,000 objects (several minutes more)', false)
    .option('--skip-slow', 'leave out measurements that wait for a default poll interval (5 min)', false)
    .option('--out <dir>', 'folder for latest.json and latest.md', join(projectRoot, '.bench-results'))
    .option('--keep', 'keep the temporary folder (logs of the controllers and servers)', false)
    .option('--controller-log-level <level>', 'log level of both controllers (debug to profile a workload)', 'info')
    .option('--controller-flags <flags>', 'extra flags for both controllers, space-separated (diagnostics; the header says so)', '');
}

function select(names: readonly string[]): Workload[] {
  if (names.length === 0) return [...workloads];
  return names.map((name) => {
    const found = workloads.find((w) => w.name === name || String(w.number) === name);
    if (!found) throw new InvalidArgumentError(`no workload ${JSON.stringify(name)} (there are: ${workloads.map((w) => w.name).join(', ')})`);
    return found;
  });
}

const log = (line: string): void => { process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`); };

/** The context a workload's prepare and run get. */
function contextFor(w: Workload, env: Environment, options: BenchOptions, dir: string): BenchContext {
  const rounds = options.rounds ?? w.defaultRounds;
  return { rounds, options, dir: join(dir, w.name), env, log: (l) => log(`${w.name}: ${l}`) };
}

async function runWorkload(w: Workload, ctx: BenchContext): Promise<WorkloadReport> {
  const started = performance.now();
  log(`== ${w.number} ${w.title} (${ctx.rounds} round${ctx.rounds === 1 ? '' : 's'})`);
  const base = { number: w.number, name: w.name, title: w.title, goal: w.goal, rounds: ctx.rounds };
  try {
    const outcome = await w.run(ctx);
    return { ...base, status: 'ok', outcome, durationMs: performance.now() - started };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const status = err instanceof NotRunError ? 'not-run' : 'failed';
    log(`${w.name} ${status === 'not-run' ? 'not run' : 'FAILED'}: ${message}`);
    if (status === 'failed' && err instanceof Error && err.stack) log(err.stack);
    return { ...base, status, reason: message.split('\n')[0]!.slice(0, 300), durationMs: performance.now() - started };
  }
}

async function main(): Promise<number> {
  const program = benchCommand().exitOverride();
  try {
    program.parse(process.argv.slice(2), { from: 'user' });
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode;
    return typeof code === 'number' ? code : 2;
  }
  const o = program.opts<{ rounds?: number; objects: number; large: boolean; skipSlow: boolean; out: string; keep: boolean; controllerLogLevel: string; controllerFlags: string }>();
  let selected: Workload[];
  try {
    selected = select(program.args);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const options: BenchOptions = { rounds: o.rounds, objects: o.objects, large: o.large, skipSlow: o.skipSlow };
  const header = machineHeader();
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-'));
  const controllerArgs = o.controllerFlags.split(/\s+/).filter((a) => a !== '');
  const env = new Environment(dir, log, { controllerLogLevel: o.controllerLogLevel, controllerArgs });
  log(`running ${selected.map((w) => w.name).join(', ')} in ${dir}`);
  const reports: WorkloadReport[] = [];
  const stop = async (): Promise<void> => {
    await env.stop();
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  };
  // Ctrl-C: stop what was started (the process harness kills any child left).
  const onSignal = (): void => { void stop().finally(() => process.exit(130)); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const ordered = [...selected].sort((a, b) => runOrder(a) - runOrder(b));
    const contexts = new Map(ordered.map((w) => [w, contextFor(w, env, options, dir)]));
    let prepared = false;
    for (const w of ordered) {
      if (!prepared && runOrder(w) >= PREPARE_AT) {
        // Measurements that mostly wait start now and wait while the workloads before theirs run.
        for (const p of ordered) p.prepare?.(contexts.get(p)!);
        prepared = true;
      }
      reports.push(await runWorkload(w, contexts.get(w)!));
    }
  } finally {
    const kubernetes = await env.clusterVersion();
    await stop();
    const final: RunHeader = {
      ...header, loadAtEnd: loadavg(), durationMs: performance.now() - started,
      ...(kubernetes ? { kubernetes } : {}),
      ...(controllerArgs.length > 0 ? { controllerFlags: controllerArgs.join(' ') } : {}),
    };
    const markdown = renderReport(final, reports);
    process.stdout.write(`\n${markdown}`);
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, 'latest.json'), `${JSON.stringify(reportJson(final, reports), null, 2)}\n`);
    writeFileSync(join(o.out, 'latest.md'), markdown);
    log(`wrote ${join(o.out, 'latest.json')} and latest.md`);
  }
  return reports.some((r) => r.status === 'failed') ? 1 : 0;
}

/**
 * Library-only workloads first (they need no cluster); then many packages,
 * which restarts the controllers for a clean memory reading; then the rest in
 * issue order. Background measurements start after the restart, so none of
 * them sees the controllers restart.
 */
const ORDER = ['git', 'oci', 'many-packages', 'cold-apply', 'noop-reconcile', 'drift', 'commit-to-applied'];
/** Where in {@link ORDER} the prepare hooks run. */
const PREPARE_AT = ORDER.indexOf('cold-apply');

function runOrder(w: Workload): number {
  const i = ORDER.indexOf(w.name);
  return i === -1 ? ORDER.length + w.number : i;
}

process.exitCode = await main();
