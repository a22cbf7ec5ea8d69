// Health of Pods, Jobs, PVCs, Services, Namespaces, CRDs, and the generic rules
// for every other kind, with objects shaped as the apiserver returns them. The
// verdicts are kstatus's (kstatus-cases.test.ts ports its own table); these
// cases pin Trellis's messages on realistic objects.
import test from 'ava';
import { assessHealth } from '../../../apply-controller/health/assess.ts';
import type { HealthStatus } from '../../../apply-controller/health/status.ts';

type Obj = Record<string, unknown>;
const T = '2026-11-21T10:00:00Z';
/** The clock the verdicts are taken at (only the Pod scheduling grace period reads it). */
const NOW = Date.parse(T);
const before = (seconds: number): string => new Date(NOW - seconds * 1000).toISOString();
const cond = (type: string, status: string, reason?: string, message?: string): Obj =>
  ({ type, status, lastTransitionTime: T, ...(reason ? { reason } : {}), ...(message ? { message } : {}) });

function pod(status: Obj, restartPolicy = 'Always', createdSecondsAgo = 3600): Obj {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'web-5d4f8b7c9-x2x9p', namespace: 'shop', uid: '7c1f0a9e-3b2d-4e5f-8a6b-9c0d1e2f3a4b', creationTimestamp: before(createdSecondsAgo) },
    spec: { restartPolicy, containers: [{ name: 'web', image: 'nginx:1.25.3' }] },
    status,
  };
}
const waiting = (reason: string, message: string): Obj => ({
  name: 'web', ready: false, restartCount: 0, started: false, image: 'nginx:1.25.3', imageID: '',
  state: { waiting: { reason, message } },
});
const podConditions = (ready: 'True' | 'False'): Obj[] => [
  cond('Initialized', 'True'),
  ready === 'True' ? cond('Ready', 'True') : cond('Ready', 'False', 'ContainersNotReady', 'containers with unready status: [web]'),
  ready === 'True' ? cond('ContainersReady', 'True') : cond('ContainersReady', 'False', 'ContainersNotReady', 'containers with unready status: [web]'),
  cond('PodScheduled', 'True'),
];

function job(status: Obj | undefined, suspend = false): Obj {
  return {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate', namespace: 'shop', generation: 1 },
    spec: { backoffLimit: 6, completions: 1, parallelism: 1, suspend, template: {} },
    ...(status === undefined ? {} : { status }),
  };
}

const crd = (conditions: Obj[]): Obj => ({
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com', generation: 1 },
  spec: { group: 'example.com', scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' }, versions: [] },
  status: { acceptedNames: { plural: 'widgets', kind: 'Widget' }, conditions, storedVersions: ['v1'] },
});

const custom = (metadata: Obj, status?: Obj): Obj => ({
  apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'sample', namespace: 'shop', ...metadata },
  spec: { size: 3 }, ...(status === undefined ? {} : { status }),
});

