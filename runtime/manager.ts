/**
 * The process around a set of controllers, so a controller's main.ts only
 * builds its reconcilers: one client, logger, metrics registry and event
 * recorder; the /healthz, /readyz and /metrics server; leader election (only
 * the leader runs controllers, and the client sends no write once the lease's
 * renew deadline has passed); and a graceful stop on SIGTERM that finishes
 * in-flight reconciles before the lease is released.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import { EventRecorder } from './events.ts';
import { startHttpServer, type HttpEndpoints } from './http.ts';
import { KubeClient } from './kube.ts';
import { LeaderElector } from './leader.ts';
import { createLogger, type Logger } from './logging.ts';
import { countApiRequests, createMetrics, registerLeaderGauge, type ControllerMetrics } from './metrics.ts';

/** Leader election settings for {@link Manager}. */
export interface ManagerLeaderElection {
  /** Namespace of the Lease (the controller's own namespace). */
  readonly namespace: string;
  /** Lease name (default `trellis-<name>`). */
  readonly leaseName?: string;
  /** This replica's identity (default hostname + random suffix). */
  readonly identity?: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
}

/** What the manager runs: a Controller of any kind (or anything started and stopped the same way). */
export interface Runnable {
  readonly kind: string;
  start(): Promise<void>;
  /** Resolves once in-flight work finished. */
  stop(): Promise<void>;
  /** Aborts the signal of in-flight work (it finishes without writing more). */
  abortInFlight?(reason: string): void;
}

/** Options for {@link Manager}. */
export interface ManagerOptions {
  /** The controller process name, e.g. `source-controller` (logs, events, lease). */
  readonly name: string;
  readonly kubeConfig: KubeConfig;
  /** `--kube-api-qps` / `--kube-api-burst`; unset, the client follows API Priority and Fairness (runtime/rate-limit.ts). */
  readonly qps?: number;
  readonly burst?: number;
  /** Address of the health and metrics server (`host:port`, `:port`); omit for none. */
  readonly listen?: string | number;
  /** Omit to run without leader election (a single replica). */
  readonly leaderElection?: ManagerLeaderElection;
  readonly logger?: Logger;
  readonly metrics?: ControllerMetrics;
}

/** Runs controllers with shared plumbing; see the module comment. */
export class Manager {
  readonly name: string;
  readonly client: KubeClient;
  readonly logger: Logger;
  readonly metrics: ControllerMetrics;
  /** Events reported as `trellis.dev/<name>`. */
  readonly events: EventRecorder;
  readonly #options: ManagerOptions;
  readonly #controllers: Runnable[] = [];
  #elector: LeaderElector | undefined;
  #leaseClient: KubeClient | undefined;
  #http: HttpEndpoints | undefined;
  #running: Promise<void> | undefined;
  #synced = false;
  #stopping = false;
  #lost: (() => void) | undefined;
  readonly #leadershipLost = new Promise<void>((resolve) => { this.#lost = resolve; });

