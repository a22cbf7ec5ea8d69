// Every case of kstatus's own test tables (kubernetes-sigs/cli-utils,
// pkg/kstatus/status: status_compute_test.go, core_test.go,
// status_augment_test.go, example_test.go; read at commit 5895ad6), restated as
// data: the object kstatus was given and the status it computed. Trellis must
// reach the same verdict on each, with no annotation on the object — the
// `health.trellis.dev/wait-for` opt-ins are tested in wait-for.test.ts.
//
// `where` names the Go test and case so a disagreement can be traced upstream;
// `why` is kstatus's reason (its Reconciling/Stalled condition reason), kept as
// a hint for the reader, not asserted: Trellis writes its own messages.
import test from 'ava';
import { assessHealth } from '../../../apply-controller/health/assess.ts';
import type { HealthStatus } from '../../../apply-controller/health/status.ts';

type Obj = Record<string, unknown>;

interface KstatusCase {
  readonly where: string;
  readonly object: Obj;
  readonly kstatus: HealthStatus;
  readonly why?: string;
}

/** The clock of the cases that depend on it (the Pod scheduling grace period). */
const NOW = Date.parse('2026-11-21T10:00:00Z');

const meta = (extra: Obj = {}): Obj => ({ name: 'test', namespace: 'qual', generation: 1, ...extra });
const make = (apiVersion: string, kind: string, parts: { metadata?: Obj; spec?: Obj; status?: Obj }): Obj => ({
  apiVersion, kind, metadata: parts.metadata ?? meta(),
  ...(parts.spec ? { spec: parts.spec } : {}), ...(parts.status ? { status: parts.status } : {}),
});
const cond = (type: string, status: string, reason?: string): Obj => ({ type, status, ...(reason ? { reason } : {}) });

const pod = (status?: Obj, metadata?: Obj): Obj => make('v1', 'Pod', { ...(metadata ? { metadata } : {}), ...(status ? { status } : {}) });
const sts = (spec: Obj | undefined, status: Obj | undefined): Obj => make('apps/v1', 'StatefulSet', { ...(spec ? { spec } : {}), ...(status ? { status } : {}) });
const ds = (status: Obj | undefined, generation = 1): Obj => make('apps/v1', 'DaemonSet', { metadata: meta({ generation }), ...(status ? { status } : {}) });
const deploy = (spec: Obj | undefined, status: Obj | undefined): Obj => make('apps/v1', 'Deployment', { ...(spec ? { spec } : {}), ...(status ? { status } : {}) });
const rs = (replicas: number, status: Obj): Obj => make('apps/v1', 'ReplicaSet', { spec: { replicas }, status });
const job = (spec: Obj | undefined, status: Obj | undefined): Obj => make('batch/v1', 'Job', { ...(spec ? { spec } : {}), ...(status ? { status } : {}) });
const svc = (spec?: Obj): Obj => make('v1', 'Service', spec ? { spec } : {});
const crd = (conditions?: Obj[]): Obj => make('apiextensions.k8s.io/v1', 'CustomResourceDefinition', {
  metadata: { generation: 1 }, ...(conditions ? { status: { conditions } } : {}),
});
const custom = (metadata: Obj, status?: Obj): Obj => make('something/v1', 'MyCR', { metadata, ...(status ? { status } : {}) });

const runningPod = (conditions: Obj[]): Obj => pod({ phase: 'Running', ...(conditions.length > 0 ? { conditions } : {}) });
const rolledOutDeployment = deploy(undefined, {
  observedGeneration: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, replicas: 1,
  conditions: [cond('Progressing', 'True', 'NewReplicaSetAvailable'), cond('Available', 'True')],
});
const fullDaemonSet = { desiredNumberScheduled: 4, currentNumberScheduled: 4, updatedNumberScheduled: 4, numberAvailable: 4, numberReady: 4, observedGeneration: 1 };
const oneReplicaDeployment = { observedGeneration: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, replicas: 1 };

