/**
 * The apply-controller process: `node apply-controller/main.ts [flags]` (Node 24).
 * Reconciles Package objects: downloads their sources' artifacts into
 * `--artifact-cache-dir`, applies them phase by phase, prunes, and corrects drift.
 * Runs against the cluster of `--kubeconfig`, else `KUBECONFIG`, else the
 * in-cluster service account. SIGTERM/SIGINT stop it gracefully: in-flight
 * reconciles finish, the managed-object cache closes, the lease is released.
 *
 * Log lines tests and operators look for: `serving /healthz, /readyz and
 * /metrics` (with `url`) and `controllers running`.
 */
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Level } from 'pino';
import { startHttpServer, type HttpEndpoints } from '../runtime/http.ts';
import { loadKubeConfig } from '../runtime/kubeconfig.ts';
import { durationFlag, durationOrOffFlag, KUBE_API_FLAG_HELP, labelSelectorFlag, LOG_LEVELS, logLevelFlag, nonNegativeNumberFlag, positiveIntFlag } from '../runtime/flags.ts';
import { shardLeaseName } from '../runtime/leader.ts';
import { createLogger, type Logger } from '../runtime/logging.ts';
import { runControllerMain } from '../runtime/main.ts';
import { Manager } from '../runtime/manager.ts';
import { ArtifactCache } from './artifact.ts';
import { configureKustomize, defaultKustomizeSettings } from './kustomize/settings.ts';
import { createPackageMetrics, registerArtifactMetrics } from './metrics.ts';
import { configureRendering } from './program/index.ts';
import { createPackageController } from './reconcile/controller.ts';
import { DEFAULT_VERIFY_INTERVAL_MS } from './drift/verify.ts';

