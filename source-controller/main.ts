/**
 * The source-controller process: `node source-controller/main.ts [flags]` (Node 24).
 * Reconciles GitRepository and OCIRepository objects into artifacts under
 * `--storage-path` and serves them over HTTP at `--artifact-addr`; the URLs in
 * `status.artifact.url` use `--storage-adv-addr`. Runs against the cluster of
 * `--kubeconfig`, else `KUBECONFIG`, else the in-cluster service account.
 * SIGTERM/SIGINT stop it gracefully: in-flight reconciles finish, the lease is
 * released, then the servers close.
 *
 * Log lines tests and operators look for: `serving artifacts` (with `url` and
 * `advertisedUrl`), `serving /healthz, /readyz and /metrics` (with `url`) and
 * `controllers running`.
 */
import { mkdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import type { Level } from 'pino';
import { KUBE_API_FLAG_HELP, LOG_LEVELS, logLevelFlag, nonNegativeNumberFlag, positiveIntFlag } from '../runtime/flags.ts';
import { createLogger, type Logger } from '../runtime/logging.ts';
import { runControllerMain } from '../runtime/main.ts';
import { startHttpServer, type HttpEndpoints } from '../runtime/http.ts';
import { loadKubeConfig } from '../runtime/kubeconfig.ts';
import { Manager } from '../runtime/manager.ts';
import { gitRepositoryController } from './gitrepository.ts';
import { ociRepositoryController } from './ocirepository.ts';
import type { SourceControllerOptions } from './reconcile/controller.ts';
import { DEFAULT_SOURCE_LIMITS } from './reconcile/source.ts';
import { startArtifactServer, type ArtifactServer } from './storage/server.ts';
import { ArtifactStorage } from './storage/storage.ts';

/** The settings of one source-controller process, as the flags give them. */
export interface SourceControllerFlags {
  readonly kubeconfig?: string | undefined;
  readonly storagePath: string;
  /** `host:port` or URL clients use to download artifacts (default: derived from the listen address). */
  readonly storageAdvAddr?: string | undefined;
  /** Listen address of the artifact server (`:9090`, `127.0.0.1:0`). */
  readonly artifactAddr: string;
  /** Listen address of /metrics (and /healthz, /readyz); empty for none. */
  readonly metricsAddr: string;
  /** Listen address of /healthz and /readyz alone; empty for none. */
  readonly healthAddr: string;
  readonly concurrent: number;
  /** `--kube-api-qps`; undefined (the default) follows API Priority and Fairness. */
  readonly kubeApiQps: number | undefined;
  /** `--kube-api-burst`; undefined (the default) follows API Priority and Fairness. */
  readonly kubeApiBurst: number | undefined;
  /** Artifacts kept per source, the current one included. */
  readonly artifactRetention: number;
  readonly leaderElect: boolean;
  readonly leaderElectionId: string;
  readonly leaderElectionNamespace: string;
  /** Watch only this namespace; all when undefined. */
  readonly watchNamespace?: string | undefined;
  readonly logLevel: Level;
  /** Bytes one fetch may download. */
  readonly maxFetchSize: number;
}

/** The commander program for the flags (exported so `--help` output can be tested). */
export function sourceControllerCommand(): Command {
  return new Command()
    .name('source-controller')
    .description('Trellis source-controller: GitRepository and OCIRepository objects become verified, served artifacts')
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, then the in-cluster service account, then ~/.kube/config)')
    .option('--storage-path <dir>', 'folder for the artifacts', '/data')
    .option('--storage-adv-addr <addr>', 'host:port (or URL) clients download artifacts from (default: the artifact server address)')
    .option('--artifact-addr <addr>', 'listen address of the artifact HTTP server (host:port, :port; port 0 picks a free one)', ':9090')
    .option('--metrics-addr <addr>', 'listen address of /metrics (also /healthz and /readyz); "" for none', ':8080')
    .option('--health-addr <addr>', 'listen address of /healthz and /readyz; "" for none', ':8081')
    .option('--concurrent <n>', 'objects reconciled at the same time, per kind', positiveIntFlag, 4)
    .option('--kube-api-qps <n>', KUBE_API_FLAG_HELP.qps, nonNegativeNumberFlag)
    .option('--kube-api-burst <n>', KUBE_API_FLAG_HELP.burst, positiveIntFlag)
    .option('--artifact-retention <n>', 'artifacts kept per source, the current one included', positiveIntFlag, 2)
    .option('--leader-elect', 'run leader election so only one replica reconciles', false)
    .option('--leader-election-id <name>', 'name of the Lease', 'trellis-source-controller')
    .option('--leader-election-namespace <ns>', 'namespace of the Lease (default: POD_NAMESPACE or trellis-system)')
    .option('--watch-namespace <ns>', 'reconcile only this namespace (default: all)')
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, logLevelFlag, 'info' as Level)
    .option('--max-fetch-size <bytes>', 'bytes one fetch may download', positiveIntFlag, DEFAULT_SOURCE_LIMITS.maxDownloadBytes)
    .allowExcessArguments(false);
}

