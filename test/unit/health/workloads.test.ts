// Health of Deployments, StatefulSets, DaemonSets and ReplicaSets, with status
// fields shaped as the kube-controller-manager writes them.
import test from 'ava';
import { assessHealth } from '../../../apply-controller/health/assess.ts';
import type { HealthStatus } from '../../../apply-controller/health/status.ts';

type Obj = Record<string, unknown>;
const T = '2026-11-21T10:00:00Z';

function deployment(generation: number, replicas: number | undefined, status: Obj | undefined): Obj {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', generation, uid: '0b5d6c1e-1f2a-4c3b-8d4e-5f6a7b8c9d0e', resourceVersion: '4711' },
    spec: {
      ...(replicas === undefined ? {} : { replicas }),
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.25.3' }] } },
    },
    ...(status === undefined ? {} : { status }),
  };
}
const available = (status: 'True' | 'False'): Obj => status === 'True'
  ? { type: 'Available', status, lastUpdateTime: T, lastTransitionTime: T, reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
  : { type: 'Available', status, lastUpdateTime: T, lastTransitionTime: T, reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' };
const progressing = (status: 'True' | 'False', reason: string, message: string): Obj =>
  ({ type: 'Progressing', status, lastUpdateTime: T, lastTransitionTime: T, reason, message });

function statefulSet(spec: Obj, status: Obj | undefined, generation = 1): Obj {
  return {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'shop', generation },
    spec: { serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: {}, ...spec },
    ...(status === undefined ? {} : { status }),
  };
}

function daemonSet(status: Obj | undefined, generation = 1): Obj {
  return {
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'kube-system', generation },
    spec: { selector: { matchLabels: { app: 'agent' } }, template: {}, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } } },
    ...(status === undefined ? {} : { status }),
  };
}

function replicaSet(replicas: number, status: Obj | undefined, generation = 1): Obj {
  return {
    apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-5d4f8b7c9', namespace: 'shop', generation },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: {} },
    ...(status === undefined ? {} : { status }),
  };
}

