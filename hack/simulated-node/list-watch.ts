/**
 * List, then watch from the list's resourceVersion, forever: the informer pattern
 * without the cache. A watch the server ends (timeout) resumes from the last seen
 * resourceVersion; an expired one (410 Gone) or any error re-lists, with
 * exponential backoff between failures. stop() aborts the open request and every
 * timer, so a process that stopped its watches can exit.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { describeError, getJson, httpStatusOf } from './kube-rest.ts';
import type { WireList, WireObjectMeta } from './wire.ts';

/** A watch event type that carries an object. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** Options for {@link startListWatch}. */
export interface ListWatchOptions<T extends { readonly metadata: WireObjectMeta }> {
  readonly kubeConfig: KubeConfig;
  /** Collection path, e.g. `/api/v1/pods`. */
  readonly path: string;
  /** Selectors (fieldSelector, labelSelector). */
  readonly query?: Readonly<Record<string, string>>;
  /** Called with every object of a (re-)list: the complete current set. */
  readonly onList: (items: readonly T[]) => void;
  /** Called for each change after a list. */
  readonly onEvent: (type: WatchEventType, object: T) => void;
  readonly log: (line: string) => void;
  /**
   * How long one watch request lasts. It must stay under the 30 s inactivity limit
   * of client-node's Watch, or quiet watches end in a timeout error.
   */
  readonly watchSeconds?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** A running list+watch loop. */
export interface ListWatch {
  /** Resolves after the first list was delivered to `onList`. */
  readonly synced: Promise<void>;
  stop(): Promise<void>;
}

interface WatchOutcome {
  readonly resourceVersion: string;
  /** The server forgot our resourceVersion: only a new list can continue. */
  readonly expired: boolean;
  readonly error?: unknown;
}

/** Starts listing and watching `opts.path`. */
export function startListWatch<T extends { readonly metadata: WireObjectMeta }>(opts: ListWatchOptions<T>): ListWatch {
  const abort = new AbortController();
  let openWatch: AbortController | undefined;
  let markSynced: () => void = () => undefined;
  const synced = new Promise<void>((resolve) => { markSynced = resolve; });
  const stopped = (): boolean => abort.signal.aborted;

  const sleep = (ms: number): Promise<void> => new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      abort.signal.removeEventListener('abort', done);
      resolve();
    }
    abort.signal.addEventListener('abort', done);
  });

  const watchOnce = (resourceVersion: string): Promise<WatchOutcome> => new Promise((resolve) => {
    let lastVersion = resourceVersion;
    let expired = false;
    let serverError: Error | undefined;
    const finish = (err: unknown): void => {
      openWatch = undefined;
      expired ||= httpStatusOf(err) === 410;
      resolve({ resourceVersion: lastVersion, expired, error: serverError ?? (expired ? undefined : err ?? undefined) });
    };
    const query = {
      ...opts.query, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: opts.watchSeconds ?? 25,
    };
    new Watch(opts.kubeConfig).watch(opts.path, query, (type: string, object: unknown) => {
      if (type === 'ERROR') {
        const status = object as { code?: number; message?: string };
        if (status.code === 410) expired = true;
        else serverError = new Error(`watch error ${status.code ?? '?'}: ${status.message ?? ''}`);
        openWatch?.abort();
        return;
      }
      const meta = (object as { metadata?: WireObjectMeta }).metadata;
      if (meta?.resourceVersion) lastVersion = meta.resourceVersion;
      if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') opts.onEvent(type, object as T);
    }, finish).then((controller) => {
      openWatch = controller;
      if (stopped()) controller.abort();
    }, finish);
  });

  const run = async (): Promise<void> => {
    const initialBackoff = opts.initialBackoffMs ?? 500;
    let backoff = initialBackoff;
    while (!stopped()) {
      try {
        const list = await getJson<WireList<T>>(opts.kubeConfig, opts.path, opts.query, { signal: abort.signal });
        if (stopped()) return;
        opts.onList(list.items);
        markSynced();
        backoff = initialBackoff;
        let version = list.metadata.resourceVersion ?? '';
        for (;;) {
          const outcome = await watchOnce(version);
          if (stopped()) return;
          version = outcome.resourceVersion;
          if (outcome.expired) {
            opts.log(`watch of ${opts.path} expired (410 Gone): listing again`);
            break;
          }
          if (outcome.error !== undefined) {
            throw outcome.error instanceof Error ? outcome.error : new Error(`watch failed: ${JSON.stringify(outcome.error)}`);
          }
        }
      } catch (err) {
        if (stopped()) return;
        opts.log(`list/watch of ${opts.path} failed (${describeError(err)}): retrying in ${backoff} ms`);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, opts.maxBackoffMs ?? 10_000);
      }
    }
  };
  const loop = run();

  return {
    synced,
    async stop() {
      abort.abort();
      openWatch?.abort();
      await loop;
    },
  };
}
