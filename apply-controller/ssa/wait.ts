/**
 * `waitForHealthy`: polls objects until each is Current by the kstatus rules of
 * the health library, or the timeout passes.
 *
 * Polling, not watching: a wait is short and covers few kinds, and a watch per
 * kind would cost a request and a held connection per kind for the whole wait.
 * Objects already Current are not read again. Objects sharing a kind and a
 * namespace are read with one labelled list when the caller passes the
 * Package's labels. The delay between polls starts at `pollIntervalMs` and
 * grows by half each round, up to `maxPollIntervalMs`, so a slow rollout costs
 * few requests.
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
import type { Health } from '../health/status.ts';
import { sleep } from './_async.ts';
import { readLive } from './_live.ts';
import { HealthCheckError, type UnhealthyObject } from './errors.ts';
import { targetOf, type ObjectInput, type Target } from './objects.ts';
import { resolveWaitOptions, type WaitOptions } from './options.ts';

/** Concurrent reads of one poll. */
const READ_CONCURRENCY = 8;

function healthOfRead(read: { object: unknown } | { error: unknown }): Health {
  if ('error' in read) {
    const message = read.error instanceof Error ? read.error.message : String(read.error);
    return { status: 'Unknown', message: `cannot be read: ${message}` };
  }
  return assessHealth(read.object as Record<string, unknown> | undefined);
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
    const reads = await readLive(client, pending.map((t) => t.ref), { labels: opts.labels, concurrency: READ_CONCURRENCY, signal: opts.signal });
    const unhealthy: UnhealthyObject[] = [];
    const stillPending: Target[] = [];
    pending.forEach((target, i) => {
      const health = healthOfRead(reads[i] ?? { object: undefined });
      if (health.status === 'Current') return;
      stillPending.push(target);
      unhealthy.push({ id: target.id, subject: target.subject, status: health.status, message: health.message });
    });
    pending = stillPending;
    if (pending.length === 0) return;
    if (opts.failFast && unhealthy.some((u) => u.status === 'Failed')) throw new HealthCheckError(unhealthy, opts.timeoutMs, true);
    const left = deadline - Date.now();
    if (left <= 0) throw new HealthCheckError(unhealthy, opts.timeoutMs);
    await sleep(Math.min(delay, left), opts.signal);
    delay = Math.min(delay * 1.5, opts.maxPollIntervalMs);
  }
}
