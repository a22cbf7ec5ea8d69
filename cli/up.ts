/**
 * `trellis up` (what `npm start` runs): Trellis on an embedded local cluster,
 * in the foreground until Ctrl-C — the control plane with its simulated node,
 * a local OCI registry, Trellis's CRDs, and both controllers with readable logs.
 * Everything persists in the folder (default `.trellis/`): etcd data, registry
 * storage, artifacts, and the ports, so running it again brings back the same
 * cluster at the same addresses. `--kubeconfig` runs the controllers against an
 * existing cluster instead (no local cluster, no registry).
 *
 * The folder also gets `kubeconfig`, `env` (source it: KUBECONFIG,
 * TRELLIS_REGISTRY, and PATH with `bin/`) and `bin/trellis`, `bin/kubectl-package`.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { installCrds } from '../hack/install-crds.ts';
import { startLocalCluster, type LocalCluster } from '../hack/local-cluster.ts';
import { projectRoot } from '../hack/lib/system-tools.ts';
import { startRegistry, type Registry } from '../hack/registry.ts';
import { KubeClient } from '../runtime/kube.ts';
import { colorEnabled } from './package/format.ts';
import { controllerSpecs, startControllerProcess, type ControllerProcess } from './up/controllers.ts';
import { startForwarder, type Forwarder } from './up/forward.ts';
import { lineFormatter, type LogFormat } from './up/logs.ts';
import {
  AlreadyRunningError, choosePort, envFileText, readPorts, releaseLock, takeLock, writeBinWrappers, writeLock, writePorts,
} from './up/state.ts';

/** Options of `trellis up`. */
export interface UpOptions {
  /** State folder (default `.trellis`). */
  readonly dir: string;
  /** Run against this cluster instead of starting one. */
  readonly kubeconfig?: string | undefined;
  /** `auto` (pretty on a terminal), `pretty` or `json`. */
  readonly logFormat?: 'auto' | LogFormat;
  readonly logLevel?: string;
  /** The controllers reconcile only this namespace. */
  readonly watchNamespace?: string | undefined;
}

const say = (line: string): void => { process.stderr.write(`[trellis] ${line}\n`); };

/** Everything `up` started, stopped in reverse order. */
class Running {
  cluster: LocalCluster | undefined;
  registry: Registry | undefined;
  forwarder: Forwarder | undefined;
  readonly controllers: ControllerProcess[] = [];

  async stop(): Promise<void> {
    await Promise.all(this.controllers.map((c) => c.stop()));
    await this.forwarder?.close();
    await this.registry?.stop();
    await this.cluster?.stop();
  }
}

/** `.trellis/env` when the folder is below the current one, else the absolute path. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

function logFormatOf(opts: UpOptions): LogFormat {
  const f = opts.logFormat ?? 'auto';
  return f === 'auto' ? (process.stdout.isTTY ? 'pretty' : 'json') : f;
}

/** Starts the local cluster and registry (or checks the given cluster) and returns the kubeconfig to use. */
async function startInfrastructure(dir: string, opts: UpOptions, running: Running): Promise<{ kubeconfig: string; registry?: string }> {
  if (opts.kubeconfig) {
    const kubeconfig = resolve(opts.kubeconfig);
    say(`using the cluster of ${kubeconfig}`);
    return { kubeconfig };
  }
  const ports = readPorts(dir);
  running.cluster = await startLocalCluster({ dir: join(dir, 'cluster'), log: say });
  running.registry = await startRegistry({ dir: join(dir, 'registry'), log: say });
  const registryPort = Number(running.registry.host.split(':').at(-1));
  running.forwarder = await startForwarder(await choosePort(ports.registry), registryPort);
  writePorts(dir, { ...readPorts(dir), registry: running.forwarder.port });
  const kubeconfig = join(dir, 'kubeconfig');
  copyFileSync(running.cluster.kubeconfigPath, kubeconfig);
  return { kubeconfig, registry: `127.0.0.1:${running.forwarder.port}` };
}

/** Starts both controllers and resolves once each says it is running. */
async function startControllers(dir: string, kubeconfig: string, opts: UpOptions, running: Running): Promise<void> {
  const artifactPort = await choosePort(readPorts(dir).artifacts);
  writePorts(dir, { ...readPorts(dir), artifacts: artifactPort });
  const specs = controllerSpecs({ kubeconfig, dir, artifactPort, watchNamespace: opts.watchNamespace, ...(opts.logLevel ? { logLevel: opts.logLevel } : {}) });
  const format = logFormatOf(opts);
  const width = Math.max(...specs.map((s) => s.prefix.length));
  for (const spec of specs) {
    const formatLine = lineFormatter({ format, prefix: spec.prefix, name: spec.name, color: colorEnabled(process.stdout), prefixWidth: width });
    running.controllers.push(startControllerProcess(spec, (line, stream) => { process.stdout.write(formatLine(line, stream === 'stderr')); }));
  }
  writeLock(dir, running.controllers.map((c) => c.pid));
  await Promise.all(running.controllers.map((c) => c.ready(120_000)));
}