const cases: Array<[string, Obj, HealthStatus, string]> = [
  // Deployment
  ['Deployment just created, not yet seen by its controller', deployment(1, 2, undefined),
    'InProgress', 'Deployment web: 0/2 replicas created'],
  ['Deployment after a spec change the controller has not observed', deployment(3, 2, {
    observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2,
    conditions: [available('True'), progressing('True', 'NewReplicaSetAvailable', 'ReplicaSet "web-5d4f8b7c9" has successfully progressed.')],
  }), 'InProgress', 'Deployment web: waiting for the controller to observe generation 3 (observed 2)'],
  ['Deployment whose pods are created but none available', deployment(1, 2, {
    observedGeneration: 1, replicas: 2, updatedReplicas: 2, unavailableReplicas: 2,
    conditions: [available('False'), progressing('True', 'ReplicaSetUpdated', 'ReplicaSet "web-5d4f8b7c9" is progressing.')],
  }), 'InProgress', 'Deployment web: 0/2 replicas available'],
  ['Deployment rolling out: one of two replicas updated', deployment(2, 2, {
    observedGeneration: 2, replicas: 3, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2, unavailableReplicas: 1,
    conditions: [available('True'), progressing('True', 'ReplicaSetUpdated', 'ReplicaSet "web-6c7d8e9f0" is progressing.')],
  }), 'InProgress', 'Deployment web: 1/2 replicas updated'],
  ['Deployment with an old replica still terminating', deployment(2, 2, {
    observedGeneration: 2, replicas: 3, updatedReplicas: 2, readyReplicas: 3, availableReplicas: 3,
    conditions: [available('True'), progressing('True', 'ReplicaSetUpdated', 'ReplicaSet "web-6c7d8e9f0" is progressing.')],
  }), 'InProgress', 'Deployment web: 1 old replicas pending termination'],
  ['Deployment past its progress deadline', deployment(2, 2, {
    observedGeneration: 2, replicas: 3, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2, unavailableReplicas: 1,
    conditions: [available('True'), progressing('False', 'ProgressDeadlineExceeded', 'ReplicaSet "web-6c7d8e9f0" has timed out progressing.')],
  }), 'Failed', 'Deployment web: progress deadline exceeded: ReplicaSet "web-6c7d8e9f0" has timed out progressing.'],
  ['Deployment with Progressing=False for another reason than the deadline is InProgress, not Failed', { ...deployment(2, 2, {
    observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2,
    conditions: [available('True'), progressing('False', 'ReplicaSetCreateError', 'quota exceeded')],
  }), spec: { replicas: 2, progressDeadlineSeconds: 600 } }, 'InProgress', 'Deployment web: new ReplicaSet not yet available (Progressing is False (ReplicaSetCreateError): quota exceeded)'],
  ['Deployment with a progress deadline waits for Progressing=True (NewReplicaSetAvailable)', { ...deployment(2, 2, {
    observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2,
    conditions: [available('True'), progressing('True', 'ReplicaSetUpdated', 'ReplicaSet "web-5d4f8b7c9" is progressing.')],
  }), spec: { replicas: 2, progressDeadlineSeconds: 600 } }, 'InProgress', 'Deployment web: new ReplicaSet not yet available (Progressing is True (ReplicaSetUpdated): ReplicaSet "web-5d4f8b7c9" is progressing.)'],
  ['Deployment fully rolled out', deployment(2, 2, {
    observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2,
    conditions: [available('True'), progressing('True', 'NewReplicaSetAvailable', 'ReplicaSet "web-5d4f8b7c9" has successfully progressed.')],
  }), 'Current', 'Deployment web: 2/2 replicas available'],
  ['Deployment without spec.replicas counts as 1 replica', deployment(1, undefined, {
    observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, conditions: [available('True')],
  }), 'Current', 'Deployment web: 1/1 replicas available'],
  ['Deployment scaled to zero', deployment(4, 0, { observedGeneration: 4, conditions: [available('True')] }),
    'Current', 'Deployment web: 0/0 replicas available'],
  ['Deployment with all counts right but Available False', deployment(1, 1, {
    observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, conditions: [available('False')],
  }), 'InProgress', 'Deployment web: Available is False (MinimumReplicasUnavailable): Deployment does not have minimum availability.'],

  // StatefulSet
  ['StatefulSet not yet observed', statefulSet({ replicas: 3 }, undefined), 'InProgress', 'StatefulSet db: 0/3 replicas created'],
  ['StatefulSet with 2 of 3 replicas created, 1 ready', statefulSet({ replicas: 3 }, {
    observedGeneration: 1, replicas: 2, readyReplicas: 1, currentReplicas: 2, updatedReplicas: 2,
    currentRevision: 'db-7d8f9c6b5', updateRevision: 'db-7d8f9c6b5', collisionCount: 0,
  }), 'InProgress', 'StatefulSet db: 2/3 replicas created'],
  ['StatefulSet rolling update: not every replica at the current revision yet', statefulSet({ replicas: 3, updateStrategy: { type: 'RollingUpdate' } }, {
    observedGeneration: 1, replicas: 3, readyReplicas: 3, currentReplicas: 2, updatedReplicas: 1,
    currentRevision: 'db-7d8f9c6b5', updateRevision: 'db-5b6c7d8e9', collisionCount: 0,
  }), 'InProgress', 'StatefulSet db: 2/3 replicas at the current revision'],
  ['StatefulSet with every replica current but the update revision still different', statefulSet({ replicas: 3, updateStrategy: { type: 'RollingUpdate' } }, {
    observedGeneration: 1, replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 1,
    currentRevision: 'db-7d8f9c6b5', updateRevision: 'db-5b6c7d8e9', collisionCount: 0,
  }), 'InProgress', 'StatefulSet db: rolling update in progress: 1/3 replicas updated'],
  ['StatefulSet with fewer current replicas and no revision fields (kstatus: LessCurrent)', statefulSet({ replicas: 4 }, {
    observedGeneration: 1, replicas: 4, readyReplicas: 4, currentReplicas: 2,
  }), 'InProgress', 'StatefulSet db: 2/4 replicas at the current revision'],
  ['StatefulSet with OnDelete is Current even with replicas not ready (kstatus: the user rolls it)', statefulSet({ replicas: 3, updateStrategy: { type: 'OnDelete' } }, {
    observedGeneration: 1, replicas: 3, readyReplicas: 1, currentReplicas: 3,
  }), 'Current', 'StatefulSet db: OnDelete update strategy: no rollout to wait for'],
  ['StatefulSet with a partition: done once the replicas above it are updated', statefulSet(
    { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }, {
      observedGeneration: 1, replicas: 3, readyReplicas: 3, currentReplicas: 2, updatedReplicas: 1,
      currentRevision: 'db-7d8f9c6b5', updateRevision: 'db-5b6c7d8e9',
    }), 'Current', 'StatefulSet db: 3/3 replicas ready, 1 updated (partition 2)'],
  ['StatefulSet with a partition and the replicas above it not yet updated', statefulSet(
    { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } }, {
      observedGeneration: 1, replicas: 3, readyReplicas: 3, currentReplicas: 2, updatedReplicas: 1,
      currentRevision: 'db-7d8f9c6b5', updateRevision: 'db-5b6c7d8e9',
    }), 'InProgress', 'StatefulSet db: 1/2 replicas updated (partition 1)'],
  ['StatefulSet with OnDelete: differing revisions do not hold it back', statefulSet({ replicas: 2, updateStrategy: { type: 'OnDelete' } }, {
    observedGeneration: 1, replicas: 2, readyReplicas: 2, currentReplicas: 2, updatedReplicas: 0,
    currentRevision: 'db-7d8f9c6b5', updateRevision: 'db-5b6c7d8e9',
  }), 'Current', 'StatefulSet db: OnDelete update strategy: no rollout to wait for'],
  ['StatefulSet scaling down', statefulSet({ replicas: 1 }, {
    observedGeneration: 2, replicas: 2, readyReplicas: 2, currentReplicas: 2, updatedReplicas: 2,
    currentRevision: 'db-7d8f9c6b5', updateRevision: 'db-7d8f9c6b5',
  }, 2), 'InProgress', 'StatefulSet db: 1 replicas pending termination'],
  ['StatefulSet rolled out', statefulSet({ replicas: 3 }, {
    observedGeneration: 1, replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3,
    currentRevision: 'db-7d8f9c6b5', updateRevision: 'db-7d8f9c6b5', collisionCount: 0,
  }), 'Current', 'StatefulSet db: 3/3 replicas ready'],

  // DaemonSet
  ['DaemonSet not yet observed', daemonSet(undefined), 'InProgress', 'DaemonSet agent: waiting for the controller to observe generation 1'],
  ['DaemonSet whose status has no desiredNumberScheduled yet', daemonSet({ observedGeneration: 1, currentNumberScheduled: 0 }),
    'InProgress', 'DaemonSet agent: waiting for the controller to count the nodes (no desiredNumberScheduled)'],
  ['DaemonSet with generation and status but no observedGeneration', daemonSet({ desiredNumberScheduled: 0 }),
    'InProgress', 'DaemonSet agent: waiting for the controller to observe generation 1'],
  ['DaemonSet with pods not yet updated on every node', daemonSet({
    currentNumberScheduled: 3, desiredNumberScheduled: 3, numberAvailable: 3, numberMisscheduled: 0, numberReady: 3,
    observedGeneration: 2, updatedNumberScheduled: 1, numberUnavailable: 0,
  }, 2), 'InProgress', 'DaemonSet agent: 1/3 pods updated'],
  ['DaemonSet with pods updated but not ready', daemonSet({
    currentNumberScheduled: 3, desiredNumberScheduled: 3, numberMisscheduled: 0, numberReady: 2, numberAvailable: 2,
    observedGeneration: 1, updatedNumberScheduled: 3, numberUnavailable: 1,
  }), 'InProgress', 'DaemonSet agent: 2/3 pods available'],
  ['DaemonSet ready but not yet available (minReadySeconds)', daemonSet({
    currentNumberScheduled: 3, desiredNumberScheduled: 3, numberMisscheduled: 0, numberReady: 3, numberAvailable: 1,
    observedGeneration: 1, updatedNumberScheduled: 3, numberUnavailable: 2,
  }), 'InProgress', 'DaemonSet agent: 1/3 pods available'],
  ['DaemonSet on every node', daemonSet({
    currentNumberScheduled: 3, desiredNumberScheduled: 3, numberAvailable: 3, numberMisscheduled: 0, numberReady: 3,
    observedGeneration: 1, updatedNumberScheduled: 3,
  }), 'Current', 'DaemonSet agent: 3/3 pods ready'],

  // ReplicaSet
  ['ReplicaSet with a quota failure', replicaSet(2, {
    replicas: 0, observedGeneration: 1,
    conditions: [{ type: 'ReplicaFailure', status: 'True', lastTransitionTime: T, reason: 'FailedCreate', message: 'pods "web-5d4f8b7c9-abcde" is forbidden: exceeded quota: pods' }],
  }), 'InProgress', 'ReplicaSet web-5d4f8b7c9: ReplicaFailure is True (FailedCreate): pods "web-5d4f8b7c9-abcde" is forbidden: exceeded quota: pods'],
  ['ReplicaSet with replicas not ready', replicaSet(2, { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 }),
    'InProgress', 'ReplicaSet web-5d4f8b7c9: 1/2 replicas available'],
  ['ReplicaSet complete', replicaSet(2, { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: 1 }),
    'Current', 'ReplicaSet web-5d4f8b7c9: 2/2 replicas available'],
];

for (const [title, obj, status, message] of cases) {
  test(title, (t) => {
    t.deepEqual(assessHealth(obj), { status, message });
  });
}
