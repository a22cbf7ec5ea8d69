/**
 * Health of the other built-in kinds with a status worth waiting for: Pods,
 * Jobs, PersistentVolumeClaims, Services, Namespaces and CRDs.
 */
import { condition, count, describeCondition, field, health, section, type ClusterObject, type Health } from './status.ts';

/** Waiting reasons that mean the container will not start on its own soon; named in the message. */
const STUCK_WAITING_REASONS = new Set([
  'ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull',
  'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'CrashLoopBackOff',
]);

/** The first container (init containers first) waiting for a stuck reason. */
function stuckContainer(obj: ClusterObject): { name: string; reason: string; message?: string } | undefined {
  const status = section(obj, 'status');
  for (const key of ['initContainerStatuses', 'containerStatuses']) {
    const list = status[key];
    if (!Array.isArray(list)) continue;
    for (const cs of list as unknown[]) {
      const rec = typeof cs === 'object' && cs !== null ? cs as Record<string, unknown> : {};
      const reason = field(rec, 'state', 'waiting', 'reason');
      if (typeof reason === 'string' && STUCK_WAITING_REASONS.has(reason)) {
        const message = field(rec, 'state', 'waiting', 'message');
        return { name: String(rec.name), reason, ...(typeof message === 'string' ? { message } : {}) };
      }
    }
  }
  return undefined;
}

/**
 * Pod: Current when Succeeded, or Running with Ready True; Failed when the phase
 * is Failed or a container is in CrashLoopBackOff; otherwise InProgress, naming
 * a stuck container's reason (ImagePullBackOff, ErrImagePull, ...) or why it is
 * not scheduled.
 */
export function podHealth(obj: ClusterObject): Health {
  const status = section(obj, 'status');
  const phase = status.phase;
  if (phase === 'Succeeded') return health('Current', obj, 'completed');
  if (phase === 'Failed') {
    const why = [status.reason, status.message].filter((s) => typeof s === 'string').join(': ');
    return health('Failed', obj, `failed${why ? `: ${why}` : ''}`);
  }
  const ready = condition(obj, 'Ready');
  if (phase === 'Running' && ready?.status === 'True') return health('Current', obj, 'running and ready');
  const stuck = stuckContainer(obj);
  if (stuck) {
    const detail = `container ${stuck.name} is waiting: ${stuck.reason}${stuck.message ? ` (${stuck.message})` : ''}`;
    return health(stuck.reason === 'CrashLoopBackOff' ? 'Failed' : 'InProgress', obj, detail);
  }
  const scheduled = condition(obj, 'PodScheduled');
  if (scheduled?.status === 'False') return health('InProgress', obj, `not scheduled: ${describeCondition(scheduled)}`);
  if (typeof phase !== 'string') return health('InProgress', obj, 'waiting for the pod to be scheduled');
  return health('InProgress', obj, ready ? `${phase}, ${describeCondition(ready)}` : `${phase}, not ready`);
}

/** Job: Current when Complete is True, Failed when Failed is True, otherwise InProgress with its counts. */
export function jobHealth(obj: ClusterObject): Health {
  const status = section(obj, 'status');
  const complete = condition(obj, 'Complete');
  if (complete?.status === 'True') return health('Current', obj, `complete (${count(status, 'succeeded')} succeeded)`);
  const failed = condition(obj, 'Failed');
  if (failed?.status === 'True') return health('Failed', obj, describeCondition(failed));
  return health('InProgress', obj,
    `${count(status, 'active')} active, ${count(status, 'succeeded')} succeeded, ${count(status, 'failed')} failed`);
}

/** PersistentVolumeClaim: Current when Bound, Failed when Lost, otherwise InProgress. */
export function pvcHealth(obj: ClusterObject): Health {
  const phase = section(obj, 'status').phase;
  if (phase === 'Bound') return health('Current', obj, 'bound');
  if (phase === 'Lost') return health('Failed', obj, 'lost its volume');
  return health('InProgress', obj, typeof phase === 'string' ? `${phase}, not bound yet` : 'not bound yet');
}

/** Service: a LoadBalancer needs an ingress address; every other type is Current once created. */
export function serviceHealth(obj: ClusterObject): Health {
  if (section(obj, 'spec').type !== 'LoadBalancer') return health('Current', obj, 'created');
  const ingress = field(section(obj, 'status'), 'loadBalancer', 'ingress');
  if (Array.isArray(ingress) && ingress.length > 0) return health('Current', obj, 'load balancer ready');
  return health('InProgress', obj, 'waiting for a load balancer address');
}

/** Namespace: Current when Active, Terminating when Terminating. */
export function namespaceHealth(obj: ClusterObject): Health {
  const phase = section(obj, 'status').phase;
  if (phase === 'Active') return health('Current', obj, 'active');
  if (phase === 'Terminating') return health('Terminating', obj, 'terminating');
  return health('InProgress', obj, 'not active yet');
}

/** CustomResourceDefinition: Failed when its names are refused, Current once Established. */
export function crdHealth(obj: ClusterObject): Health {
  const names = condition(obj, 'NamesAccepted');
  if (names?.status === 'False') return health('Failed', obj, describeCondition(names));
  const established = condition(obj, 'Established');
  if (established?.status === 'True') return health('Current', obj, 'established');
  return health('InProgress', obj, established ? describeCondition(established) : 'not established yet');
}