/** The settings of one apply-controller process, as the flags give them. */
export interface ApplyControllerFlags {
  readonly kubeconfig?: string | undefined;
  readonly concurrent: number;
  /** `--kube-api-qps`; undefined (the default) follows API Priority and Fairness. */
  readonly kubeApiQps: number | undefined;
  /** `--kube-api-burst`; undefined (the default) follows API Priority and Fairness. */
  readonly kubeApiBurst: number | undefined;
  /** Listen address of /metrics (and /healthz, /readyz); empty for none. */
  readonly metricsAddr: string;
  /** Listen address of /healthz and /readyz alone; empty for none. */
  readonly healthAddr: string;
  readonly leaderElect: boolean;
  readonly leaderElectionId: string;
  readonly leaderElectionNamespace: string;
  /** Packages without `serviceAccountName` apply as this account of their namespace. */
  readonly defaultServiceAccount?: string | undefined;
  /**
   * `--allow-cross-namespace-refs`: sources and dependencies may be in other
   * namespaces and Packages applying as the controller may write anywhere.
   * Off by default (multi-tenant lockdown).
   */
  readonly allowCrossNamespaceRefs: boolean;
  readonly artifactCacheDir: string;
  /** Reconcile only Packages with these labels. */
  readonly watchLabelSelector?: string | undefined;
  /** Reconcile only this namespace; all when undefined. */
  readonly watchNamespace?: string | undefined;
  /** Delay before a Package waiting for a dependency looks again. */
  readonly dependencyRequeueMs: number;
  /** `--drift-verify-interval`: every object of a healthy Package is checked by a server-side dry run once per this long; 0: never. */
  readonly driftVerifyIntervalMs: number;
  /** The controller's namespace, holding the `trellis-revision-key` Secret. */
  readonly revisionKeyNamespace: string;
  /** `--kustomize-path`: the kustomize binary that renders kustomizations (default `kustomize` from the PATH). */
  readonly kustomizePath: string;
  /** `--kustomize-timeout`: how long one render may take. */
  readonly kustomizeTimeoutMs: number;
  readonly logLevel: Level;
  /** `--no-program-bundles` sets it false: only pre-rendered bundles and plain manifests are applied. */
  readonly programBundles: boolean;
  /** Time, memory and parallelism of program renders (apply-controller/program/). */
  readonly renderTimeoutMs: number;
  readonly renderMemoryMb: number;
  readonly renderConcurrency: number;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function serviceAccountName(value: string): string {
  if (!DNS_LABEL.test(value)) throw new InvalidArgumentError('must be a service account name');
  return value;
}

/** The commander program for the flags (exported so `--help` output can be tested). */
export function applyControllerCommand(): Command {
  return new Command()
    .name('apply-controller')
    .description('Trellis apply-controller: Package objects keep the cluster equal to a source revision')
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, then the in-cluster service account, then ~/.kube/config)')
    .option('--concurrent <n>', 'Packages reconciled at the same time (a reconcile mostly waits on the apiserver)', positiveIntFlag, 8)
    .option('--kube-api-qps <n>', KUBE_API_FLAG_HELP.qps, nonNegativeNumberFlag)
    .option('--kube-api-burst <n>', KUBE_API_FLAG_HELP.burst, positiveIntFlag)
    .option('--metrics-addr <addr>', 'listen address of /metrics (also /healthz and /readyz); "" for none', ':8080')
    .option('--health-addr <addr>', 'listen address of /healthz and /readyz; "" for none', ':8081')
    .option('--leader-elect', 'run leader election so only one replica reconciles', false)
    .option('--leader-election-id <name>', 'name of the Lease (with --watch-label-selector: suffixed with a hash of the selector)', 'trellis-apply-controller')
    .option('--leader-election-namespace <ns>', 'namespace of the Lease (default: POD_NAMESPACE or trellis-system)')
    .option('--default-service-account <name>', 'Packages without serviceAccountName apply as this account of their namespace', serviceAccountName)
    .option('--allow-cross-namespace-refs', 'single-tenant clusters: allow sources and dependencies in other namespaces, and Packages without a service account to write outside their namespace', false)
    .addOption(new Option('--no-cross-namespace-refs', 'the default now (kept for old command lines)').hideHelp())
    .option('--artifact-cache-dir <dir>', 'folder where artifacts are unpacked', join(tmpdir(), 'trellis-apply-controller'))
    .option('--watch-label-selector <selector>', 'reconcile only Packages matching this label selector (sharding: key=shard1, or !key for the unsharded rest); the Lease name gets a hash of it', labelSelectorFlag)
    .option('--watch-namespace <ns>', 'reconcile only this namespace (default: all)')
    .option('--dependency-requeue-interval <duration>', 'how soon a Package waiting for a dependency looks again', durationFlag, 10_000)
    .option('--drift-verify-interval <duration>', 'every object of a healthy Package is checked by a server-side dry run once per this long, '
      + 'in small batches spread over it, and corrected when the apiserver would now make something else of it (0: never)', durationOrOffFlag, DEFAULT_VERIFY_INTERVAL_MS)
    .option('--revision-key-namespace <ns>', 'namespace of the trellis-revision-key Secret that seals and signs PackageRevisions (default: POD_NAMESPACE or trellis-system)')
    .option('--kustomize-path <path>', 'the kustomize binary that renders a spec.path holding a kustomization (default: TRELLIS_KUSTOMIZE, else kustomize from the PATH)')
    .option('--kustomize-timeout <duration>', 'how long one kustomize render may take before it is stopped and refused', durationFlag, 30_000)
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, logLevelFlag, 'info' as Level)
    .option('--no-program-bundles', 'refuse program bundles (packages rendered at install time in the sandbox); pre-rendered bundles and plain manifests still apply')
    .option('--render-timeout <duration>', 'time limit of one program render', durationFlag, 30_000)
    .option('--render-memory-mb <n>', 'memory limit of one program render (MiB)', positiveIntFlag, 256)
    .option('--render-concurrency <n>', 'program renders running at once (each takes a core while it runs)', positiveIntFlag, 2)
    .allowExcessArguments(false);
}