  constructor(options: ManagerOptions) {
    this.#options = options;
    this.name = options.name;
    this.logger = options.logger ?? createLogger({ name: options.name });
    this.metrics = options.metrics ?? createMetrics({ processMetrics: true });
    this.client = new KubeClient(options.kubeConfig, { qps: options.qps, burst: options.burst, userAgent: `trellis/${options.name}` });
    countApiRequests(this.metrics, this.client.requests);
    registerLeaderGauge(this.metrics, options.name, () => this.#synced);
    this.events = new EventRecorder({ client: this.client, controller: `trellis.dev/${options.name}`, logger: this.logger });
  }

  /** Adds a controller (before {@link Manager.start}). */
  add(controller: Runnable): this {
    this.#controllers.push(controller);
    return this;
  }

  /** True once this replica leads (or runs without election) and every controller's caches synced. */
  get ready(): boolean {
    return this.#synced;
  }

  /** The bound health/metrics server, once started. */
  get http(): HttpEndpoints | undefined {
    return this.#http;
  }

  /** Starts the HTTP server and campaigns for leadership; controllers start when this replica leads. */
  async start(): Promise<void> {
    if (this.#options.listen !== undefined) {
      this.#http = await startHttpServer({
        listen: this.#options.listen, registry: this.metrics.registry, ready: () => this.#synced || this.#standby(),
      });
      this.logger.info({ url: this.#http.url }, 'serving /healthz, /readyz and /metrics');
    }
    const le = this.#options.leaderElection;
    if (!le) {
      await this.#startControllers();
      return;
    }
    // The lease has a client of its own: its requests never queue behind the controllers'
    // (a renewal held up by the client's rate limiter could miss the deadline), and they are
    // the only writes the guard below lets through once the renew deadline has passed.
    this.#leaseClient = new KubeClient(this.#options.kubeConfig, { userAgent: `trellis/${this.name} (leader election)` });
    this.#elector = new LeaderElector({
      client: this.#leaseClient, namespace: le.namespace, name: le.leaseName ?? `trellis-${this.name}`,
      identity: le.identity ?? `${hostname()}-${randomBytes(3).toString('hex')}`,
      leaseDurationMs: le.leaseDurationMs, renewDeadlineMs: le.renewDeadlineMs, retryPeriodMs: le.retryPeriodMs,
      logger: this.logger,
      onStartedLeading: () => this.#startControllers(),
      onStoppedLeading: () => this.#onStoppedLeading(),
    });
    const elector = this.#elector;
    this.client.transport.guardWrites(() => elector.writeRefusal());
    this.#elector.start();
  }

  /**
   * Resolves if this replica loses its lease while running. Controllers are
   * stopped by then; main should exit non-zero so the Pod restarts as a
   * candidate (controllers cannot be restarted in place).
   */
  get leadershipLost(): Promise<void> {
    return this.#leadershipLost;
  }

  /** Stops controllers (waiting for in-flight reconciles), releases the lease, closes the server. */
  async stop(): Promise<void> {
    this.#stopping = true;
    // Shutdown: reconciles in flight stop at their next request instead of finishing a long apply.
    for (const c of this.#controllers) c.abortInFlight?.('shutting down');
    if (this.#elector) await this.#elector.stop();
    else await this.#stopControllers();
    await this.#http?.close();
    this.client.transport.close();
    this.#leaseClient?.transport.close();
  }

  /**
   * Runs until SIGTERM or SIGINT (then stops gracefully and resolves `signal`)
   * or until the lease is lost (resolves `leadership-lost`: exit non-zero).
   */
  async runUntilSignal(): Promise<'signal' | 'leadership-lost'> {
    await this.start();
    let onSignal = (_signal: NodeJS.Signals): void => undefined;
    const signalled = new Promise<'signal'>((resolve) => {
      onSignal = (signal) => {
        this.logger.info({ signal }, 'stopping');
        resolve('signal');
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    const outcome = await Promise.race([signalled, this.#leadershipLost.then(() => 'leadership-lost' as const)]);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await this.stop();
    return outcome;
  }

  /** A standby replica (not leading) is ready: it is healthy and waiting to take over. */
  #standby(): boolean {
    return this.#elector !== undefined && !this.#elector.isLeader;
  }

  #startControllers(): Promise<void> {
    this.#running ??= (async () => {
      await Promise.all(this.#controllers.map((c) => c.start()));
      this.#synced = true;
      this.logger.info({ controllers: this.#controllers.map((c) => c.kind) }, 'controllers running');
    })();
    return this.#running;
  }

  async #onStoppedLeading(): Promise<void> {
    // Another replica may lead already: work in flight must stop writing now, not when it is done.
    for (const c of this.#controllers) c.abortInFlight?.('lost the leader lease');
    await this.#stopControllers();
    if (!this.#stopping) {
      this.logger.error('lost the leader lease; controllers stopped');
      // Stopped controllers cannot restart, so this replica must not lead again.
      // Not awaited: this runs inside the elector's loop, which stop() waits for.
      void this.#elector?.stop({ release: false });
      this.#lost?.();
    }
  }

  async #stopControllers(): Promise<void> {
    if (!this.#running) return;
    await this.#running.catch(() => undefined);
    await Promise.all(this.#controllers.map((c) => c.stop()));
    this.#synced = false;
  }
}
