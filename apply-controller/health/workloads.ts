/**
 * Health of the apps/v1 workloads: a rollout is done when the controller has seen
 * the latest spec and every desired replica is updated and available.
 */
import { condition, count, describeCondition, field, health, section, staleGeneration, type ClusterObject, type Health } from './status.ts';

/** Desired replicas: `spec.replicas`, which the apiserver defaults to 1. */
function desiredReplicas(obj: ClusterObject): number {
  const v = section(obj, 'spec').replicas;
  return typeof v === 'number' ? v : 1;
}

/**
 * Deployment: Failed when Progressing says ProgressDeadlineExceeded; InProgress
 * until the latest generation is observed and all desired replicas are updated
 * and available, old replicas are gone and Available is True.
 */
export function deploymentHealth(obj: ClusterObject): Health {
  const stale = staleGeneration(obj, true);
  if (stale) return health('InProgress', obj, stale);
  const progressing = condition(obj, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return health('Failed', obj, `progress deadline exceeded${progressing.message ? `: ${progressing.message}` : ''}`);
  }
  const status = section(obj, 'status');
  const desired = desiredReplicas(obj);
  const updated = count(status, 'updatedReplicas');
  const total = count(status, 'replicas');
  const available = count(status, 'availableReplicas');
  if (updated < desired) return health('InProgress', obj, `${updated}/${desired} replicas updated`);
  if (total > updated) return health('InProgress', obj, `${total - updated} old replicas pending termination`);
  if (available < desired) return health('InProgress', obj, `${available}/${desired} replicas available`);
  const availableCondition = condition(obj, 'Available');
  if (availableCondition && availableCondition.status !== 'True') return health('InProgress', obj, describeCondition(availableCondition));
  return health('Current', obj, `${available}/${desired} replicas available`);
}

/**
 * StatefulSet: InProgress until the latest generation is observed, every desired
 * replica is ready, and — for RollingUpdate — the update revision is rolled out
 * (to the replicas above the partition, when one is set).
 */
export function statefulSetHealth(obj: ClusterObject): Health {
  const stale = staleGeneration(obj, true);
  if (stale) return health('InProgress', obj, stale);
  const status = section(obj, 'status');
  const desired = desiredReplicas(obj);
  const total = count(status, 'replicas');
  const ready = count(status, 'readyReplicas');
  const updated = count(status, 'updatedReplicas');
  if (total > desired) return health('InProgress', obj, `${total - desired} replicas pending termination`);
  if (ready < desired) return health('InProgress', obj, `${ready}/${desired} replicas ready`);
  const strategy = field(section(obj, 'spec'), 'updateStrategy', 'type') ?? 'RollingUpdate';
  if (strategy === 'RollingUpdate') {
    const partition = field(section(obj, 'spec'), 'updateStrategy', 'rollingUpdate', 'partition');
    if (typeof partition === 'number' && partition > 0) {
      const expected = Math.max(desired - partition, 0);
      if (updated < expected) return health('InProgress', obj, `${updated}/${expected} replicas updated (partition ${partition})`);
    } else if (status.currentRevision !== status.updateRevision) {
      return health('InProgress', obj, `rolling update in progress: ${updated}/${desired} replicas updated`);
    }
  }
  return health('Current', obj, `${ready}/${desired} replicas ready`);
}

/**
 * DaemonSet: InProgress until the latest generation is observed and every
 * scheduled node runs an updated, ready and available pod.
 */
export function daemonSetHealth(obj: ClusterObject): Health {
  const stale = staleGeneration(obj, true);
  if (stale) return health('InProgress', obj, stale);
  const status = section(obj, 'status');
  const desired = count(status, 'desiredNumberScheduled');
  const updated = count(status, 'updatedNumberScheduled');
  const ready = count(status, 'numberReady');
  const available = count(status, 'numberAvailable');
  if (updated < desired) return health('InProgress', obj, `${updated}/${desired} pods updated`);
  if (ready < desired) return health('InProgress', obj, `${ready}/${desired} pods ready`);
  if (available < desired) return health('InProgress', obj, `${available}/${desired} pods available`);
  return health('Current', obj, `${ready}/${desired} pods ready`);
}

/**
 * ReplicaSet: InProgress until the latest generation is observed and every
 * desired replica is ready and available; a ReplicaFailure (a quota, say) is
 * named in the message.
 */
export function replicaSetHealth(obj: ClusterObject): Health {
  const stale = staleGeneration(obj, true);
  if (stale) return health('InProgress', obj, stale);
  const failure = condition(obj, 'ReplicaFailure');
  if (failure?.status === 'True') return health('InProgress', obj, describeCondition(failure));
  const status = section(obj, 'status');
  const desired = desiredReplicas(obj);
  const total = count(status, 'replicas');
  const ready = count(status, 'readyReplicas');
  const available = count(status, 'availableReplicas');
  if (total > desired) return health('InProgress', obj, `${total - desired} replicas pending termination`);
  if (ready < desired) return health('InProgress', obj, `${ready}/${desired} replicas ready`);
  if (available < desired) return health('InProgress', obj, `${available}/${desired} replicas available`);
  return health('Current', obj, `${available}/${desired} replicas available`);
}
