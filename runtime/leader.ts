/**
 * Leader election on a coordination.k8s.io/v1 Lease, so two replicas can run
 * and exactly one reconciles. Every write carries the resourceVersion that was
 * read (optimistic concurrency): of two candidates racing for a free lease,
 * the apiserver lets one win and answers the other with 409. Expiry is judged
 * by the local time since the lease record last changed, not by comparing
 * clocks with the holder (the approach client-go takes), so clock skew between
 * nodes cannot make two leaders.
 *
 * The renew deadline is kept by a timer, not by the loop: a renewal that hangs
 * (a slow or unreachable apiserver) cannot hold leadership open past it. A
 * renewal counts from when it was sent, and one that comes back after the
 * deadline counts as lost: another candidate may be about to take over, so the
 * leader's work is aborted (its signal) before that can happen.
 */
import { createHash } from 'node:crypto';
import type { KubeClient } from './kube.ts';
import { isConflict } from './kube-transport.ts';
import type { Logger } from './logging.ts';
import { microTime, type KubeObject } from './object.ts';

/** Options for {@link LeaderElector}. */
export interface LeaderElectionOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  /** Lease name, e.g. `trellis-source-controller`. */
  readonly name: string;
  /** This candidate's identity (unique per process: pod name + random suffix). */
  readonly identity: string;
  /** How long a lease is valid without renewal (default 15 s). */
  readonly leaseDurationMs?: number;
  /** The leader gives up if it could not renew for this long (default 10 s; must be < leaseDuration). */
  readonly renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew (default 2 s). */
  readonly retryPeriodMs?: number;
  /** Called when this candidate becomes leader; the signal aborts when leadership ends. */
  readonly onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called when leadership ends (lost, or released by {@link LeaderElector.stop}). */
  readonly onStoppedLeading?: () => void | Promise<void>;
  readonly logger?: Logger;
}

interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/**
 * A write refused before it left the process: the replica's renew deadline has
 * passed, so another replica may be leading (see {@link LeaderElector.writeRefusal}).
 */
export class LeaseExpiredError extends Error {
  constructor(lease: string, lateMs: number) {
    super(`not sent: the leader lease ${lease} was not renewed within its renew deadline (${lateMs} ms past it); another replica may be leading`);
    this.name = 'LeaseExpiredError';
  }
}

/** Campaigns for a Lease and keeps it renewed while leading. */
export class LeaderElector {
  readonly #o: Required<Omit<LeaderElectionOptions, 'onStoppedLeading' | 'logger'>> & LeaderElectionOptions;
  /** The last lease seen and when (local clock) its content last changed. */
  #observed: { lease: Lease; at: number; fingerprint: string } | undefined;
  #leading = false;
  #stopped = false;
  #releaseOnStop = true;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #leadership: AbortController | undefined;
  /** Fires at the renew deadline of the last successful renewal while leading. */
  #deadline: NodeJS.Timeout | undefined;
  /** That deadline (local clock), kept after leadership ends; undefined until this candidate first leads. */
  #leadingUntil: number | undefined;

  constructor(options: LeaderElectionOptions) {
    // Options passed as undefined (the Manager forwards unset ones) keep the defaults: an undefined deadline is a NaN timer.
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as unknown as LeaderElectionOptions;
    this.#o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...given };
    if (this.#o.renewDeadlineMs >= this.#o.leaseDurationMs) {
      throw new RangeError('renewDeadlineMs must be shorter than leaseDurationMs');
    }
  }

  /** True while this candidate holds the lease. */
  get isLeader(): boolean {
    return this.#leading;
  }

