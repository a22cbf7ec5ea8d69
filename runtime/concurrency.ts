/**
 * Bounded concurrency: the one helper every layer uses to run many small
 * requests or file operations a few at a time.
 */

/**
 * File operations under way at once where many small files are read or
 * written (a checkout, an archive, a bundle). Each is a round trip or more to
 * libuv's thread pool, and one at a time the process waits more than it works
 * (development notes, session 27).
 */
export const FILE_CONCURRENCY = 16;

/**
 * Runs `work` for every item with at most `limit` running at once and resolves
 * with the results in item order. After the first rejection no new item starts;
 * the ones already running finish, then the first error is thrown (so a caller
 * that cleans up after a failure never races a write still in flight).
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number,
  work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

/**
 * The results of `work` over `items` in item order, with the work of up to
 * `ahead` later items under way while the consumer handles one (file reads
 * overlap the handling of the files before them). A failure is thrown when its
 * item's turn comes; work started for items the consumer never reaches (it
 * stopped early) finishes unobserved.
 */
export async function* inOrderAhead<T, R>(items: readonly T[], ahead: number,
  work: (item: T, index: number) => Promise<R>): AsyncGenerator<R, void, undefined> {
  const pending = new Map<number, Promise<R>>();
  // An error `work` throws at once becomes its item's rejection, like any other.
  const start = async (index: number): Promise<R> => work(items[index] as T, index);
  let next = 0;
  for (let index = 0; index < items.length; index++) {
    while (next < items.length && next <= index + Math.max(0, ahead)) {
      const started = start(next);
      // Awaited at its turn; until then a failure must not count as unhandled.
      started.catch(() => undefined);
      pending.set(next, started);
      next++;
    }
    const result = pending.get(index) as Promise<R>;
    pending.delete(index);
    yield await result;
  }
}

/**
 * Background tasks, at most `limit` under way: {@link TaskPool.run} waits for
 * room before it starts one, {@link TaskPool.settle} for all of them. The first
 * failure is thrown by the next `run` or by `settle`, and every task started is
 * always waited for first (a caller that then cleans up never races one).
 */
export class TaskPool {
  readonly #limit: number;
  readonly #running = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** Starts `task` once fewer than `limit` run; throws (after the running ones finish) when an earlier task failed. */
  async run(task: () => Promise<void>): Promise<void> {
    while (this.#running.size >= this.#limit) await Promise.race(this.#running);
    if (this.#failure) {
      await this.settle();
      return;
    }
    const running: Promise<void> = (async () => task())()
      .catch((error: unknown) => { this.#failure ??= { error }; })
      .finally(() => { this.#running.delete(running); });
    this.#running.add(running);
  }

  /** Waits for every task started; throws the first failure. */
  async settle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
    if (this.#failure) throw this.#failure.error;
  }
}
