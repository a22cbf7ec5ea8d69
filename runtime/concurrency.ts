/**
 * Bounded concurrency: the one helper every layer uses to run many small
 * requests or file operations a few at a time.
 */

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
