/**
 * A de-duplicating work queue: a key added many times while waiting is worked on
 * once; a key added while its worker runs is worked on again afterwards (so the
 * last change is never missed); at most `concurrency` keys run at a time and one
 * key never runs twice at once.
 */

/** Options for {@link KeyedWorkQueue}. */
export interface KeyedWorkQueueOptions {
  /** Does the work for a key; must not throw (errors are the worker's to handle). */
  readonly work: (key: string) => Promise<void>;
  readonly concurrency?: number;
}

/** See the module comment. */
export class KeyedWorkQueue {
  readonly #work: (key: string) => Promise<void>;
  readonly #concurrency: number;
  readonly #waiting = new Set<string>();
  readonly #running = new Set<string>();
  readonly #again = new Set<string>();
  #idleWaiters: (() => void)[] = [];
  #stopped = false;

  constructor(opts: KeyedWorkQueueOptions) {
    this.#work = opts.work;
    this.#concurrency = opts.concurrency ?? 8;
  }

  /** Asks for `key` to be worked on (again). */
  add(key: string): void {
    if (this.#stopped) return;
    if (this.#running.has(key)) this.#again.add(key);
    else this.#waiting.add(key);
    this.#pump();
  }

  /** Resolves once nothing is waiting or running. */
  idle(): Promise<void> {
    if (this.#waiting.size === 0 && this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => { this.#idleWaiters.push(resolve); });
  }

  /** Drops waiting keys, accepts no more, and resolves when running work is done. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#waiting.clear();
    this.#again.clear();
    await this.idle();
  }

  #pump(): void {
    for (const key of this.#waiting) {
      if (this.#running.size >= this.#concurrency) break;
      if (this.#running.has(key)) continue;
      this.#waiting.delete(key);
      this.#running.add(key);
      void this.#work(key).catch(() => undefined).finally(() => {
        this.#running.delete(key);
        if (this.#again.delete(key) && !this.#stopped) this.#waiting.add(key);
        this.#pump();
        if (this.#waiting.size === 0 && this.#running.size === 0) {
          const waiters = this.#idleWaiters;
          this.#idleWaiters = [];
          for (const resolve of waiters) resolve();
        }
      });
    }
  }
}
