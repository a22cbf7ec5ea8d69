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
 * `advertisedUrl`), `serving /healthz, /readyz and /metrics` (with `url`),
 * `serving webhook receivers` (with `url`, when `--receiver-addr` is set) and
 * `controllers running`. Receivers and Alerts run in this process
 * (source-controller/notification/, docs/notifications.md).
 */
import { mkdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { Level } from 'pino';
import { KUBE_API_FLAG_HELP, labelSelectorFlag, LOG_LEVELS, logLevelFlag, nonNegativeNumberFlag, positiveIntFlag } from '../runtime/flags.ts';
import { shardLeaseName } from '../runtime/leader.ts';
import { createLogger, type Logger } from '../runtime/logging.ts';
import { runControllerMain } from '../runtime/main.ts';
import { startHttpServer, type HttpEndpoints } from '../runtime/http.ts';
import { loadKubeConfig } from '../runtime/kubeconfig.ts';
import { ARTIFACT_SERVER_LABEL, leaderPodLabel } from '../runtime/leader-pod-label.ts';
import { Manager } from '../runtime/manager.ts';
import { gitRepositoryController } from './gitrepository.ts';
import { apiserverDenyRules, DEFAULT_DENIED_HOSTS, HostPolicy, parseHostRule } from './net/host-policy.ts';
import { registerSourceMetrics } from './metrics.ts';
import { ociRepositoryController } from './ocirepository.ts';
import type { SourceControllerOptions } from './reconcile/controller.ts';
import { DEFAULT_SOURCE_LIMITS } from './reconcile/source.ts';
import { DEFAULT_DELIVERY } from './notification/alerts/dispatcher.ts';
import { DEFAULT_MAX_BODY_BYTES } from './notification/receiver/server.ts';
import { setUpNotifications, type Notifications } from './notification/setup.ts';
import { parsePositiveDuration } from '../runtime/duration.ts';
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
  /** Reconcile only sources with these labels (a shard); all when undefined. */
  readonly watchLabelSelector?: string | undefined;
  readonly logLevel: Level;
  /** Bytes one fetch may download. */
  readonly maxFetchSize: number;
  /** Bytes one Git fetch may download (isomorphic-git holds the pack in memory). */
  readonly maxGitFetchSize: number;
  /** Bytes the objects of one Git fetch may inflate to. */
  readonly maxGitInflatedSize: number;
  /** Bytes of files a Git checkout or an unpacked OCI layer may hold. */
  readonly maxUnpackedSize: number;
  /** Entries a Git checkout or an unpacked OCI layer may hold. */
  readonly maxUnpackedEntries: number;
  /** Nesting depth of a Git checkout's trees. */
  readonly maxTreeDepth: number;
  /** `--source-host-allow`: when not empty, the only hosts and ranges sources may reach. */
  readonly sourceHostAllow: readonly string[];
  /** `--source-host-deny`: hosts and ranges sources may never reach (added to the built-in ones). */
  readonly sourceHostDeny: readonly string[];
  /** False with `--no-source-host-default-deny`: drop the built-in deny rules. */
  readonly sourceHostDefaultDeny: boolean;
  /** `--receiver-addr`: listen address of the webhook receiver server; empty (the default) for none. */
  readonly receiverAddr: string;
  /** Largest webhook body read. */
  readonly receiverMaxBodySize: number;
  /** False with `--no-alerts`: no alert dispatcher. */
  readonly alerts: boolean;
  /** Delivery attempts per alert, the first included. */
  readonly alertRetryAttempts: number;
  /** Wait after the first failed delivery (doubles each time), in ms. */
  readonly alertRetryBaseDelayMs: number;
}

