/**
 * Health of the built-in kinds outside apps/v1 that kstatus has its own rule
 * for: Pods, Jobs, PersistentVolumeClaims, Services and CRDs, plus the kinds
 * that are Current as soon as they exist. The generic checks (deletion,
 * observedGeneration, Reconciling/Stalled) have already run when these do.
 */
import {
  condition, conditions, count, describeCondition, field, health, section,
  type ClusterObject, type Health, type HealthContext,
} from './status.ts';
import { waitsFor } from './wait-for.ts';

/**
 * How long a Pod may wait for the scheduler before it is Failed. kstatus's
 * window: long enough for a busy scheduler, short enough that a Pod that fits
 * no node ends a health wait instead of running into its timeout.
 */
export const SCHEDULE_GRACE_MS = 15_000;

/** Waiting reasons worth naming in a message: the container will not start on its own soon. */
const STUCK_WAITING_REASONS = new Set([
  'ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull',
  'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'CrashLoopBackOff',
]);

interface WaitingContainer { readonly name: string; readonly reason: string; readonly message?: string }

/** Containers of `keys` (status lists) waiting for one of `reasons`, in order. */
function waitingContainers(obj: ClusterObject, keys: readonly string[], reasons: ReadonlySet<string>): WaitingContainer[] {
  const status = section(obj, 'status');
  const found: WaitingContainer[] = [];
  for (const key of keys) {
    const list = status[key];
    if (!Array.isArray(list)) continue;
    for (const cs of list as unknown[]) {
      const rec = typeof cs === 'object' && cs !== null ? cs as Record<string, unknown> : {};
      const reason = field(rec, 'state', 'waiting', 'reason');
      if (typeof reason !== 'string' || !reasons.has(reason)) continue;
      const message = field(rec, 'state', 'waiting', 'message');
      found.push({ name: String(rec.name), reason, ...(typeof message === 'string' ? { message } : {}) });
    }
  }
  return found;
}

const describeWaiting = (c: WaitingContainer): string =>
  `container ${c.name} is waiting: ${c.reason}${c.message ? ` (${c.message})` : ''}`;

/** Why a Pod that is not ready is waiting: a stuck container (init containers first), or its phase and `fallback`. */
function notReadyDetail(obj: ClusterObject, phase: string, fallback: string): string {
  const stuck = waitingContainers(obj, ['initContainerStatuses', 'containerStatuses'], STUCK_WAITING_REASONS)[0];
  return stuck ? describeWaiting(stuck) : `${phase}, ${fallback}`;
}

function podRunningHealth(obj: ClusterObject, wantComplete: boolean): Health {
  const ready = condition(obj, 'Ready');
  if (ready?.status === 'True') {
    return wantComplete ? health('InProgress', obj, 'running; waiting for it to complete') : health('Current', obj, 'running and ready');
  }
  // Only app containers count, as in kstatus: a Running Pod's init containers are done.
  const looping = waitingContainers(obj, ['containerStatuses'], new Set(['CrashLoopBackOff']));
  if (looping.length > 0) return health('Failed', obj, looping.map(describeWaiting).join('; '));
  return health('InProgress', obj, notReadyDetail(obj, 'Running', ready ? describeCondition(ready) : 'not ready'));
}

function podPendingHealth(obj: ClusterObject, now: number): Health {
  const scheduled = condition(obj, 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    // No creationTimestamp reads as "long ago", as kstatus's zero time does.
    const created = Date.parse(String(section(obj, 'metadata').creationTimestamp));
    const fresh = Number.isFinite(created) && now - created < SCHEDULE_GRACE_MS;
    return health(fresh ? 'InProgress' : 'Failed', obj, `not scheduled: ${describeCondition(scheduled)}`);
  }
  return health('InProgress', obj, notReadyDetail(obj, 'Pending', 'waiting to start'));
}

/**
 * Pod: Current when Running and Ready, or when it ran to its end — Succeeded,
 * and also Failed (kstatus: "completed, but not successfully"), unless the Pod
 * opts in with `wait-for: complete`, which waits for Succeeded and makes a
 * failed run Failed. Failed when Running, not Ready, with a container in
 * CrashLoopBackOff, or Pending as Unschedulable for longer than
 * {@link SCHEDULE_GRACE_MS}. Otherwise InProgress, naming a stuck container.
 */
