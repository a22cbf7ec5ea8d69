/**
 * Trellis's two controllers as processes, the way they run in a cluster:
 * `node <options> source-controller.mjs` and `node <options> apply-controller.mjs`,
 * the bundles the image ships (hack/build-controllers.ts, built into the run's
 * folder at start) with the shipped Node.js options
 * (packages-cdk8s/trellis/node-options.ts) and
 * their default settings (concurrency, API rate limits), against the admin
 * kubeconfig, logs in files. A controller counts as started when it logs
 * `controllers running`. Their memory is read from /proc.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { buildControllers, CONTROLLER_BUNDLES } from '../../hack/build-controllers.ts';
import { startProcess, type ManagedProcess } from '../../hack/lib/processes.ts';
import { projectRoot } from '../../hack/lib/system-tools.ts';
import { CONTROLLER_NODE_OPTIONS } from '../../packages-cdk8s/trellis/node-options.ts';
import { readProcessMemory, type ProcessMemory } from './memory.ts';
import { NotRunError } from './workload.ts';

/** One controller process. */
export interface ControllerProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Its /metrics URL, when it serves one. */
  readonly metricsUrl: string | undefined;
  /** Its webhook receiver server's URL (the source controller's). */
  readonly receiverUrl: string | undefined;
  /** Memory now (and its peak so far); undefined once it exited. */
  memory(): ProcessMemory | undefined;
  /** The last lines of its log. */
  tail(lines?: number): string;
  stop(): Promise<void>;
}

/** Both controllers. */
export interface Controllers {
  readonly source: ControllerProcess;
  readonly apply: ControllerProcess;
  stop(): Promise<void>;
}

/** Options of {@link startControllers}. */
export interface StartControllersOptions {
  readonly kubeconfigPath: string;
  /** Folder for logs, artifact storage and the artifact cache. */
  readonly dir: string;
  readonly log: (line: string) => void;
  /** `--log-level` of both (default info; debug shows every reconcile step). */
  readonly logLevel?: string;
  /** Flags added to both (diagnostic runs only: the benchmark measures the defaults). */
  readonly extraArgs?: readonly string[];
  /** Where the controllers' bundles are (built there when missing); default `<dir>/bundles`. */
  readonly bundlesDir?: string;
}

/** The entry points, relative to the project root. */
export const CONTROLLER_ENTRIES = {
  source: 'source-controller/main.ts',
  apply: 'apply-controller/main.ts',
} as const;

/** Throws {@link NotRunError} naming the controller entry points that do not exist yet. */
export function requireControllerEntries(): void {
  const missing = Object.values(CONTROLLER_ENTRIES).filter((e) => !existsSync(join(projectRoot, e)));
  if (missing.length > 0) throw new NotRunError(`${missing.join(' and ')} not there yet (the controller process${missing.length > 1 ? 'es have' : ' has'} not landed)`);
}

interface LogLine {
  readonly msg?: string;
  readonly url?: string;
}

function logLines(file: string): LogLine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a line being written right now
    }
  }
  return out;
}

/** Starts one controller and resolves once it logged `controllers running`. */
async function startOne(name: string, bundle: string, args: readonly string[], dir: string,
  log: (line: string) => void): Promise<ControllerProcess> {
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, `${name}.log`);
  log(`starting ${name}`);
  const proc: ManagedProcess = startProcess(name, process.execPath, [...CONTROLLER_NODE_OPTIONS, bundle, ...args], {
    logFile, cwd: projectRoot,
  });
  let exited: number | NodeJS.Signals | undefined;
  void proc.exited.then((code) => { exited = code; });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const lines = logLines(logFile);
    if (lines.some((l) => l.msg === 'controllers running')) {
      const metricsUrl = lines.find((l) => l.msg === 'serving /healthz, /readyz and /metrics')?.url;
      return {
        name, pid: proc.pid, logFile, metricsUrl: metricsUrl === undefined ? undefined : `${metricsUrl.replace(/\/$/, '')}/metrics`,
        receiverUrl: lines.find((l) => l.msg === 'serving webhook receivers')?.url,
        memory: () => readProcessMemory(proc.pid),
        tail: (n) => proc.tail(n),
        stop: () => proc.stop(15_000),
      };
    }
    if (exited !== undefined) throw new NotRunError(`${name} exited (${exited}) at start: ${proc.tail(8)}`);
    if (Date.now() > deadline) {
      await proc.stop(2_000);
      throw new NotRunError(`${name} did not log "controllers running" within 120 s: ${proc.tail(8)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts the source-controller, then the apply-controller. */
export async function startControllers(opts: StartControllersOptions): Promise<Controllers> {
  requireControllerEntries();
  const bundles = opts.bundlesDir ?? join(opts.dir, 'bundles');
  if (!Object.keys(CONTROLLER_BUNDLES).every((file) => existsSync(join(bundles, file)))) {
    opts.log('bundling the controllers as the image ships them (hack/build-controllers.ts)');
    await buildControllers(bundles);
    // esbuild's service process (about 400 MB) would otherwise stay for the whole run beside what is measured.
    await esbuild.stop();
  }
  const common = ['--kubeconfig', opts.kubeconfigPath, '--metrics-addr', '127.0.0.1:0', '--health-addr', '', '--log-level', opts.logLevel ?? 'info',
    ...(opts.extraArgs ?? [])];
  const source = await startOne('source-controller', join(bundles, 'source-controller.mjs'), [
    ...common, '--storage-path', join(opts.dir, 'storage'), '--artifact-addr', '127.0.0.1:0', '--receiver-addr', '127.0.0.1:0',
  ], opts.dir, opts.log);
  let apply: ControllerProcess;
  try {
    apply = await startOne('apply-controller', join(bundles, 'apply-controller.mjs'), [
      // The benches' Packages use sources of a shared namespace: a single-tenant controller.
      ...common, '--artifact-cache-dir', join(opts.dir, 'artifact-cache'), '--allow-cross-namespace-refs',
    ], opts.dir, opts.log);
  } catch (err) {
    await source.stop();
    throw err;
  }
  return {
    source,
    apply,
    async stop() {
      opts.log('stopping the controllers');
      await Promise.all([apply.stop(), source.stop()]);
    },
  };
}
