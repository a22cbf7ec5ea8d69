/**
 * The two controllers `trellis up` runs in the foreground, as child processes
 * of this Node: their flags for a local run, and their supervision. Each runs
 * in its own process group, so a Ctrl-C in the terminal reaches only `trellis
 * up`, which then stops them in order (SIGTERM, grace period, SIGKILL); if
 * `trellis up` dies anyway they are killed on exit, and the next run ends any
 * left behind (state.ts). Their output goes line by line to `onLine`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { projectRoot } from '../../hack/lib/system-tools.ts';
import { CONTROLLER_NODE_OPTIONS } from '../../packages-cdk8s/trellis/node-options.ts';
import { lineSplitter } from './logs.ts';

/** How to run one controller. */
export interface ControllerSpec {
  /** `source-controller` */
  readonly name: string;
  /** Short name for log prefixes: `source`. */
  readonly prefix: string;
  /** Entry point relative to the project root. */
  readonly entry: string;
  readonly args: readonly string[];
}

/** What the controllers of a local run need to know. */
export interface ControllerSettings {
  readonly kubeconfig: string;
  /** The `trellis up` folder: artifacts and caches live under it. */
  readonly dir: string;
  /** Port of the source controller's artifact server on 127.0.0.1. */
  readonly artifactPort: number;
  readonly logLevel?: string;
  /** Reconcile only this namespace (default: all). */
  readonly watchNamespace?: string | undefined;
}

/**
 * Both controllers with flags for a single-machine run: the artifact server on
 * loopback at a port kept between runs (artifact URLs in status stay valid),
 * artifacts and the apply controller's cache under the folder (they persist),
 * no metrics or health listeners (nothing scrapes them here, and fixed ports
 * would collide with other programs). To run another controller, add it here.
 */
export function controllerSpecs(s: ControllerSettings): ControllerSpec[] {
  const common = ['--kubeconfig', s.kubeconfig, '--metrics-addr', '', '--health-addr', '', '--log-level', s.logLevel ?? 'info',
    ...(s.watchNamespace ? ['--watch-namespace', s.watchNamespace] : [])];
  const artifacts = `127.0.0.1:${s.artifactPort}`;
  return [
    {
      name: 'source-controller', prefix: 'source', entry: 'source-controller/main.ts',
      args: [...common, '--storage-path', join(s.dir, 'artifacts'), '--artifact-addr', artifacts, '--storage-adv-addr', artifacts],
    },
    {
      name: 'apply-controller', prefix: 'apply', entry: 'apply-controller/main.ts',
      args: [...common, '--artifact-cache-dir', join(s.dir, 'apply-cache')],
    },
  ];
}

/** A controller process. */
export interface ControllerProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the exit code (or signal name) once it exited. */
  readonly exited: Promise<number | string>;
  /** Resolves when it logs `controllers running`; rejects if it exits first or `timeoutMs` passes. */
  ready(timeoutMs: number): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines it wrote (for error messages). */
  tail(): string;
}

/** Raised when a controller exits before it is running or never says it is. */
export class ControllerStartError extends Error {
  override readonly name = 'ControllerStartError';
}

const live = new Set<ChildProcess>();
let hookInstalled = false;

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  // Own process groups do not die with us: make sure they do.
  process.on('exit', () => { for (const child of live) child.kill('SIGKILL'); });
}

/** Which stream a line came from. */
export type OutputStream = 'stdout' | 'stderr';

/** Starts a controller with this Node; every line it writes goes to `onLine`. */
export function startControllerProcess(spec: ControllerSpec, onLine: (line: string, stream: OutputStream) => void): ControllerProcess {
  installExitHook();
  const child = spawn(process.execPath, [...CONTROLLER_NODE_OPTIONS, resolve(projectRoot, spec.entry), ...spec.args], {
    cwd: projectRoot, env: process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  if (child.pid === undefined) throw new ControllerStartError(`could not start ${spec.name}`);
  live.add(child);
  const recent: string[] = [];
  let running = false;
  const waiters = new Set<() => void>();
  const handleLine = (line: string, stream: OutputStream): void => {
    recent.push(line);
    if (recent.length > 30) recent.shift();
    if (!running && line.includes('"msg":"controllers running"')) {
      running = true;
      for (const w of waiters) w();
    }
    onLine(line, stream);
  };
  for (const [name, stream] of [['stdout', child.stdout], ['stderr', child.stderr]] as const) {
    const split = lineSplitter((line) => handleLine(line, name));
    stream.on('data', (chunk: Buffer) => split.push(chunk));
    stream.on('end', () => split.flush());
  }
  // 'close' (not 'exit'): by then every line the controller wrote has been read, so `tail` is complete.
  const exited = new Promise<number | string>((done) => {
    child.on('close', (code, signal) => {
      live.delete(child);
      done(code ?? signal ?? 1);
    });
  });
  const pid = child.pid;
  const tail = (): string => recent.join('\n');
  return {
    name: spec.name, pid, exited, tail,
    ready(timeoutMs) {
      if (running) return Promise.resolve();
      return new Promise<void>((resolveReady, reject) => {
        const timer = setTimeout(() => reject(new ControllerStartError(`${spec.name} did not start within ${timeoutMs / 1000} s:\n${tail()}`)), timeoutMs);
        const done = (): void => { clearTimeout(timer); resolveReady(); };
        waiters.add(done);
        void exited.then((code) => {
          clearTimeout(timer);
          if (!running) reject(new ControllerStartError(`${spec.name} exited (${code}) before it was running:\n${tail()}`));
        });
      });
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
