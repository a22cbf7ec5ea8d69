/**
 * The local environment a benchmark run uses, started on first use and stopped
 * at the end: the cluster (real control plane + simulated node, Trellis's CRDs
 * installed), the Distribution registry and the Git server, all from hack/,
 * with their state under the run's temporary folder. The controllers run as
 * their own processes (see controllers.ts).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { installCrds } from '../../hack/install-crds.ts';
import { startGitServer, type GitServer } from '../../hack/git-server.ts';
import { startLocalCluster, type LocalCluster } from '../../hack/local-cluster.ts';
import { startRegistry, type Registry } from '../../hack/registry.ts';
import { KubeClient } from '../../runtime/kube.ts';
import { startControllers, type Controllers } from './controllers.ts';

/** What workloads need of the cluster. */
export interface ClusterAccess {
  readonly kubeconfigPath: string;
  readonly kubeConfig: k8s.KubeConfig;
  /** An admin client without client-side rate limit (the benchmark's own requests). */
  readonly client: KubeClient;
  /** `v1.20.2`, from /version. */
  readonly version: string;
  /** PIDs of the control plane's processes. */
  readonly pids: readonly number[];
  /** The apiserver's `/metrics` text. */
  metrics(): Promise<string>;
}

/** Options of {@link Environment.controllers}. */
export interface ControllersRequest {
  /** Stop running controllers and start new ones (a clean peak-memory reading). */
  readonly fresh?: boolean;
}

/** The environment of one run; every part starts on first use. */
export class Environment {
  readonly dir: string;
  readonly #log: (line: string) => void;
  #cluster: Promise<{ local: LocalCluster; access: ClusterAccess }> | undefined;
  #registry: Promise<Registry> | undefined;
  #git: Promise<GitServer> | undefined;
  #controllers: Promise<Controllers> | undefined;
  #controllerRuns = 0;
  readonly #controllerLogLevel: string;
  readonly #controllerArgs: readonly string[];
  readonly #background = new Map<string, Promise<unknown>>();

  constructor(dir: string, log: (line: string) => void, opts: { controllerLogLevel?: string; controllerArgs?: readonly string[] } = {}) {
    this.dir = dir;
    this.#log = log;
    this.#controllerLogLevel = opts.controllerLogLevel ?? 'info';
    this.#controllerArgs = opts.controllerArgs ?? [];
  }

  /** The cluster, with Trellis's CRDs installed. */
  async cluster(): Promise<ClusterAccess> {
    this.#cluster ??= (async () => {
      const local = await startLocalCluster({ dir: join(this.dir, 'cluster'), log: (l) => this.#log(`cluster: ${l}`) });
      const kubeConfig = new k8s.KubeConfig();
      kubeConfig.loadFromFile(local.kubeconfigPath);
      const client = new KubeClient(kubeConfig, { qps: 0, userAgent: 'trellis-bench' });
      await installCrds(client, { fieldManager: 'trellis-bench' });
      const version = await client.raw<{ gitVersion?: string }>('get', 'GET', '/version');
      const access: ClusterAccess = {
        kubeconfigPath: local.kubeconfigPath,
        kubeConfig,
        client,
        version: version.gitVersion ?? 'unknown',
        pids: local.pids,
        metrics: () => apiserverMetrics(local),
      };
      return { local, access };
    })();
    return (await this.#cluster).access;
  }

  /** The cluster's version if the cluster was started, else undefined. */
  async clusterVersion(): Promise<string | undefined> {
    if (!this.#cluster) return undefined;
    try {
      return (await this.#cluster).access.version;
    } catch {
      return undefined;
    }
  }

  /** The registry (plain HTTP, no auth). */
  registry(): Promise<Registry> {
    this.#registry ??= (async () => {
      const dir = join(this.dir, 'registry');
      mkdirSync(dir, { recursive: true });
      return startRegistry({ dir, log: (l) => this.#log(`registry: ${l}`) });
    })();
    return this.#registry;
  }

  /** The Git server (no auth). */
  git(): Promise<GitServer> {
    this.#git ??= startGitServer({ dir: join(this.dir, 'git'), log: (l) => this.#log(`git: ${l}`) });
    return this.#git;
  }

  /** Both controllers as processes against the cluster; started once, or anew with `fresh`. */
  async controllers(request: ControllersRequest = {}): Promise<Controllers> {
    if (request.fresh && this.#controllers) {
      const running = this.#controllers;
      this.#controllers = undefined;
      await (await running.catch(() => undefined))?.stop();
    }
    this.#controllers ??= (async () => {
      const cluster = await this.cluster();
      this.#controllerRuns += 1;
      return startControllers({
        kubeconfigPath: cluster.kubeconfigPath,
        dir: join(this.dir, `controllers-${this.#controllerRuns}`),
        // Bundled once per run: every start runs the same build.
        bundlesDir: join(this.dir, 'controller-bundles'),
        log: (l) => this.#log(`controllers: ${l}`),
        logLevel: this.#controllerLogLevel,
        extraArgs: this.#controllerArgs,
      });
    })();
    return this.#controllers;
  }

  /**
   * Registers a measurement running in the background (it waits most of the
   * time, e.g. for a poll interval). Its failure is its owner's to report.
   */
  runInBackground(what: string, work: Promise<unknown>): void {
    const settled = work.then(() => undefined, () => undefined).finally(() => this.#background.delete(what));
    this.#background.set(what, settled);
  }

  /**
   * Waits until no background measurement is running: for workloads that
   * count requests, which another measurement's reconcile would add to.
   */
  async awaitBackground(log: (line: string) => void): Promise<void> {
    for (const [what, running] of [...this.#background]) {
      log(`waiting for ${what} to finish first (it would add to the counts)`);
      await running;
    }
  }

  /** Stops whatever was started, controllers first, the cluster last. */
  async stop(): Promise<void> {
    const parts: [string, Promise<{ stop(): Promise<void> } | undefined> | undefined][] = [
      ['controllers', this.#controllers],
      ['git server', this.#git],
      ['registry', this.#registry],
      ['cluster', this.#cluster?.then((c) => c.local)],
    ];
    for (const [name, started] of parts) {
      if (!started) continue;
      const part = await started.catch(() => undefined);
      if (!part) continue;
      this.#log(`stopping the ${name}`);
      await part.stop().catch((err: unknown) => this.#log(`stopping the ${name} failed: ${String(err)}`));
    }
  }
}

/** GET /metrics of the apiserver with the admin token. */
function apiserverMetrics(cluster: LocalCluster): Promise<string> {
  const url = new URL('/metrics', cluster.server);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      ca: readFileSync(cluster.caFile), headers: { authorization: `Bearer ${cluster.adminToken}` }, timeout: 30_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`GET /metrics answered ${res.statusCode ?? '?'}`));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('GET /metrics timed out')));
    req.on('error', reject);
    req.end();
  });
}