  /**
   * Why a write must not leave the process at `now`: the renew deadline of the
   * last successful renewal has passed (undefined within it, and before this
   * candidate first leads). The deadline's timer aborts the leader's work, but
   * a timer runs late when the event loop is busy, and work woken in the same
   * turn may still write; checked just before each write is sent, this holds
   * whatever the timers do.
   */
  writeRefusal(now = Date.now()): LeaseExpiredError | undefined {
    const until = this.#leadingUntil;
    return until !== undefined && now >= until ? new LeaseExpiredError(this.#o.name, now - until) : undefined;
  }

  /** Starts campaigning (idempotent). Returns at once; callbacks report leadership. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Stops campaigning; a leader releases the lease so another candidate takes
   * over at once. `release: false` leaves the lease to expire, as a crash would.
   */
  async stop(options: { readonly release?: boolean } = {}): Promise<void> {
    this.#releaseOnStop = options.release ?? true;
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      // Sent at `sentAt`: the lease others see is at least as fresh, so leading until sentAt + deadline is safe.
      const sentAt = Date.now();
      let held = false;
      try {
        held = await this.#tryAcquireOrRenew();
      } catch (err) {
        this.#o.logger?.warn({ err, lease: this.#o.name }, 'lease request failed');
      }
      const late = Date.now() >= sentAt + this.#o.renewDeadlineMs;
      if (held && late) {
        this.#o.logger?.warn({ lease: this.#o.name, tookMs: Date.now() - sentAt }, 'the lease request answered after the renew deadline; not leading on it');
      }
      if (held && !late && !this.#stopped) {
        if (!this.#leading) this.#becomeLeader();
        this.#armDeadline(sentAt + this.#o.renewDeadlineMs);
      } else if (held && late && this.#leading) {
        await this.#missedDeadline();
      }
      if (!this.#stopped) await this.#sleep(this.#o.retryPeriodMs);
    }
    if (this.#leading) {
      // Stop the leader's work first, then release: the next leader never overlaps it.
      await this.#loseLeadership();
      if (this.#releaseOnStop) {
        await this.#release().catch((err: unknown) => this.#o.logger?.warn({ err }, 'could not release the lease'));
      }
    }
  }

  #becomeLeader(): void {
    this.#leading = true;
    this.#leadership = new AbortController();
    this.#o.logger?.info({ lease: this.#o.name, identity: this.#o.identity }, 'became leader');
    // Not awaited: renewals must go on while the leader's work runs.
    const signal = this.#leadership.signal;
    void Promise.resolve().then(() => this.#o.onStartedLeading(signal))
      .catch((err: unknown) => this.#o.logger?.error({ err }, 'onStartedLeading failed'));
  }

  /** (Re)sets the timer that ends leadership at `at` unless a renewal sent before then succeeds first. */
  #armDeadline(at: number): void {
    this.#leadingUntil = at;
    clearTimeout(this.#deadline);
    this.#deadline = setTimeout(() => {
      void this.#missedDeadline().catch((err: unknown) => this.#o.logger?.error({ err }, 'onStoppedLeading failed'));
    }, Math.max(0, at - Date.now()));
  }

  async #missedDeadline(): Promise<void> {
    if (!this.#leading) return;
    this.#o.logger?.error({ lease: this.#o.name }, 'could not renew the lease in time; leadership lost');
    await this.#loseLeadership();
  }

  async #loseLeadership(): Promise<void> {
    if (!this.#leading) return;
    clearTimeout(this.#deadline);
    this.#leading = false;
    this.#leadership?.abort(new Error('lost the leader lease'));
    await this.#o.onStoppedLeading?.();
  }

  /** One round: true when this candidate holds the lease afterwards. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: this.#o.namespace, name: this.#o.name };
    const now = new Date();
    const lease = await this.#o.client.get<Lease>(ref);
    const durationSeconds = Math.max(1, Math.ceil(this.#o.leaseDurationMs / 1000));
    if (!lease) {
      try {
        const created = await this.#o.client.create<Lease>({
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
          metadata: { name: this.#o.name, namespace: this.#o.namespace },
          spec: {
            holderIdentity: this.#o.identity, leaseDurationSeconds: durationSeconds,
            acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0,
          },
        });
        this.#observe(created);
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
    }
    this.#observe(lease);
    const spec = lease.spec ?? {};
    const mine = spec.holderIdentity === this.#o.identity;
    if (!mine && spec.holderIdentity && !this.#expired()) return false;
    const next: Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.#o.identity, leaseDurationSeconds: durationSeconds, renewTime: microTime(now),
        acquireTime: mine ? spec.acquireTime : microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
      },
    };
    try {
      this.#observe(await this.#o.client.update(next));
      return true;
    } catch (err) {
      // Someone else wrote the lease since we read it: they won this round.
      if (isConflict(err)) return false;
      throw err;
    }
  }

  /** Notes the lease and, if its content changed, the local time of the change. */
  #observe(lease: Lease): void {
    const fingerprint = JSON.stringify([lease.spec?.holderIdentity, lease.spec?.renewTime, lease.spec?.leaseDurationSeconds]);
    if (this.#observed?.fingerprint !== fingerprint) this.#observed = { lease, at: Date.now(), fingerprint };
    else this.#observed.lease = lease;
  }

  #expired(): boolean {
    const observed = this.#observed;
    if (!observed) return true;
    const durationMs = (observed.lease.spec?.leaseDurationSeconds ?? 15) * 1000;
    return Date.now() > observed.at + durationMs;
  }

  /** Gives the lease up: empty holder, so others need not wait for it to expire. */
  async #release(): Promise<void> {
    const lease = this.#observed?.lease;
    if (!lease || lease.spec?.holderIdentity !== this.#o.identity) return;
    await this.#o.client.update<Lease>({
      ...lease,
      spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime() },
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}

/**
 * The Lease of one shard. A controller that reconciles every object uses `id`; one
 * started with a label selector (`--watch-label-selector`) uses `id` and a short hash
 * of the selector, so two shards never wait for each other's lease while the replicas
 * of one shard (started with the same flags) still elect a single leader.
 */
export function shardLeaseName(id: string, labelSelector: string | undefined): string {
  if (labelSelector === undefined || labelSelector === '') return id;
  const suffix = createHash('sha256').update(labelSelector).digest('hex').slice(0, 10);
  // A Lease name is a DNS subdomain: at most 253 characters.
  return `${id.slice(0, 253 - suffix.length - 1)}-${suffix}`;
}