/** Parses `argv` (without the node and script paths) into flags; throws a commander error on bad input. */
export function parseApplyControllerFlags(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ApplyControllerFlags {
  const program = applyControllerCommand().exitOverride();
  program.parse([...argv], { from: 'user' });
  const o = program.opts<Record<string, unknown>>();
  return {
    kubeconfig: o.kubeconfig as string | undefined,
    concurrent: o.concurrent as number,
    kubeApiQps: o.kubeApiQps as number | undefined,
    kubeApiBurst: o.kubeApiBurst as number | undefined,
    metricsAddr: o.metricsAddr as string,
    healthAddr: o.healthAddr as string,
    leaderElect: o.leaderElect === true,
    leaderElectionId: o.leaderElectionId as string,
    leaderElectionNamespace: (o.leaderElectionNamespace as string | undefined) ?? env.POD_NAMESPACE ?? 'trellis-system',
    defaultServiceAccount: o.defaultServiceAccount as string | undefined,
    // `--no-cross-namespace-refs` (the old opt-in to the lockdown, now the default) wins over the opt-out.
    allowCrossNamespaceRefs: o.allowCrossNamespaceRefs === true && o.crossNamespaceRefs !== false,
    artifactCacheDir: resolve(o.artifactCacheDir as string),
    watchLabelSelector: o.watchLabelSelector as string | undefined,
    watchNamespace: o.watchNamespace as string | undefined,
    dependencyRequeueMs: o.dependencyRequeueInterval as number,
    driftVerifyIntervalMs: o.driftVerifyInterval as number,
    revisionKeyNamespace: (o.revisionKeyNamespace as string | undefined) ?? env.POD_NAMESPACE ?? 'trellis-system',
    kustomizePath: (o.kustomizePath as string | undefined) ?? defaultKustomizeSettings(env).binary,
    kustomizeTimeoutMs: o.kustomizeTimeout as number,
    logLevel: o.logLevel as Level,
    programBundles: o.programBundles !== false,
    renderTimeoutMs: o.renderTimeout as number,
    renderMemoryMb: o.renderMemoryMb as number,
    renderConcurrency: o.renderConcurrency as number,
  };
}

/** Runs the apply-controller until a signal; resolves with the process exit code. */
export async function runApplyController(flags: ApplyControllerFlags, logger?: Logger): Promise<number> {
  const log = logger ?? createLogger({ name: 'apply-controller', level: flags.logLevel });
  const kubeConfig = loadKubeConfig({ path: flags.kubeconfig });
  await mkdir(flags.artifactCacheDir, { recursive: true });
  configureKustomize({ binary: flags.kustomizePath, timeoutMs: flags.kustomizeTimeoutMs });
  const manager = new Manager({
    name: 'apply-controller', kubeConfig, qps: flags.kubeApiQps, burst: flags.kubeApiBurst, logger: log,
    ...(flags.metricsAddr !== '' ? { listen: flags.metricsAddr } : {}),
    ...(flags.leaderElect ? { leaderElection: { namespace: flags.leaderElectionNamespace, leaseName: shardLeaseName(flags.leaderElectionId, flags.watchLabelSelector) } } : {}),
  });
  let health: HttpEndpoints | undefined;
  if (flags.healthAddr !== '' && flags.healthAddr !== flags.metricsAddr) {
    // A standby replica (leader election on, not leading) is ready too: healthy and waiting to take over.
    health = await startHttpServer({ listen: flags.healthAddr, ready: () => manager.ready || flags.leaderElect });
    log.info({ url: health.url }, 'serving /healthz and /readyz');
  }
  configureRendering(flags);
  const artifacts = new ArtifactCache({ dir: flags.artifactCacheDir });
  registerArtifactMetrics(manager.metrics.registry, artifacts);
  const packageMetrics = createPackageMetrics(manager.metrics.registry);
  const packages = createPackageController({
    client: manager.client, events: packageMetrics.countEvents(manager.events), artifacts, logger: log, metrics: manager.metrics,
    concurrency: flags.concurrent, defaultServiceAccount: flags.defaultServiceAccount,
    allowCrossNamespaceRefs: flags.allowCrossNamespaceRefs, watchLabelSelector: flags.watchLabelSelector,
    dependencyRequeueMs: flags.dependencyRequeueMs, revisionKeyNamespace: flags.revisionKeyNamespace, driftVerifyIntervalMs: flags.driftVerifyIntervalMs,
    ...(flags.watchNamespace === undefined ? {} : { namespace: flags.watchNamespace }),
  });
  packageMetrics.watch(packages.controller.informer);
  manager.add(packages.controller);
  manager.add({ kind: 'PackageRevision', start: () => packages.revisionCache.start(), stop: () => packages.revisionCache.stop() });
  let outcome: 'signal' | 'leadership-lost';
  try {
    outcome = await manager.runUntilSignal();
  } finally {
    await packages.cache.stop();
    await health?.close();
  }
  log.info({ outcome }, 'apply-controller stopped');
  return outcome === 'signal' ? 0 : 1;
}

if (import.meta.main) {
  await runControllerMain({ name: 'apply-controller', parseFlags: (argv) => parseApplyControllerFlags(argv), run: runApplyController });
}
