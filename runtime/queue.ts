/**
 * The work queue between informers and a reconciler: `namespace/name` keys,
 * de-duplicated, at most one worker per key, bounded concurrency, per-key
 * exponential backoff and delayed requeues with jitter. Level-based: a key only
 * says "look at this object again", so a burst of events costs one reconcile.
 */

/** Options for {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** Keys processed at the same time (default 4). */
  readonly concurrency?: number;
  /** First backoff delay after an error (default 5 ms). */
  readonly backoffBaseMs?: number;
  /** Largest backoff delay (default 5 minutes). */
  readonly backoffCapMs?: number;
  /** `addAfter` adds up to this fraction of the delay at random (default 0.1). */
  readonly jitterFraction?: number;
  /** Random source in [0, 1) for jitter (tests pass a fixed one). */
  readonly random?: () => number;
  /** Called when depth or in-flight count changes (for metrics). */
  readonly onChange?: (depth: number, inFlight: number) => void;
}

/**
 * Processes one key. Handling errors (backoff, requeue) is the processor's job;
 * a throw that escapes it is retried with backoff.
 */
export type KeyProcessor = (key: string) => Promise<void>;

/** Backoff delay for the `failures`-th consecutive failure (1-based): base·2^(n-1), capped. */
export function backoffDelay(failures: number, baseMs: number, capMs: number): number {
  if (failures <= 0) return 0;
  // 2^n overflows to Infinity for large n; Math.min handles that.
  return Math.min(capMs, baseMs * 2 ** (failures - 1));
}

/** `delayMs` plus a random extra of up to `fraction`·delayMs: never earlier than asked. */
export function jitteredDelay(delayMs: number, fraction: number, random: () => number): number {
  return delayMs + delayMs * fraction * random();
}

interface Pending {
  readonly at: number;
  readonly timer: NodeJS.Timeout;
}

/**
 * A de-duplicating, concurrency-bounded queue that runs `process` for each key.
 * A key added while it waits is queued once; a key added while it is being
 * processed runs once more after the current run.
 */
export class WorkQueue {
  readonly #process: KeyProcessor;
  readonly #concurrency: number;
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #jitter: number;
  readonly #random: () => number;
  readonly #onChange: ((depth: number, inFlight: number) => void) | undefined;
  readonly #ready: string[] = [];
  /** Keys waiting to run (in #ready, or parked until their current run ends). */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #delayed = new Map<string, Pending>();
  readonly #failures = new Map<string, number>();
  readonly #running = new Set<Promise<void>>();
  #shuttingDown = false;

  constructor(process: KeyProcessor, options: WorkQueueOptions = {}) {
    this.#process = process;
    this.#concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
    this.#baseMs = options.backoffBaseMs ?? 5;
    this.#capMs = options.backoffCapMs ?? 5 * 60_000;
    this.#jitter = options.jitterFraction ?? 0.1;
    this.#random = options.random ?? Math.random;
    this.#onChange = options.onChange;
    if (this.#baseMs <= 0 || this.#capMs < this.#baseMs) {
      throw new RangeError(`backoff needs 0 < base (${this.#baseMs}) <= cap (${this.#capMs})`);
    }
  }

  /** Keys waiting to be processed (not counting delayed ones). */
  get depth(): number {
    return this.#ready.length;
  }

  /** Keys being processed right now. */
  get inFlight(): number {
    return this.#processing.size;
  }

  /** Keys with a delayed add pending. */
  get delayed(): number {
    return this.#delayed.size;
  }

  /** True once {@link shutdown} was called. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Queues `key` now. Ignored after shutdown. */
  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    // A key being processed is parked in #dirty and re-queued when its run ends.
    if (!this.#processing.has(key)) this.#ready.push(key);
    this.#pump();
  }

  /**
   * Queues `key` after `delayMs` plus jitter. When a delayed add of the key is
   * already pending, the earlier of the two wins.
   */
  addAfter(key: string, delayMs: number): void {
    this.#schedule(key, jitteredDelay(Math.max(0, delayMs), this.#jitter, this.#random));
  }

  /** Records a failure for `key` and queues it after its backoff delay. Returns that delay. */
  addRateLimited(key: string): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    const delay = backoffDelay(failures, this.#baseMs, this.#capMs);
    this.#schedule(key, delay);
    return delay;
  }

  /** Clears `key`'s failure count (after a success), so the next failure backs off from the start. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Drops a pending delayed add of `key` (a requeue or backoff timer). */
  cancelDelayed(key: string): void {
    const pending = this.#delayed.get(key);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#delayed.delete(key);
  }

  /** Consecutive failures recorded for `key`. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /**
   * Stops taking work: pending delayed adds are dropped, queued keys are not
   * started, and the returned promise resolves once in-flight work finished.
   */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    for (const pending of this.#delayed.values()) clearTimeout(pending.timer);
    this.#delayed.clear();
    this.#ready.length = 0;
    this.#dirty.clear();
    this.#changed();
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  #schedule(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const existing = this.#delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.#delayed.set(key, { at, timer });
  }

  #pump(): void {
    while (!this.#shuttingDown && this.#processing.size < this.#concurrency && this.#ready.length > 0) {
      const key = this.#ready.shift() as string;
      this.#dirty.delete(key);
      this.#processing.add(key);
      const run = this.#run(key);
      this.#running.add(run);
      void run.finally(() => this.#running.delete(run));
    }
    this.#changed();
  }

  async #run(key: string): Promise<void> {
    try {
      await this.#process(key);
    } catch {
      // The processor owns error handling; a throw that escapes it still must not
      // stop the queue, and is retried like any failure.
      if (!this.#shuttingDown) this.addRateLimited(key);
    } finally {
      this.#processing.delete(key);
      if (this.#dirty.has(key) && !this.#shuttingDown) this.#ready.push(key);
      this.#pump();
    }
  }

  #changed(): void {
    this.#onChange?.(this.#ready.length, this.#processing.size);
  }
}
