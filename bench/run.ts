/**
 * `npm run bench [-- <workload>...] [--only a,b] [--objects 1000,5000] [--packages N]
 * [--large-objects N] [--rounds N] [--smoke] [--skip-slow]`: runs Trellis's
 * benchmarks on the local environment (cluster, registry, Git server, both
 * controllers as processes, all started under a temporary folder and stopped
 * at the end), prints one markdown table and writes the same figures as JSON
 * to `.bench-results/latest.json` (and `.md`).
 *
 * A full run at the goals' sizes takes about half an hour on 2 cores when the
 * engine is near its goals; every Trellis wait has a time limit, so a slow
 * engine makes it longer but never endless. `--smoke` runs every workload at
 * small sizes in a few minutes, to check the benchmark itself.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { controllerManagerExtraFlags } from '../hack/control-plane.ts';
import { projectRoot } from '../hack/lib/system-tools.ts';
import { Environment } from './framework/environment.ts';
import { machineHeader } from './framework/header.ts';
import { renderReport, reportJson, type RunHeader, type WorkloadReport } from './framework/report.ts';
import { parseCount, parseCountList, selectWorkloads, SelectionError } from './framework/selection.ts';
import { GOAL_SIZES, NotRunError, type BenchContext, type BenchOptions, type Workload } from './framework/workload.ts';
import { workloads } from './workloads/index.ts';

/** A commander parser from one of selection.ts's, its errors as commander's. */
function option<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
    }
  };
}

/** Sizes of `--smoke`: every workload end to end in a few minutes, for checking the benchmark itself. */
const SMOKE = { objects: [100, 300], packages: 20, largeObjects: 1_000, rounds: 1 } as const;

/** The command line. */
function benchCommand(): Command {
  return new Command()
    .name('bench')
    .description(`Trellis benchmarks against real peers. Workloads: ${workloads.map((w) => `${w.number} ${w.name}`).join(', ')} (default: all).`)
    .argument('[workloads...]', 'workloads to run, by name, number or name prefix (same as --only)')
    .option('--only <list>', 'workloads to run, comma-separated: names, numbers or name prefixes (drift,noop)')
    .option('--rounds <n>', 'rounds of every workload and case (default: each workload\'s own)', option(parseCount))
    .option('--objects <list>', 'ConfigMaps per Package of the cold-apply and no-op cases; drift uses the smallest and largest', option(parseCountList),
      [...GOAL_SIZES.objects])
    .option('--packages <n>', 'Packages of the many-packages workload', option(parseCount), GOAL_SIZES.packages)
    .option('--large-objects <n>', 'ConfigMaps of the large-package workload', option(parseCount), GOAL_SIZES.largeObjects)
    .option('--smoke', `small sizes to check the benchmark end to end (objects ${SMOKE.objects.join(',')}, ${SMOKE.packages} packages, `
      + `${SMOKE.largeObjects} large, 1 round, --skip-slow); explicit sizes win; the header says so`, false)
    .option('--skip-slow', 'leave out measurements that wait for a default poll interval (5 min)', false)
    .option('--out <dir>', 'folder for latest.json and latest.md', join(projectRoot, '.bench-results'))
    .option('--keep', 'keep the temporary folder (logs of the controllers and servers)', false)
    .option('--controller-log-level <level>', 'log level of both controllers (debug to profile a workload)', 'info')
    .option('--controller-flags <flags>', 'extra flags for both controllers, space-separated (diagnostics; the header says so)', '');
}

/** The command line's options as commander returns them. */
interface CommandOptions {
  only?: string;
  rounds?: number;
  objects: number[];
  packages: number;
  largeObjects: number;
  smoke: boolean;
  skipSlow: boolean;
  out: string;
  keep: boolean;
  controllerLogLevel: string;
  controllerFlags: string;
}

/** The options workloads read: the command line's, with `--smoke`'s sizes where no size was given. */
function benchOptions(program: Command, o: CommandOptions): BenchOptions {
  const given = (name: string): boolean => program.getOptionValueSource(name) === 'cli';
  const smoke = o.smoke;
  return {
    rounds: o.rounds ?? (smoke ? SMOKE.rounds : undefined),
    objects: smoke && !given('objects') ? [...SMOKE.objects] : o.objects,
    packages: smoke && !given('packages') ? SMOKE.packages : o.packages,
    largeObjects: smoke && !given('largeObjects') ? SMOKE.largeObjects : o.largeObjects,
    skipSlow: o.skipSlow || smoke,
  };
}

/** The header's line on sizes, and whether they differ from the goals' sizes for the workloads selected. */
function describeSizes(options: BenchOptions, selected: readonly Workload[]): { sizes: string; differ: boolean } {
  const has = (...names: string[]): boolean => selected.some((w) => names.includes(w.name));
  const n = (v: number): string => v.toLocaleString('en');
  const parts: string[] = [];
  let differ = false;
  if (has('cold-apply', 'noop-reconcile', 'drift')) {
    parts.push(`ConfigMap Packages of ${options.objects.map(n).join(' and ')} objects`);
    differ ||= options.objects.join(',') !== GOAL_SIZES.objects.join(',');
  }
  if (has('many-packages')) {
    parts.push(`${n(options.packages)} Packages × 4 objects`);
    differ ||= options.packages !== GOAL_SIZES.packages;
  }
  if (has('large-package')) {
    parts.push(`a Package of ${n(options.largeObjects)} ConfigMaps`);
    differ ||= options.largeObjects !== GOAL_SIZES.largeObjects;
  }
  return { sizes: parts.join('; '), differ };
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
  const o = program.opts<CommandOptions>();
  let selected: Workload[];
  try {
    selected = selectWorkloads([...program.args, ...(o.only !== undefined ? [o.only] : [])], workloads);
  } catch (err) {
    if (!(err instanceof SelectionError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  const options = benchOptions(program, o);
  const sizes = describeSizes(options, selected);
  const header = machineHeader();
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-'));
  const controllerArgs = o.controllerFlags.split(/\s+/).filter((a) => a !== '');
  const controllerManagerFlags = controllerManagerExtraFlags();
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
      ...(controllerManagerFlags.length > 0 ? { controllerManagerFlags: controllerManagerFlags.join(' ') } : {}),
      ...(sizes.sizes !== '' ? { sizes: sizes.sizes } : {}),
      ...(sizes.differ ? { sizesDifferFromGoals: true } : {}),
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
 * Library-only workloads first (they need no cluster); then many packages, the
 * large package and the program Packages, which restart the controllers for a
 * clean memory reading (before any other Package exists); then the rest in issue order: the cold
 * apply leaves the Packages the no-op and drift workloads use. Background
 * measurements start after the restarts, so none of them sees one.
 */
const ORDER = ['git', 'oci', 'program-render', 'many-packages', 'large-package', 'program-packages', 'cold-apply', 'noop-reconcile', 'drift', 'commit-to-applied'];
/** Where in {@link ORDER} the prepare hooks run. */
const PREPARE_AT = ORDER.indexOf('cold-apply');

function runOrder(w: Workload): number {
  const i = ORDER.indexOf(w.name);
  return i === -1 ? ORDER.length + w.number : i;
}

process.exitCode = await main();