/** A positive duration flag (`2s`, `500ms`) in milliseconds. */
function durationFlag(value: string): number {
  try {
    return parsePositiveDuration(value, 'the duration');
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** Collects a repeatable, comma-separated list flag, each rule checked now. */
function hostRulesFlag(value: string, previous: readonly string[] = []): string[] {
  const rules = value.split(',').map((r) => r.trim()).filter((r) => r !== '');
  for (const rule of rules) {
    try {
      parseHostRule(rule);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  }
  return [...previous, ...rules];
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
    .option('--leader-election-id <name>', 'name of the Lease (with --watch-label-selector: suffixed with a hash of the selector)', 'trellis-source-controller')
    .option('--leader-election-namespace <ns>', 'namespace of the Lease (default: POD_NAMESPACE or trellis-system)')
    .option('--watch-namespace <ns>', 'reconcile only this namespace (default: all)')
    .option('--watch-label-selector <selector>', 'reconcile only GitRepositories and OCIRepositories matching this label selector (sharding: key=shard1, or !key for the unsharded rest); the Lease name gets a hash of it', labelSelectorFlag)
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, logLevelFlag, 'info' as Level)
    .option('--max-fetch-size <bytes>', 'bytes one fetch may download', positiveIntFlag, DEFAULT_SOURCE_LIMITS.maxDownloadBytes)
    .option('--max-git-fetch-size <bytes>', 'bytes one Git fetch may download (held in memory while indexed; also capped by --max-fetch-size)',
      positiveIntFlag, DEFAULT_SOURCE_LIMITS.maxGitDownloadBytes)
    .option('--max-git-inflated-size <bytes>', 'bytes the objects of one Git fetch may inflate to (isomorphic-git holds them all in memory while indexing)',
      positiveIntFlag, DEFAULT_SOURCE_LIMITS.maxGitInflatedBytes)
    .option('--max-unpacked-size <bytes>', 'bytes of files a Git checkout or an unpacked OCI layer may hold', positiveIntFlag,
      DEFAULT_SOURCE_LIMITS.maxExtractBytes)
    .option('--max-unpacked-entries <n>', 'files and folders a Git checkout or an unpacked OCI layer may hold', positiveIntFlag,
      DEFAULT_SOURCE_LIMITS.maxEntries)
    .option('--max-tree-depth <n>', 'folders nested in folders of a Git checkout', positiveIntFlag, DEFAULT_SOURCE_LIMITS.maxTreeDepth)
    .option('--source-host-allow <rules>', 'only these hosts may be sources: comma-separated CIDRs, addresses, host names, *.suffix, each with an optional :port (repeatable; default: any host not denied)',
      hostRulesFlag, [])
    .option('--source-host-deny <rules>', `hosts sources may never reach, same syntax (repeatable); always denied unless --no-source-host-default-deny: ${DEFAULT_DENIED_HOSTS.join(', ')} and the cluster's apiserver`,
      hostRulesFlag, [])
    .option('--no-source-host-default-deny', 'drop the built-in deny rules (link-local, unspecified addresses, the apiserver)')
    .option('--receiver-addr <addr>', 'listen address of the webhook receiver server (Receivers); "" (the default) for none', '')
    .option('--receiver-max-body-size <bytes>', 'largest webhook request body read', positiveIntFlag, DEFAULT_MAX_BODY_BYTES)
    .option('--no-alerts', 'do not send alerts (Alert and Provider objects are then left alone)')
    .option('--alert-retry-attempts <n>', 'delivery attempts per alert, the first included', positiveIntFlag, DEFAULT_DELIVERY.attempts)
    .option('--alert-retry-base-delay <duration>', 'wait after the first failed delivery; doubles after each', durationFlag, DEFAULT_DELIVERY.baseDelayMs)
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
    watchLabelSelector: o.watchLabelSelector as string | undefined,
    logLevel: o.logLevel as Level,
    maxFetchSize: o.maxFetchSize as number,
    maxGitFetchSize: o.maxGitFetchSize as number,
    maxGitInflatedSize: o.maxGitInflatedSize as number,
    maxUnpackedSize: o.maxUnpackedSize as number,
    maxUnpackedEntries: o.maxUnpackedEntries as number,
    maxTreeDepth: o.maxTreeDepth as number,
    sourceHostAllow: o.sourceHostAllow as string[],
    sourceHostDeny: o.sourceHostDeny as string[],
    sourceHostDefaultDeny: o.sourceHostDefaultDeny !== false,
    receiverAddr: o.receiverAddr as string,
    receiverMaxBodySize: o.receiverMaxBodySize as number,
    alerts: o.alerts !== false,
    alertRetryAttempts: o.alertRetryAttempts as number,
    alertRetryBaseDelayMs: o.alertRetryBaseDelay as number,
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

/**
 * The source-host policy of the flags: the built-in deny rules (link-local,
 * unspecified addresses, and the apiserver: the `kubernetes` Service's
 * ClusterIP and the server of the controller's own kubeconfig), then the
 * flags' rules. Loopback stays allowed (but for the apiserver's port on it):
 * in a pod it reaches only the pod itself, and local setups serve Git and the
 * registry there.
 */
export function sourceHostPolicy(flags: SourceControllerFlags, kubeServer: string | undefined, log?: Logger): HostPolicy {
  const builtIn = flags.sourceHostDefaultDeny ? apiserverDenyRules(process.env, kubeServer) : [];
  const policy = new HostPolicy({
    allow: flags.sourceHostAllow, deny: [...builtIn, ...flags.sourceHostDeny], defaults: flags.sourceHostDefaultDeny,
  });
  log?.info(policy.describe(), 'source-host policy');
  return policy;
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
    ...(flags.leaderElect ? { leaderElection: { namespace: flags.leaderElectionNamespace, leaseName: shardLeaseName(flags.leaderElectionId, flags.watchLabelSelector) } } : {}),
  });
  let health: HttpEndpoints | undefined;
  if (flags.healthAddr !== '' && flags.healthAddr !== flags.metricsAddr) {
    // A standby replica (leader election on, not leading) is ready too: healthy and waiting to take over.
    health = await startHttpServer({ listen: flags.healthAddr, ready: () => manager.ready || flags.leaderElect });
    log.info({ url: health.url }, 'serving /healthz and /readyz');
  }
  const hostPolicy = sourceHostPolicy(flags, kubeConfig.getCurrentCluster()?.server, log);
  const options: SourceControllerOptions = {
    client: manager.client, storage, workDir,
    artifactUrl: (kind, namespace, name, digest) => artifacts.urlFor(kind, namespace, name, digest), events: manager.events,
    retention: flags.artifactRetention, namespace: flags.watchNamespace, labelSelector: flags.watchLabelSelector, concurrency: flags.concurrent,
    logger: log, metrics: manager.metrics, hostPolicy,
    limits: {
      maxDownloadBytes: flags.maxFetchSize, maxGitDownloadBytes: flags.maxGitFetchSize, maxGitInflatedBytes: flags.maxGitInflatedSize,
      maxExtractBytes: flags.maxUnpackedSize,
      maxEntries: flags.maxUnpackedEntries, maxTreeDepth: flags.maxTreeDepth,
    },
  };
  const sources = [gitRepositoryController(options), ociRepositoryController(options)];
  for (const controller of sources) manager.add(controller);
  registerSourceMetrics(manager.metrics, sources.map((c) => ({ kind: c.kind, list: () => c.informer.list(), get: (key: string) => c.informer.get(key), on: (h) => c.informer.on(h) })));
  // Receivers and Alerts (docs/notifications.md); provider addresses pass the same host policy as sources.
  const notifications: Notifications = await setUpNotifications(manager, {
    receiverAddr: flags.receiverAddr, receiverMaxBodyBytes: flags.receiverMaxBodySize, alerts: flags.alerts,
    watchNamespace: flags.watchNamespace, hostPolicy,
    delivery: { attempts: flags.alertRetryAttempts, baseDelayMs: flags.alertRetryBaseDelayMs },
  });
  // HA: the leader's Pod carries the label the artifact Service selects (runtime/leader-pod-label.ts).
  if (flags.leaderElect && process.env.POD_NAME) {
    manager.add(leaderPodLabel({ client: manager.client, namespace: flags.leaderElectionNamespace, podName: process.env.POD_NAME, label: ARTIFACT_SERVER_LABEL, logger: log }));
  }

  let outcome: 'signal' | 'leadership-lost';
  try {
    outcome = await manager.runUntilSignal();
  } finally {
    await health?.close();
    await notifications.close();
    await artifacts.stop();
  }
  log.info({ outcome }, 'source-controller stopped');
  return outcome === 'signal' ? 0 : 1;
}

if (import.meta.main) {
  await runControllerMain({ name: 'source-controller', parseFlags: (argv) => parseSourceControllerFlags(argv), run: runSourceController });
}