/**
 * Parses `argv` (without the node and script paths) into flags; throws a
 * commander error on bad input, after printing it to `writeErr` (default stderr).
 */
export function parseSourceControllerFlags(argv: readonly string[], env: NodeJS.ProcessEnv = process.env,
  writeErr: (text: string) => void = (text) => process.stderr.write(text)): SourceControllerFlags {
  const program = sourceControllerCommand().exitOverride().configureOutput({ writeErr });
  program.parse([...argv], { from: 'user' });
  const o = program.opts<Record<string, unknown>>();
  return {
    kubeconfig: o.kubeconfig as string | undefined,
    storagePath: resolve(o.storagePath as string),
    storageAdvAddr: o.storageAdvAddr as string | undefined,
    artifactAddr: o.artifactAddr as string,
    metricsAddr: o.metricsAddr as string,
    healthAddr: o.healthAddr as string,
    concurrent: o.concurrent as number,
    kubeApiQps: o.kubeApiQps as number | undefined,
    kubeApiBurst: o.kubeApiBurst as number | undefined,
    artifactRetention: o.artifactRetention as number,
    leaderElect: o.leaderElect === true,
    leaderElectionId: o.leaderElectionId as string,
    leaderElectionNamespace: (o.leaderElectionNamespace as string | undefined) ?? env.POD_NAMESPACE ?? 'trellis-system',
    watchNamespace: o.watchNamespace as string | undefined,
    logLevel: o.logLevel as Level,
    maxFetchSize: o.maxFetchSize as number,
  };
}

/** `:9090` -> `0.0.0.0:9090` (the artifact server wants a host). */
export function listenHostPort(addr: string): string {
  return addr.startsWith(':') ? `0.0.0.0${addr}` : addr;
}

/** The advertised address: the flag, else this host's name when listening on every interface, else the bound URL. */
function advertisedAddress(flags: SourceControllerFlags, listen: string): string | undefined {
  if (flags.storageAdvAddr) return flags.storageAdvAddr;
  const m = /^(0\.0\.0\.0|\[::\]|::):(\d+)$/.exec(listen);
  return m && m[2] !== '0' ? `${hostname()}:${m[2]}` : undefined;
}

/** Runs the source-controller until a signal; resolves with the process exit code. */
export async function runSourceController(flags: SourceControllerFlags, logger?: Logger): Promise<number> {
  const log = logger ?? createLogger({ name: 'source-controller', level: flags.logLevel });
  const kubeConfig = loadKubeConfig({ path: flags.kubeconfig });
  const storage = new ArtifactStorage(flags.storagePath);
  // Scratch space on the storage's file system; a name storage never uses for a kind (it starts with a dot).
  const workDir = join(flags.storagePath, '.work');
  await rm(workDir, { recursive: true, force: true }); // debris of a crash
  await mkdir(workDir, { recursive: true });

  const listen = listenHostPort(flags.artifactAddr);
  const artifacts: ArtifactServer = await startArtifactServer({
    storage, address: listen, advertisedAddress: advertisedAddress(flags, listen),
  });
  log.info({ url: artifacts.url, advertisedUrl: artifacts.advertisedUrl, storagePath: flags.storagePath }, 'serving artifacts');

  const manager = new Manager({
    name: 'source-controller', kubeConfig, qps: flags.kubeApiQps, burst: flags.kubeApiBurst, logger: log,
    ...(flags.metricsAddr !== '' ? { listen: flags.metricsAddr } : {}),
    ...(flags.leaderElect ? { leaderElection: { namespace: flags.leaderElectionNamespace, leaseName: flags.leaderElectionId } } : {}),
  });
  let health: HttpEndpoints | undefined;
  if (flags.healthAddr !== '' && flags.healthAddr !== flags.metricsAddr) {
    // A standby replica (leader election on, not leading) is ready too: healthy and waiting to take over.
    health = await startHttpServer({ listen: flags.healthAddr, ready: () => manager.ready || flags.leaderElect });
    log.info({ url: health.url }, 'serving /healthz and /readyz');
  }
  const options: SourceControllerOptions = {
    client: manager.client, storage, workDir,
    artifactUrl: (kind, namespace, name, digest) => artifacts.urlFor(kind, namespace, name, digest), events: manager.events,
    retention: flags.artifactRetention, namespace: flags.watchNamespace, concurrency: flags.concurrent,
    logger: log, metrics: manager.metrics, limits: { maxDownloadBytes: flags.maxFetchSize },
  };
  manager.add(gitRepositoryController(options)).add(ociRepositoryController(options));

  let outcome: 'signal' | 'leadership-lost';
  try {
    outcome = await manager.runUntilSignal();
  } finally {
    await health?.close();
    await artifacts.stop();
  }
  log.info({ outcome }, 'source-controller stopped');
  return outcome === 'signal' ? 0 : 1;
}

if (import.meta.main) {
  await runControllerMain({ name: 'source-controller', parseFlags: (argv) => parseSourceControllerFlags(argv), run: runSourceController });
}
