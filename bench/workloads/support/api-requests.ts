/**
 * Counting, at the apiserver, the requests a Package reconcile makes: the
 * delta of `apiserver_request_total` over a window, split into the requests a
 * reconcile can have made and the rest (other components, the benchmark's own
 * /metrics reads), and waiting for a window in which nothing a reconcile could
 * make happened, so a measurement does not start inside some other work.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterAccess } from '../../framework/environment.ts';
import { describeRequests, parsePrometheusText, requestCounts, requestDelta, type RequestCount } from '../../framework/prometheus.ts';

/**
 * Core-group resources a Package reconcile can touch besides Trellis's own
 * kinds: the objects of the benchmark packages, what a package may also hold,
 * namespaces it may check, and Events.
 */
const CORE_RESOURCES: ReadonlySet<string> = new Set(['configmaps', 'secrets', 'serviceaccounts', 'services', 'namespaces', 'events']);

/** Other groups a reconcile can touch: workloads it applies, Events, access reviews for tenancy. */
const OTHER_GROUPS: ReadonlySet<string> = new Set(['apps', 'events.k8s.io', 'authorization.k8s.io']);

/**
 * Reads the apiserver makes of itself every 10 s (its bootstrap controller
 * checks the `default` namespace and the `kubernetes` Service). The counter
 * cannot tell them from anyone else's, so GETs of these are never counted;
 * they show among the requests not counted.
 */
const APISERVER_OWN_GETS: ReadonlySet<string> = new Set(['namespaces', 'services']);

/**
 * True for a request a Package reconcile can have made: every Trellis kind
 * (whatever new kinds the engine adds, by group), and the resources above.
 * WATCH is left out: the apiserver counts a watch when it ends, and watches of
 * every component end on their own timers. Leases, nodes, pods, endpoints,
 * the apiserver's own periodic reads and non-resource URLs (discovery,
 * /metrics) belong to other components or to the benchmark; they are listed
 * apart, never silently dropped.
 */
export function isReconcileRequest(r: RequestCount): boolean {
  if (r.verb === 'WATCH' || r.resource === '') return false;
  if (r.group === 'trellis.dev' || r.group.endsWith('.trellis.dev')) return true;
  const base = r.resource.split('/')[0]!;
  if (r.group !== '') return OTHER_GROUPS.has(r.group);
  return CORE_RESOURCES.has(base) && !(r.verb === 'GET' && r.resource === base && APISERVER_OWN_GETS.has(base));
}

/** A window's requests: those a reconcile can have made, and the rest. */
export interface RequestSplit {
  readonly reconcile: RequestCount[];
  readonly other: RequestCount[];
}

/** Splits rows by {@link isReconcileRequest}. */
export function splitRequests(rows: readonly RequestCount[]): RequestSplit {
  return { reconcile: rows.filter(isReconcileRequest), other: rows.filter((r) => !isReconcileRequest(r)) };
}

/** Options of {@link ApiRequests.waitForQuiet}. */
export interface QuietOptions {
  /** Length of one window. */
  readonly windowMs: number;
  /** Give up after this long. */
  readonly limitMs: number;
  /** When the limit passes: throw (a count would be wrong) or go on (a latency is only a little noisier). */
  readonly onLimit: 'throw' | 'continue';
  readonly log: (line: string) => void;
}

/** The apiserver's request counter of one cluster. */
export class ApiRequests {
  readonly #cluster: ClusterAccess;

  constructor(cluster: ClusterAccess) {
    this.#cluster = cluster;
  }

  /** `apiserver_request_total` now. */
  async scrape(): Promise<RequestCount[]> {
    return requestCounts(parsePrometheusText(await this.#cluster.metrics()));
  }

  /** The requests since `before`, split. */
  async since(before: readonly RequestCount[]): Promise<RequestSplit> {
    return splitRequests(requestDelta(before, await this.scrape()));
  }

  /**
   * Waits until a whole window passes without a request a reconcile could
   * make; resolves with what the busy windows saw (for the notes).
   */
  async waitForQuiet(opts: QuietOptions): Promise<string[]> {
    const t0 = performance.now();
    const busyWindows: string[] = [];
    for (;;) {
      const before = await this.scrape();
      await sleep(opts.windowMs);
      const busy = (await this.since(before)).reconcile;
      if (busy.length === 0) return busyWindows;
      busyWindows.push(describeRequests(busy));
      opts.log(`not quiet yet: ${describeRequests(busy)}`);
      if (performance.now() - t0 > opts.limitMs) {
        const why = `not quiet within ${opts.limitMs / 1000} s (last window: ${describeRequests(busy)})`;
        if (opts.onLimit === 'throw') throw new Error(why);
        busyWindows.push(`${why}; went on`);
        return busyWindows;
      }
    }
  }
}