/** Resolves on the first SIGINT/SIGTERM (a second one kills everything at once) or when a controller exits. */
function untilStopped(running: Running): Promise<{ reason: 'signal' } | { reason: 'exited'; name: string; code: number | string; tail: string }> {
  return new Promise((done) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        say(`${signal} again: killing everything now`);
        process.exit(130);
      }
      stopping = true;
      done({ reason: 'signal' });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    for (const c of running.controllers) {
      void c.exited.then((code) => {
        if (!stopping) {
          stopping = true;
          done({ reason: 'exited', name: c.name, code, tail: c.tail() });
        }
      });
    }
  });
}

/** Runs Trellis until Ctrl-C; resolves with the exit code. */
export async function up(opts: UpOptions): Promise<number> {
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  try {
    takeLock(dir);
  } catch (err) {
    if (!(err instanceof AlreadyRunningError)) throw err;
    say(err.message);
    return 1;
  }
  const running = new Running();
  try {
    const { kubeconfig, registry } = await startInfrastructure(dir, opts, running);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfig);
    say('installing the CRDs');
    await installCrds(new KubeClient(kubeConfig), { fieldManager: 'trellis-up' });

    const binDir = join(dir, 'bin');
    writeBinWrappers(binDir, process.execPath, join(projectRoot, 'cli', 'trellis.ts'));
    const envFile = join(dir, 'env');
    writeFileSync(envFile, envFileText({ kubeconfig, registry, binDir }));

    say('starting the source and apply controllers');
    await startControllers(dir, kubeconfig, opts, running);
    say(`Trellis is running${registry ? ` (registry ${registry})` : ''}. In another terminal: source ${shown(envFile)} && kubectl get packages   — Ctrl-C here stops everything.`);

    const outcome = await untilStopped(running);
    if (outcome.reason === 'exited') say(`${outcome.name} exited (${outcome.code}); stopping everything:\n${outcome.tail}`);
    else say('stopping');
    await running.stop();
    say('stopped; the state stays in ' + shown(dir));
    return outcome.reason === 'signal' ? 0 : 1;
  } catch (err) {
    say(`could not start: ${err instanceof Error ? err.message : String(err)}`);
    await running.stop();
    return 1;
  } finally {
    releaseLock(dir);
  }
}

function logFormat(value: string): 'auto' | LogFormat {
  if (value !== 'auto' && value !== 'pretty' && value !== 'json') throw new InvalidArgumentError('must be auto, pretty or json');
  return value;
}

/** The `up` subcommand. */
export function upCommand(): Command {
  return new Command('up')
    .description('run Trellis on an embedded local cluster (control plane, simulated node, registry, both controllers) until Ctrl-C')
    .option('--dir <dir>', 'state folder (kubeconfig, env, etcd data, registry storage, artifacts)', '.trellis')
    .option('--kubeconfig <file>', 'run the controllers against this existing cluster instead (no local cluster or registry)')
    .addOption(new Option('--log-format <format>', 'controller logs: auto (pretty on a terminal, else JSON), pretty or json')
      .argParser(logFormat).default('auto'))
    .option('--log-level <level>', 'controller log level (fatal, error, warn, info, debug, trace)', 'info')
    .option('--watch-namespace <namespace>', 'the controllers reconcile only this namespace (default: all)')
    .addHelpText('after', [
      '',
      'Examples:',
      '  npm start                       # the same as: trellis up',
      '  source .trellis/env && kubectl get packages',
      '  trellis up --kubeconfig ~/.kube/config --dir .trellis-remote',
      '',
    ].join('\n'))
    .action(async (o: { dir: string; kubeconfig?: string; logFormat: 'auto' | LogFormat; logLevel: string; watchNamespace?: string }) => {
      const code = await up({ dir: o.dir, kubeconfig: o.kubeconfig, logFormat: o.logFormat, logLevel: o.logLevel, watchNamespace: o.watchNamespace });
      // Exit explicitly: a keep-alive socket left by a library must not keep a stopped `up` alive.
      process.exit(code);
    });
}