const cases: readonly KstatusCase[] = [
  // TestPodStatus
  { where: 'TestPodStatus/podNoStatus', object: pod(undefined, { generation: 1, name: 'test' }), kstatus: 'InProgress', why: 'PodNotObserved' },
  { where: 'TestPodStatus/podReady', object: runningPod([cond('Ready', 'True')]), kstatus: 'Current' },
  { where: 'TestPodStatus/podCompletedSuccessfully', object: pod({ phase: 'Succeeded', conditions: [cond('Ready', 'False', 'PodCompleted')] }), kstatus: 'Current' },
  { where: 'TestPodStatus/podCompletedFailed', object: pod({ phase: 'Failed', conditions: [cond('Ready', 'False', 'PodCompleted')] }), kstatus: 'Current' },
  {
    where: 'TestPodStatus/podBeingScheduled (created just now)',
    object: pod({ phase: 'Pending', conditions: [cond('PodScheduled', 'False', 'Unschedulable')] }, meta({ creationTimestamp: new Date(NOW).toISOString() })),
    kstatus: 'InProgress', why: 'PodNotScheduled',
  },
  {
    where: 'TestPodStatus/podUnschedulable (no creation time: long ago)',
    object: pod({ phase: 'Pending', conditions: [cond('PodScheduled', 'False', 'Unschedulable')] }), kstatus: 'Failed', why: 'PodUnschedulable',
  },
  {
    where: 'TestPodStatus/podCrashLooping',
    object: pod({ phase: 'Running', conditions: [cond('PodScheduled', 'False', 'Unschedulable')], containerStatuses: [{ name: 'nginx', state: { waiting: { reason: 'CrashLoopBackOff' } } }] }),
    kstatus: 'Failed', why: 'ContainerCrashLooping',
  },

  // TestPVCStatus
  { where: 'TestPVCStatus/pvcNoStatus', object: make('v1', 'PersistentVolumeClaim', { metadata: { generation: 1, name: 'test' } }), kstatus: 'InProgress', why: 'NotBound' },
  { where: 'TestPVCStatus/pvcBound', object: make('v1', 'PersistentVolumeClaim', { status: { phase: 'Bound' } }), kstatus: 'Current' },

  // TestStsStatus (no updateStrategy, so no partition and no OnDelete)
  { where: 'TestStsStatus/stsNoStatus', object: sts(undefined, undefined), kstatus: 'InProgress', why: 'LessReplicas' },
  { where: 'TestStsStatus/stsBadStatus', object: sts(undefined, { observedGeneration: 1, currentReplicas: 1 }), kstatus: 'InProgress', why: 'LessReplicas' },
  { where: 'TestStsStatus/stsOK', object: sts({ replicas: 4 }, { observedGeneration: 1, currentReplicas: 4, readyReplicas: 4, replicas: 4 }), kstatus: 'Current' },
  { where: 'TestStsStatus/stsLessReady', object: sts({ replicas: 4 }, { observedGeneration: 1, currentReplicas: 4, readyReplicas: 2, replicas: 4 }), kstatus: 'InProgress', why: 'LessReady' },
  { where: 'TestStsStatus/stsLessCurrent', object: sts({ replicas: 4 }, { observedGeneration: 1, currentReplicas: 2, readyReplicas: 4, replicas: 4 }), kstatus: 'InProgress', why: 'LessCurrent' },
  { where: 'TestStsStatus/stsExtraPods', object: sts({ replicas: 4 }, { observedGeneration: 1, currentReplicas: 4, readyReplicas: 4, replicas: 8 }), kstatus: 'InProgress', why: 'ExtraPods' },

  // TestDaemonsetStatus
  { where: 'TestDaemonsetStatus/dsNoStatus', object: ds(undefined), kstatus: 'InProgress', why: 'NoObservedGeneration' },
  { where: 'TestDaemonsetStatus/dsBadStatus', object: ds({ observedGeneration: 1, currentReplicas: 1 }), kstatus: 'InProgress', why: 'NoDesiredNumber' },
  { where: 'TestDaemonsetStatus/dsOK', object: ds(fullDaemonSet), kstatus: 'Current' },
  { where: 'TestDaemonsetStatus/dsLessReady', object: ds({ ...fullDaemonSet, numberReady: 2 }), kstatus: 'InProgress', why: 'LessReady' },
  { where: 'TestDaemonsetStatus/dsDifferentGeneration', object: ds(fullDaemonSet, 2), kstatus: 'InProgress', why: 'LatestGenerationNotObserved' },
  { where: 'TestDaemonsetStatus/dsLessAvailable', object: ds({ ...fullDaemonSet, numberAvailable: 2 }), kstatus: 'InProgress', why: 'LessAvailable' },

  // TestDeploymentStatus
  { where: 'TestDeploymentStatus/depNoStatus', object: deploy(undefined, undefined), kstatus: 'InProgress', why: 'LessReplicas' },
  { where: 'TestDeploymentStatus/depOK', object: rolledOutDeployment, kstatus: 'Current' },
  {
    where: 'TestDeploymentStatus/depNotProgressing',
    object: deploy({ progressDeadlineSeconds: 45 }, { ...oneReplicaDeployment, conditions: [cond('Progressing', 'False', 'Some reason'), cond('Available', 'True')] }),
    kstatus: 'InProgress', why: 'ReplicaSetNotAvailable',
  },
  {
    where: 'TestDeploymentStatus/depNoProgressDeadlineSeconds',
    object: deploy(undefined, { ...oneReplicaDeployment, conditions: [cond('Available', 'True')] }), kstatus: 'Current',
  },
  {
    where: 'TestDeploymentStatus/depNotAvailable',
    object: deploy(undefined, { ...oneReplicaDeployment, conditions: [cond('Progressing', 'True', 'NewReplicaSetAvailable'), cond('Available', 'False')] }),
    kstatus: 'InProgress', why: 'DeploymentNotAvailable',
  },

  // TestReplicasetStatus
  { where: 'TestReplicasetStatus/rsNoStatus', object: make('apps/v1', 'ReplicaSet', { metadata: { name: 'test', generation: 1 } }), kstatus: 'InProgress', why: 'LessLabelled' },
  {
    where: 'TestReplicasetStatus/rsOK1',
    object: rs(2, { observedGeneration: 1, replicas: 2, readyReplicas: 2, availableReplicas: 2, fullyLabeledReplicas: 2, conditions: [cond('ReplicaFailure', 'False')] }),
    kstatus: 'Current',
  },
  { where: 'TestReplicasetStatus/rsOK2', object: rs(2, { observedGeneration: 1, fullyLabeledReplicas: 2, replicas: 2, readyReplicas: 2, availableReplicas: 2 }), kstatus: 'Current' },
  {
    where: 'TestReplicasetStatus/rsLessAvailable',
    object: rs(4, { observedGeneration: 1, replicas: 4, readyReplicas: 4, availableReplicas: 2, fullyLabeledReplicas: 4 }), kstatus: 'InProgress', why: 'LessAvailable',
  },
  {
    where: 'TestReplicasetStatus/rsLessReady',
    object: rs(4, { observedGeneration: 1, replicas: 4, readyReplicas: 2, availableReplicas: 4, fullyLabeledReplicas: 4 }), kstatus: 'InProgress', why: 'LessReady',
  },
  {
    where: 'TestReplicasetStatus/rsReplicaFailure',
    object: rs(4, { observedGeneration: 1, replicas: 4, readyReplicas: 4, fullyLabeledReplicas: 4, availableReplicas: 4, conditions: [cond('ReplicaFailure', 'True')] }),
    kstatus: 'InProgress', why: 'ReplicaFailure',
  },

  // TestPDBStatus
  { where: 'TestPDBStatus/pdbNotObserved', object: make('policy/v1beta1', 'PodDisruptionBudget', { metadata: meta({ generation: 2 }), status: { observedGeneration: 1 } }), kstatus: 'InProgress', why: 'LatestGenerationNotObserved' },
  { where: 'TestPDBStatus/pdbObserved', object: make('policy/v1beta1', 'PodDisruptionBudget', { status: { observedGeneration: 1 } }), kstatus: 'Current' },

  // TestCRDGenericStatus (a custom resource, judged by the generic rules)
  { where: 'TestCRDGenericStatus/crdNoStatus', object: custom(meta()), kstatus: 'Current' },
  { where: 'TestCRDGenericStatus/crdReady', object: custom(meta(), { conditions: [{ ...cond('Ready', 'True', 'AllOk'), message: 'All looks ok' }] }), kstatus: 'Current' },
  { where: 'TestCRDGenericStatus/crdNotReady', object: custom(meta(), { observedGeneration: 1, conditions: [cond('Ready', 'False', 'NotReadyYet')] }), kstatus: 'InProgress', why: 'NotReadyYet' },
  { where: 'TestCRDGenericStatus/crdNoCondition', object: custom(meta(), { conditions: [cond('SomeCondition', 'False')] }), kstatus: 'Current' },
  { where: 'TestCRDGenericStatus/crdMismatchStatusGeneration', object: custom(meta({ generation: 2 }), { observedGeneration: 1 }), kstatus: 'InProgress', why: 'LatestGenerationNotObserved' },

  // TestJobStatus
  { where: 'TestJobStatus/jobNoStatus', object: job(undefined, undefined), kstatus: 'InProgress', why: 'JobNotStarted' },
  { where: 'TestJobStatus/jobComplete', object: job(undefined, { succeeded: 1, active: 0, conditions: [cond('Complete', 'True')] }), kstatus: 'Current' },
  { where: 'TestJobStatus/jobFailed', object: job({ completions: 4 }, { succeeded: 3, failed: 1, conditions: [cond('Failed', 'True', 'JobFailed')] }), kstatus: 'Failed', why: 'JobFailed' },
  {
    where: 'TestJobStatus/jobInProgress (started, so Current)',
    object: job({ completions: 10, parallelism: 2 }, { startTime: '2019-06-04T01:17:13Z', succeeded: 3, failed: 1, active: 2, conditions: [cond('Failed', 'False'), cond('Complete', 'False')] }),
    kstatus: 'Current',
  },

  // TestCronJobStatus
  { where: 'TestCronJobStatus/cronjobNoStatus', object: make('batch/v1', 'CronJob', {}), kstatus: 'Current' },
  // The YAML has an empty `status:` key, which reads as null.
  { where: 'TestCronJobStatus/cronjobWithStatus', object: { ...make('batch/v1', 'CronJob', {}), status: null }, kstatus: 'Current' },

  // TestServiceStatus
  { where: 'TestServiceStatus/serviceDefault', object: svc(), kstatus: 'Current' },
  { where: 'TestServiceStatus/serviceNodePort', object: svc({ type: 'NodePort' }), kstatus: 'Current' },
  { where: 'TestServiceStatus/serviceLBnok (no cluster IP)', object: svc({ type: 'LoadBalancer' }), kstatus: 'InProgress', why: 'NoIPAssigned' },
  { where: 'TestServiceStatus/serviceLBok (cluster IP, no address)', object: svc({ type: 'LoadBalancer', clusterIP: '1.2.3.4' }), kstatus: 'Current' },

  // TestCRDStatus (the CustomResourceDefinition itself)
  { where: 'TestCRDStatus/crdNoConditions', object: crd(), kstatus: 'InProgress', why: 'Installing' },
  {
    where: 'TestCRDStatus/crdInstalling',
    object: crd([cond('NamesAccepted', 'True', 'NoConflicts'), cond('Established', 'False', 'Installing')]), kstatus: 'InProgress', why: 'Installing',
  },
  { where: 'TestCRDStatus/crdNamesNotAccepted', object: crd([cond('NamesAccepted', 'False', 'SomeReason')]), kstatus: 'Failed', why: 'SomeReason' },
  {
    where: 'TestCRDStatus/crdEstablished',
    object: crd([cond('NamesAccepted', 'True', 'NoConflicts'), cond('Established', 'True', 'InitialNamesAccepted')]), kstatus: 'Current',
  },

  // core_test.go: suspended Jobs
  { where: 'TestSuspendedJobConditions', object: job({ suspend: true }, { conditions: [cond('Suspended', 'True')] }), kstatus: 'Current' },
  { where: 'TestPreviouslySuspendedJobConditions', object: job({ suspend: false }, { conditions: [cond('Suspended', 'False')] }), kstatus: 'InProgress' },
  { where: 'TestSuspendedJobTransitionConditions (to suspended)', object: job({ suspend: true }, { conditions: [cond('Suspended', 'False')] }), kstatus: 'InProgress' },
  { where: 'TestSuspendedJobTransitionConditions (from suspended)', object: job({ suspend: false }, { conditions: [cond('Suspended', 'True')] }), kstatus: 'InProgress' },

  // status_augment_test.go: the status behind the condition Augment adds
  { where: 'TestAugmentConditions/no existing conditions', object: runningPod([]), kstatus: 'InProgress', why: 'PodRunningNotReady' },
  { where: 'TestAugmentConditions/has other existing conditions', object: runningPod([cond('Ready', 'False', 'Pod has not started')]), kstatus: 'InProgress', why: 'PodRunningNotReady' },
  {
    where: 'TestAugmentConditions/already has condition of standard type InProgress',
    object: runningPod([cond('Reconciling', 'True', 'PodIsAbsolutelyNotReady')]), kstatus: 'InProgress', why: 'PodIsAbsolutelyNotReady',
  },
  {
    where: 'TestAugmentConditions/already has condition of standard type Failed',
    object: runningPod([cond('Stalled', 'True', 'PodHasFailed')]), kstatus: 'Failed', why: 'PodHasFailed',
  },
  {
    where: 'TestAugmentConditions/custom resource with no conditions',
    object: make('v1beta1', 'SomeCustomKind', { metadata: { generation: 1, name: 'test', namespace: 'default' } }), kstatus: 'Current',
  },

  // example_test.go: the same rolled-out Deployment, computed and augmented
  { where: 'TestExampleCompute', object: rolledOutDeployment, kstatus: 'Current' },
  { where: 'TestExampleAugment', object: rolledOutDeployment, kstatus: 'Current' },
];

test('the table holds every case of the kstatus tests (53 + 4 + 5 + 2)', (t) => {
  t.is(cases.length, 64);
  t.is(new Set(cases.map((c) => c.where)).size, cases.length, 'no case is listed twice');
});

for (const c of cases) {
  test(`${c.where}: ${c.kstatus}${c.why ? ` (${c.why})` : ''}`, (t) => {
    const verdict = assessHealth(c.object, { now: NOW });
    t.is(verdict.status, c.kstatus, verdict.message);
  });
}
