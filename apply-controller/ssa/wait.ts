/**
 * `waitForHealthy`: polls objects until each is Current by the kstatus rules of
 * the health library, or the timeout passes.
 *
 * With an engine context the objects are read from the managed-object cache
 * (and the answers of this run's own writes, when newer), so a poll costs no
 * request; kinds the cache does not know are read from the apiserver, objects
 * sharing a kind and a namespace with one labelled list. Objects already Current
 * are not read again. The delay between polls starts at `pollIntervalMs` and
 * grows by half each round, up to `maxPollIntervalMs`. (A Package rollout does
 * not wait here at all: it looks once per phase with {@link unhealthyTargets} and
 * releases its worker; restores and CRD establishment still wait here.)
 *
 * `Failed` (a Job that failed, a Deployment past its progress deadline) does not
 * end the wait by default: kstatus's Failed is a reading of the moment, and
 * some of it heals on its own (a crash-looping Pod whose dependency comes up, a
 * Deployment that progresses again). The timeout decides, and the error shows
 * the Failed message. `failFast` ends the wait at the first Failed object
 * instead (used for CRDs, whose NamesAccepted=False never heals).
 */
import type { KubeClient } from '../../runtime/kube.ts';
import { assessHealth } from '../health/assess.ts';
import type { HealthChecks } from '../health/checks.ts';
import type { Health } from '../health/status.ts';
import { sleep } from './_async.ts';
import { readLive } from './_live.ts';
import { HealthCheckError, type UnhealthyObject } from './errors.ts';
import { targetOf, type ObjectInput, type Target } from './objects.ts';
import { resolveWaitOptions, type ResolvedWaitOptions, type WaitOptions } from './options.ts';
import type { KubeObject as ClusterObject } from '../../runtime/object.ts';

/** Concurrent reads of one poll. */
const READ_CONCURRENCY = 8;

function healthOfRead(read: { object: unknown } | { error: unknown }, checks: HealthChecks | undefined): Health {
  if ('error' in read) {
    const message = read.error instanceof Error ? read.error.message : String(read.error);
    return { status: 'Unknown', message: `cannot be read: ${message}` };
  }
  return assessHealth(read.object as Record<string, unknown> | undefined, checks ? { checks } : {});
}

/**
 * Resolves when every object is Current; rejects with a {@link HealthCheckError}
 * listing each object that is not when the timeout passes (or, with `failFast`,
 * when one is Failed), or with the signal's reason when it aborts.
 */
export function waitForHealthy(client: KubeClient, objects: readonly ObjectInput[], options: WaitOptions = {}): Promise<void> {
  return waitForTargets(client, objects.map(targetOf), options);
}

/** {@link waitForHealthy} for objects already turned into targets. */
export async function waitForTargets(client: KubeClient, targets: readonly Target[], options: WaitOptions = {}): Promise<void> {
  const opts = resolveWaitOptions(options);
  const deadline = Date.now() + opts.timeoutMs;
  let pending: Target[] = [...new Map(targets.map((t) => [t.id, t])).values()];
  let delay = opts.pollIntervalMs;
  for (;;) {
    opts.signal?.throwIfAborted();
    const unhealthy = await unhealthyTargets(client, pending, opts);
    const still = new Set(unhealthy.map((u) => u.id));
    pending = pending.filter((t) => still.has(t.id));
    if (pending.length === 0) return;
    if (opts.failFast && unhealthy.some((u) => u.status === 'Failed')) throw new HealthCheckError(unhealthy, opts.timeoutMs, true);
    const left = deadline - Date.now();
    if (left <= 0) throw new HealthCheckError(unhealthy, opts.timeoutMs);
    await sleep(Math.min(delay, left), opts.signal);
    delay = Math.min(delay * 1.5, opts.maxPollIntervalMs);
  }
}

/** The resourceVersion as a number, when it is one (etcd revisions are); NaN otherwise. */
function revisionNumber(obj: ClusterObject | undefined): number {
  const rv = obj?.metadata?.resourceVersion;
  return rv !== undefined && /^\d+$/.test(rv) ? Number(rv) : Number.NaN;
}

/**
 * The newer of the cached copy and this run's own answer. resourceVersions are
 * opaque by contract, but one apiserver hands out etcd revisions that grow; when
 * they are not numbers the cache wins (it follows the watch).
 */
function freshest(cached: ClusterObject | undefined, written: ClusterObject | undefined): ClusterObject | undefined {
  if (written === undefined) return cached;
  if (cached === undefined) return written;
  return revisionNumber(written) > revisionNumber(cached) ? written : cached;
}

/**
 * One look at the targets' health: every target that is not Current, with its
 * status and message. Reads the engine's cache (and this run's answers) where it
 * knows the kind, the apiserver for the rest.
 */
export async function unhealthyTargets(client: KubeClient, targets: readonly Target[],
  opts: Pick<ResolvedWaitOptions, 'labels' | 'signal' | 'engine'> & { readonly healthChecks?: HealthChecks | undefined }): Promise<UnhealthyObject[]> {
  const checks = opts.healthChecks ? { checks: opts.healthChecks } : {};
  const healths = new Array<Health | undefined>(targets.length);
  const toRead: number[] = [];
  targets.forEach((target, i) => {
    const lookup = opts.engine?.cache.lookup(target.ref);
    const written = opts.engine?.written.get(target.id);
    if (lookup?.known) healths[i] = assessHealth(freshest(lookup.object, written) as Record<string, unknown> | undefined, checks);
    else toRead.push(i);
  });
  if (toRead.length > 0) {
    const reads = await readLive(client, toRead.map((i) => (targets[i] as Target).ref), { labels: opts.labels, concurrency: READ_CONCURRENCY, signal: opts.signal });
    toRead.forEach((i, k) => { healths[i] = healthOfRead(reads[k] ?? { object: undefined }, opts.healthChecks); });
  }
  const unhealthy: UnhealthyObject[] = [];
  targets.forEach((target, i) => {
    const health = healths[i] as Health;
    if (health.status !== 'Current') unhealthy.push({ id: target.id, subject: target.subject, status: health.status, message: health.message });
  });
  return unhealthy;
}
