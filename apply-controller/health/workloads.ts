/**
 * Health of the apps/v1 workloads (and their old `extensions` twins), by
 * kstatus's rules: the controller's counts against the desired replicas, in a
 * fixed order so the message names the first thing still missing. The generic
 * checks (deletion, observedGeneration, Reconciling/Stalled) have already run.
 */
import { conditions, count, describeCondition, field, health, section, type ClusterObject, type Health } from './status.ts';

/** Desired replicas: `spec.replicas`, which the apiserver defaults to 1. */
function desiredReplicas(obj: ClusterObject): number {
  return count(section(obj, 'spec'), 'replicas', 1);
}

/** The controller's value for "no progress deadline": it never sets Progressing then. */
const NO_PROGRESS_DEADLINE = 2 ** 31 - 1;

/**
 * Deployment: Failed when Progressing says ProgressDeadlineExceeded.
 * InProgress until every desired replica exists, is updated, available and
 * ready, no old replica is left, Available is True and — when the Deployment
 * has a progress deadline (the apiserver sets 600 s by default) — Progressing
 * is True with NewReplicaSetAvailable. A Progressing=False for any other reason
 * is therefore InProgress, not Failed.
 */
export function deploymentHealth(obj: ClusterObject): Health {
  const all = conditions(obj);
  const deadline = all.find((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
  if (deadline) return health('Failed', obj, `progress deadline exceeded${deadline.message ? `: ${deadline.message}` : ''}`);
  const status = section(obj, 'status');
  const desired = desiredReplicas(obj);
  const total = count(status, 'replicas');
  const updated = count(status, 'updatedReplicas');
  const ready = count(status, 'readyReplicas');
  const available = count(status, 'availableReplicas');
  if (total < desired) return health('InProgress', obj, `${total}/${desired} replicas created`);
  if (updated < desired) return health('InProgress', obj, `${updated}/${desired} replicas updated`);
  if (total > desired) return health('InProgress', obj, `${total - desired} old replicas pending termination`);
  if (available < updated) return health('InProgress', obj, `${available}/${updated} replicas available`);
  if (ready < desired) return health('InProgress', obj, `${ready}/${desired} replicas ready`);
  const hasDeadline = count(section(obj, 'spec'), 'progressDeadlineSeconds', NO_PROGRESS_DEADLINE) !== NO_PROGRESS_DEADLINE;
  const rolledOut = all.some((c) => c.type === 'Progressing' && c.status === 'True' && c.reason === 'NewReplicaSetAvailable');
  if (hasDeadline && !rolledOut) {
    const progressing = all.find((c) => c.type === 'Progressing');
    return health('InProgress', obj, `new ReplicaSet not yet available${progressing ? ` (${describeCondition(progressing)})` : ''}`);
  }
  if (!all.some((c) => c.type === 'Available' && c.status === 'True')) {
    const availableCondition = all.find((c) => c.type === 'Available');
    return health('InProgress', obj, availableCondition ? describeCondition(availableCondition) : 'Available is not reported yet');
  }
  return health('Current', obj, `${available}/${desired} replicas available`);
}

/**
 * StatefulSet: Current at once with the OnDelete strategy (the user rolls Pods
 * by hand, so there is no rollout to wait for). Otherwise InProgress until
 * every desired replica exists and is ready and no extra one is left; then,
 * with a partition, until the replicas above it are updated; without one,
 * until every replica runs the current revision and the current and update
 * revisions agree.
 */
export function statefulSetHealth(obj: ClusterObject): Health {
  const spec = section(obj, 'spec');
  if (field(spec, 'updateStrategy', 'type') === 'OnDelete') return health('Current', obj, 'OnDelete update strategy: no rollout to wait for');
  const status = section(obj, 'status');
  const desired = desiredReplicas(obj);
  const total = count(status, 'replicas');
  const ready = count(status, 'readyReplicas');
  const updated = count(status, 'updatedReplicas');
  if (total < desired) return health('InProgress', obj, `${total}/${desired} replicas created`);
  if (ready < desired) return health('InProgress', obj, `${ready}/${desired} replicas ready`);
  if (total > desired) return health('InProgress', obj, `${total - desired} replicas pending termination`);
  const partition = field(spec, 'updateStrategy', 'rollingUpdate', 'partition');
  if (typeof partition === 'number') {
    const expected = desired - partition;
    if (updated < expected) return health('InProgress', obj, `${updated}/${expected} replicas updated (partition ${partition})`);
    return health('Current', obj, `${ready}/${desired} replicas ready, ${updated} updated (partition ${partition})`);
  }
  const current = count(status, 'currentReplicas');
  if (current < desired) return health('InProgress', obj, `${current}/${desired} replicas at the current revision`);
  // Absent revisions read as empty, as in kstatus: two absent ones agree.
  const revision = (key: string): string => (typeof status[key] === 'string' ? status[key] : '');
  if (revision('currentRevision') !== revision('updateRevision')) {
    return health('InProgress', obj, `rolling update in progress: ${updated}/${desired} replicas updated`);
  }
  return health('Current', obj, `${ready}/${desired} replicas ready`);
}

/**
 * DaemonSet: InProgress until the controller has written observedGeneration
 * and desiredNumberScheduled, and every desired node runs a scheduled,
 * updated, available and ready pod.
 */
export function daemonSetHealth(obj: ClusterObject): Health {
  const generation = section(obj, 'metadata').generation;
  if (typeof generation !== 'number') return health('InProgress', obj, 'metadata.generation not set yet');
  const status = section(obj, 'status');
  // The DaemonSet controller always writes these; without them it has not looked yet.
  if (typeof status.observedGeneration !== 'number') return health('InProgress', obj, `waiting for the controller to observe generation ${generation}`);
  if (typeof status.desiredNumberScheduled !== 'number') return health('InProgress', obj, 'waiting for the controller to count the nodes (no desiredNumberScheduled)');
  const desired = status.desiredNumberScheduled;
  const scheduled = count(status, 'currentNumberScheduled');
  const updated = count(status, 'updatedNumberScheduled');
  const available = count(status, 'numberAvailable');
  const ready = count(status, 'numberReady');
  if (scheduled < desired) return health('InProgress', obj, `${scheduled}/${desired} pods scheduled`);
  if (updated < desired) return health('InProgress', obj, `${updated}/${desired} pods updated`);
  if (available < desired) return health('InProgress', obj, `${available}/${desired} pods available`);
  if (ready < desired) return health('InProgress', obj, `${ready}/${desired} pods ready`);
  return health('Current', obj, `${ready}/${desired} pods ready`);
}

/**
 * ReplicaSet: InProgress while ReplicaFailure is True (a quota, say — named in
 * the message, and not Failed: it heals when the quota does), and until every
 * desired replica is labelled, available and ready with no extra one left.
 */
export function replicaSetHealth(obj: ClusterObject): Health {
  const failure = conditions(obj).find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  if (failure) return health('InProgress', obj, describeCondition(failure));
  const status = section(obj, 'status');
  const desired = desiredReplicas(obj);
  const labelled = count(status, 'fullyLabeledReplicas');
  const available = count(status, 'availableReplicas');
  const ready = count(status, 'readyReplicas');
  const total = count(status, 'replicas');
  if (labelled < desired) return health('InProgress', obj, `${labelled}/${desired} replicas created`);
  if (available < desired) return health('InProgress', obj, `${available}/${desired} replicas available`);
  if (ready < desired) return health('InProgress', obj, `${ready}/${desired} replicas ready`);
  if (total > desired) return health('InProgress', obj, `${total - desired} replicas pending termination`);
  return health('Current', obj, `${available}/${desired} replicas available`);
}