export function podHealth(obj: ClusterObject, context: HealthContext): Health {
  const status = section(obj, 'status');
  const wantComplete = waitsFor(obj, 'complete');
  switch (status.phase) {
    case 'Succeeded':
      return health('Current', obj, 'completed');
    case 'Failed': {
      const why = [status.reason, status.message].filter((s) => typeof s === 'string').join(': ');
      return wantComplete
        ? health('Failed', obj, `failed${why ? `: ${why}` : ''}`)
        : health('Current', obj, `completed, unsuccessfully${why ? ` (${why})` : ''}`);
    }
    case 'Running':
      return podRunningHealth(obj, wantComplete);
    case 'Pending':
      return podPendingHealth(obj, context.now);
    case undefined:
    case '':
      return health('InProgress', obj, 'waiting for the pod to be scheduled');
    default:
      return health('Unknown', obj, `unknown phase ${JSON.stringify(status.phase)}`);
  }
}

/**
 * Job: Current once it has started (kstatus does not wait for completion),
 * when Complete is True, or when it is suspended (`spec.suspend` and
 * Suspended=True); Failed when Failed is True; InProgress before it starts.
 * With `wait-for: complete` only Complete=True is Current: a running or
 * suspended Job stays InProgress.
 */
export function jobHealth(obj: ClusterObject): Health {
  const spec = section(obj, 'spec');
  const status = section(obj, 'status');
  const completions = count(spec, 'completions', count(spec, 'parallelism', 1));
  const succeeded = count(status, 'succeeded');
  const wantComplete = waitsFor(obj, 'complete');
  const suspended = spec.suspend === true;
  // The first decisive condition wins, in the order the Job controller wrote them.
  for (const c of conditions(obj)) {
    if (c.status !== 'True') continue;
    if (c.type === 'Complete') return health('Current', obj, `complete (${succeeded}/${completions} succeeded)`);
    if (c.type === 'Failed') return health('Failed', obj, describeCondition(c));
    if (c.type === 'Suspended' && suspended && !wantComplete) return health('Current', obj, 'suspended');
  }
  const progress = `${succeeded}/${completions} succeeded, ${count(status, 'active')} active, ${count(status, 'failed')} failed`;
  if (wantComplete) return health('InProgress', obj, `${suspended ? 'suspended; ' : ''}waiting for it to complete: ${progress}`);
  if (typeof status.startTime !== 'string' || status.startTime === '') return health('InProgress', obj, 'not started yet');
  return health('Current', obj, `started: ${progress}`);
}

/** PersistentVolumeClaim: Current when Bound, otherwise InProgress (even Lost: kstatus has no Failed here). */
export function pvcHealth(obj: ClusterObject): Health {
  const phase = section(obj, 'status').phase;
  if (phase === 'Bound') return health('Current', obj, 'bound');
  if (phase === 'Lost') return health('InProgress', obj, 'lost its volume');
  return health('InProgress', obj, typeof phase === 'string' ? `${phase}, not bound yet` : 'not bound yet');
}

/**
 * Service: Current once created; a LoadBalancer needs its cluster IP, and with
 * `wait-for: load-balancer` also an ingress address from the load balancer
 * controller (which a cluster without one never gives).
 */
export function serviceHealth(obj: ClusterObject): Health {
  const spec = section(obj, 'spec');
  if (spec.type !== 'LoadBalancer') return health('Current', obj, 'created');
  if (typeof spec.clusterIP !== 'string' || spec.clusterIP === '') return health('InProgress', obj, 'waiting for a cluster IP');
  const ingress = field(section(obj, 'status'), 'loadBalancer', 'ingress');
  const addresses = (Array.isArray(ingress) ? ingress as unknown[] : [])
    .map((i) => typeof i === 'object' && i !== null ? (i as Record<string, unknown>).ip ?? (i as Record<string, unknown>).hostname : undefined)
    .filter((a): a is string => typeof a === 'string');
  if (addresses.length > 0) return health('Current', obj, `load balancer ready (${addresses.join(', ')})`);
  if (waitsFor(obj, 'load-balancer')) return health('InProgress', obj, 'waiting for a load balancer address');
  return health('Current', obj, 'created; no load balancer address yet (not waited for)');
}

/**
 * CustomResourceDefinition: Current once Established; Failed when its names
 * are refused or it is not Established for a reason other than Installing.
 */
export function crdHealth(obj: ClusterObject): Health {
  for (const c of conditions(obj)) {
    if (c.type === 'NamesAccepted' && c.status === 'False') return health('Failed', obj, describeCondition(c));
    if (c.type !== 'Established') continue;
    if (c.status === 'False' && c.reason !== 'Installing') return health('Failed', obj, describeCondition(c));
    if (c.status === 'True') return health('Current', obj, 'established');
  }
  const established = condition(obj, 'Established');
  return health('InProgress', obj, established ? describeCondition(established) : 'not established yet');
}

/** Kinds with nothing to wait for once they exist (ConfigMap, Secret, CronJob, PodDisruptionBudget). */
export function existsHealth(obj: ClusterObject): Health {
  return health('Current', obj, 'created (nothing to wait for)');
}
