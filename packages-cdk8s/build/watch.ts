/**
 * The file watcher of the dev loop. It prefers the kernel's change notifications
 * and falls back to polling when they cannot be had: a machine whose inotify
 * instances or watches are used up (a busy CI host, many editors) makes the native
 * watcher fail or never finish its first scan, and a dev loop that silently never
 * rebuilds is worse than one that polls.
 */
import { watch, type ChokidarOptions, type FSWatcher } from 'chokidar';

/** A watcher that has finished its first scan, and how it watches. */
export interface OpenWatcher {
  readonly watcher: FSWatcher;
  /** Present when the watcher polls: why the native one was not used. */
  readonly pollingBecause?: string;
}

/** Options for {@link openWatcher}. */
export interface OpenWatcherOptions {
  /** Paths that never count as changes. */
  readonly ignored: (path: string) => boolean;
  /** How long the native watcher may take for its first scan (default 15 s). */
  readonly readyTimeoutMs?: number;
  /** Stands in for chokidar's `watch` in unit tests. */
  readonly watchFn?: (dir: string, options: ChokidarOptions) => FSWatcher;
}

/** Polling interval of the fallback: quick enough for a person saving a file. */
const POLL_INTERVAL_MS = 300;

/** Watches `dir`, natively if it can, by polling otherwise; resolves once the first scan is done. */
export async function openWatcher(dir: string, opts: OpenWatcherOptions): Promise<OpenWatcher> {
  const watchFn = opts.watchFn ?? watch;
  const base: ChokidarOptions = { ignoreInitial: true, ignored: opts.ignored };
  const native = watchFn(dir, base);
  const failure = await firstScan(native, opts.readyTimeoutMs ?? 15_000);
  if (failure === undefined) return { watcher: native };
  await native.close();
  const polling = watchFn(dir, { ...base, usePolling: true, interval: POLL_INTERVAL_MS, binaryInterval: POLL_INTERVAL_MS });
  const pollingFailure = await firstScan(polling, undefined);
  if (pollingFailure !== undefined) {
    await polling.close();
    throw new Error(`cannot watch ${dir}: ${failure}; polling failed too: ${pollingFailure}`);
  }
  return { watcher: polling, pollingBecause: failure };
}

/** Waits for `watcher`'s first scan; returns why it failed, or undefined when it is ready. */
function firstScan(watcher: FSWatcher, timeoutMs: number | undefined): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = timeoutMs === undefined ? undefined
      : setTimeout(() => resolve(`no first scan within ${timeoutMs} ms`), timeoutMs);
    const done = (why: string | undefined): void => {
      clearTimeout(timer);
      watcher.off('ready', onReady);
      watcher.off('error', onError);
      resolve(why);
    };
    const onReady = (): void => done(undefined);
    const onError = (err: unknown): void => done(err instanceof Error ? err.message : String(err));
    watcher.once('ready', onReady);
    watcher.once('error', onError);
  });
}