const cases: Array<[string, Obj | null, HealthStatus, string]> = [
  // Pod
  ['Pod running and ready', pod({ phase: 'Running', conditions: podConditions('True'), containerStatuses: [{ name: 'web', ready: true, restartCount: 0, state: { running: { startedAt: T } } }] }),
    'Current', 'Pod web-5d4f8b7c9-x2x9p: running and ready'],
  ['Pod that cannot pull its image', pod({ phase: 'Pending', conditions: podConditions('False'), containerStatuses: [waiting('ImagePullBackOff', 'Back-off pulling image "nginx:nope"')] }),
    'InProgress', 'Pod web-5d4f8b7c9-x2x9p: container web is waiting: ImagePullBackOff (Back-off pulling image "nginx:nope")'],
  ['Pod with ErrImagePull', pod({ phase: 'Pending', conditions: podConditions('False'), containerStatuses: [waiting('ErrImagePull', 'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:nope"')] }),
    'InProgress', 'Pod web-5d4f8b7c9-x2x9p: container web is waiting: ErrImagePull (rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:nope")'],
  ['Pod crash-looping', pod({
    phase: 'Running', conditions: podConditions('False'),
    containerStatuses: [{ ...waiting('CrashLoopBackOff', 'back-off 40s restarting failed container=web pod=web-5d4f8b7c9-x2x9p_shop(7c1f0a9e)'), restartCount: 3, lastState: { terminated: { exitCode: 1, reason: 'Error' } } }],
  }), 'Failed', 'Pod web-5d4f8b7c9-x2x9p: container web is waiting: CrashLoopBackOff (back-off 40s restarting failed container=web pod=web-5d4f8b7c9-x2x9p_shop(7c1f0a9e))'],
  ['Pod whose init container cannot read its config', pod({
    phase: 'Pending', conditions: podConditions('False'),
    initContainerStatuses: [{ ...waiting('CreateContainerConfigError', 'configmap "settings" not found'), name: 'init' }],
  }), 'InProgress', 'Pod web-5d4f8b7c9-x2x9p: container init is waiting: CreateContainerConfigError (configmap "settings" not found)'],
  ['Pod that cannot be scheduled, within the 15 s grace period', pod({ phase: 'Pending', conditions: [cond('PodScheduled', 'False', 'Unschedulable', '0/1 nodes are available: 1 Insufficient cpu.')] }, 'Always', 14),
    'InProgress', 'Pod web-5d4f8b7c9-x2x9p: not scheduled: PodScheduled is False (Unschedulable): 0/1 nodes are available: 1 Insufficient cpu.'],
  ['Pod that cannot be scheduled, past the grace period (kstatus: Failed)', pod({ phase: 'Pending', conditions: [cond('PodScheduled', 'False', 'Unschedulable', '0/1 nodes are available: 1 Insufficient cpu.')] }, 'Always', 15),
    'Failed', 'Pod web-5d4f8b7c9-x2x9p: not scheduled: PodScheduled is False (Unschedulable): 0/1 nodes are available: 1 Insufficient cpu.'],
  ['Pod just created, no status yet', pod({}), 'InProgress', 'Pod web-5d4f8b7c9-x2x9p: waiting for the pod to be scheduled'],
  ['Pod running, not ready, no stuck container', pod({ phase: 'Running', conditions: podConditions('False'), containerStatuses: [{ name: 'web', ready: false, restartCount: 0, state: { running: { startedAt: T } } }] }),
    'InProgress', 'Pod web-5d4f8b7c9-x2x9p: Running, Ready is False (ContainersNotReady): containers with unready status: [web]'],
  ['Pod that succeeded', pod({ phase: 'Succeeded', conditions: podConditions('False') }, 'Never'), 'Current', 'Pod web-5d4f8b7c9-x2x9p: completed'],
  ['Pod that ran and failed: completed (kstatus: Current; opt in with wait-for: complete to wait for success)', pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' }, 'Never'),
    'Current', 'Pod web-5d4f8b7c9-x2x9p: completed, unsuccessfully (Evicted: The node was low on resource: memory.)'],
  ['Pod with an unknown phase', pod({ phase: 'Exploded' }), 'Unknown', 'Pod web-5d4f8b7c9-x2x9p: unknown phase "Exploded"'],

  // Job
  ['Job not started', job(undefined), 'InProgress', 'Job migrate: not started yet'],
  ['Job running: Current once started (kstatus)', job({ startTime: T, active: 1 }), 'Current', 'Job migrate: started: 0/1 succeeded, 1 active, 0 failed'],
  ['Job complete', job({ conditions: [{ ...cond('Complete', 'True'), lastProbeTime: T }], startTime: T, completionTime: T, succeeded: 1 }),
    'Current', 'Job migrate: complete (1/1 succeeded)'],
  ['Job suspended (spec.suspend and Suspended=True)', job({ conditions: [cond('Suspended', 'True', 'JobSuspended', 'Job suspended')] }, true),
    'Current', 'Job migrate: suspended'],
  ['Job failed', job({ conditions: [{ ...cond('Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'), lastProbeTime: T }], startTime: T, failed: 7 }),
    'Failed', 'Job migrate: Failed is True (BackoffLimitExceeded): Job has reached the specified backoff limit'],

  // PersistentVolumeClaim
  ['PVC bound', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'shop' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } }, status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' } } },
    'Current', 'PersistentVolumeClaim data: bound'],
  ['PVC pending', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'shop' }, spec: {}, status: { phase: 'Pending' } },
    'InProgress', 'PersistentVolumeClaim data: Pending, not bound yet'],
  ['PVC lost: InProgress, as in kstatus', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'shop' }, spec: {}, status: { phase: 'Lost' } },
    'InProgress', 'PersistentVolumeClaim data: lost its volume'],

  // Service
  ['ClusterIP Service', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { type: 'ClusterIP', clusterIP: '10.96.12.34', ports: [{ port: 80 }] }, status: { loadBalancer: {} } },
    'Current', 'Service web: created'],
  ['LoadBalancer Service without an address: Current by default (kstatus)', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { type: 'LoadBalancer', clusterIP: '10.96.12.34' }, status: { loadBalancer: {} } },
    'Current', 'Service web: created; no load balancer address yet (not waited for)'],
  ['LoadBalancer Service with an address', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { type: 'LoadBalancer', clusterIP: '10.96.12.34' }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } },
    'Current', 'Service web: load balancer ready (192.0.2.10)'],

  // Namespace
  ['Namespace active', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } },
    'Current', 'Namespace shop: current'],
  ['Namespace terminating', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', deletionTimestamp: T }, status: { phase: 'Terminating' } },
    'Terminating', 'Namespace shop: being deleted'],

  // CustomResourceDefinition
  ['CRD established', crd([cond('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found'), cond('Established', 'True', 'InitialNamesAccepted', 'the initial names have been accepted')]),
    'Current', 'CustomResourceDefinition widgets.example.com: established'],
  ['CRD not yet established', crd([cond('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found'), cond('Established', 'False', 'Installing', 'the initial names have been accepted')]),
    'InProgress', 'CustomResourceDefinition widgets.example.com: Established is False (Installing): the initial names have been accepted'],
  ['CRD whose names conflict', crd([cond('NamesAccepted', 'False', 'ListKindConflict', '"WidgetList" is already in use'), cond('Established', 'False', 'NotAccepted', 'not all names are accepted')]),
    'Failed', 'CustomResourceDefinition widgets.example.com: NamesAccepted is False (ListKindConflict): "WidgetList" is already in use'],

  // Kinds with nothing to wait for, and kinds without status
  ['ConfigMap', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop' }, data: { a: 'b' } }, 'Current', 'ConfigMap cfg: created (nothing to wait for)'],
  ['Secret', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token', namespace: 'shop' }, type: 'Opaque', data: { t: 'eA==' } }, 'Current', 'Secret token: created (nothing to wait for)'],
  ['ServiceAccount', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web', namespace: 'shop' }, secrets: [{ name: 'web-token-abcde' }] }, 'Current', 'ServiceAccount web: created (no status to wait for)'],
  ['ClusterRoleBinding', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'view' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [] },
    'Current', 'ClusterRoleBinding view: created (no status to wait for)'],

  // Generic rules
  ['custom resource without status', custom({ generation: 1 }), 'Current', 'Widget sample: created (no status to wait for)'],
  ['custom resource whose controller has not observed the latest generation', custom({ generation: 3 }, { observedGeneration: 2, conditions: [cond('Ready', 'True', 'Succeeded')] }),
    'InProgress', 'Widget sample: waiting for the controller to observe generation 3 (observed 2)'],
  ['custom resource Ready False', custom({ generation: 2 }, { observedGeneration: 2, conditions: [cond('Ready', 'False', 'Provisioning', 'creating the backing store')] }),
    'InProgress', 'Widget sample: Ready is False (Provisioning): creating the backing store'],
  ['custom resource Ready Unknown', custom({ generation: 2 }, { observedGeneration: 2, conditions: [cond('Ready', 'Unknown', 'Progressing', 'reconciliation in progress')] }),
    'InProgress', 'Widget sample: Ready is Unknown (Progressing): reconciliation in progress'],
  ['custom resource Available False: only Ready speaks for a custom resource (kstatus)', custom({ generation: 1 }, { conditions: [cond('Available', 'False', 'Scaling')] }),
    'Current', 'Widget sample: current'],
  ['custom resource Reconciling', custom({ generation: 1 }, { observedGeneration: 1, conditions: [cond('Reconciling', 'True', 'Progressing', 'fetching revision'), cond('Ready', 'Unknown')] }),
    'InProgress', 'Widget sample: Reconciling is True (Progressing): fetching revision'],
  ['custom resource Stalled', custom({ generation: 1 }, { observedGeneration: 1, conditions: [cond('Stalled', 'True', 'InvalidSpec', 'size must be positive'), cond('Ready', 'False', 'InvalidSpec')] }),
    'Failed', 'Widget sample: Stalled is True (InvalidSpec): size must be positive'],
  ['custom resource Stalled on an older generation is only InProgress', custom({ generation: 2 }, { observedGeneration: 1, conditions: [cond('Stalled', 'True', 'InvalidSpec', 'size must be positive')] }),
    'InProgress', 'Widget sample: waiting for the controller to observe generation 2 (observed 1)'],
  ['custom resource Ready True and observed', custom({ generation: 2 }, { observedGeneration: 2, conditions: [cond('Ready', 'True', 'Succeeded', 'all good')] }),
    'Current', 'Widget sample: ready'],
  ['custom resource with a status but no conditions', custom({ generation: 1 }, { observedGeneration: 1, phase: 'Whatever' }),
    'Current', 'Widget sample: current'],
  ['CronJob (nothing to wait for)', { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly', namespace: 'shop', generation: 1 }, spec: { schedule: '0 3 * * *' }, status: { lastScheduleTime: T } },
    'Current', 'CronJob nightly: created (nothing to wait for)'],
  ['a kind named like a core kind in another group follows the generic rules', { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'web', generation: 1 }, spec: { type: 'LoadBalancer' }, status: { observedGeneration: 1, conditions: [cond('Ready', 'False', 'RevisionMissing')] } },
    'InProgress', 'Service web: Ready is False (RevisionMissing)'],

  // Any kind
  ['an object being deleted', { ...custom({ generation: 1, deletionTimestamp: T, finalizers: ['example.com/cleanup'] }, { conditions: [cond('Ready', 'True')] }) },
    'Terminating', 'Widget sample: being deleted'],
  ['a Deployment being deleted', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', deletionTimestamp: T }, spec: {} },
    'Terminating', 'Deployment web: being deleted'],
  ['a built-in kind with Stalled=True is Failed, whatever its own rule would say', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', generation: 1 }, spec: { replicas: 0 }, status: { observedGeneration: 1, conditions: [cond('Stalled', 'True', 'QuotaExceeded', 'no room')] } },
    'Failed', 'Deployment web: Stalled is True (QuotaExceeded): no room'],
  ['Reconciling listed before Stalled wins (the first of the two decides)', custom({ generation: 1 }, { observedGeneration: 1, conditions: [cond('Reconciling', 'True', 'Retrying'), cond('Stalled', 'True', 'InvalidSpec')] }),
    'InProgress', 'Widget sample: Reconciling is True (Retrying)'],
  ['no object', null, 'NotFound', 'object not found'],
  ['something that is not an object', { metadata: { name: 'x' } }, 'Unknown', 'not a Kubernetes object (no apiVersion or kind)'],
];

for (const [title, obj, status, message] of cases) {
  test(title, (t) => {
    t.deepEqual(assessHealth(obj, { now: NOW }), { status, message });
  });
}
