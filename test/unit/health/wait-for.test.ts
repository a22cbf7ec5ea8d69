// The `health.trellis.dev/wait-for` opt-ins: an object that asks for more than
// kstatus gives (a Job's completion, a Pod's success, a load balancer's address)
// is judged by the stricter rule; the same object without the annotation by
// kstatus's. A value the kind does not understand makes the verdict Unknown.
import test from 'ava';
import { assessHealth } from '../../../apply-controller/health/assess.ts';
import type { HealthStatus } from '../../../apply-controller/health/status.ts';
import { WAIT_FOR_ANNOTATION, waitForProblem } from '../../../apply-controller/health/wait-for.ts';

type Obj = Record<string, unknown>;
const T = '2026-11-21T10:00:00Z';
const NOW = Date.parse(T);
const cond = (type: string, status: string, reason?: string, message?: string): Obj =>
  ({ type, status, lastTransitionTime: T, ...(reason ? { reason } : {}), ...(message ? { message } : {}) });

const annotated = (waitFor: string | undefined): Obj => (waitFor === undefined ? {} : { annotations: { [WAIT_FOR_ANNOTATION]: waitFor } });

function job(waitFor: string | undefined, status: Obj | undefined, suspend = false): Obj {
  return {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate', namespace: 'shop', generation: 1, ...annotated(waitFor) },
    spec: { backoffLimit: 2, completions: 1, parallelism: 1, suspend, template: {} },
    ...(status === undefined ? {} : { status }),
  };
}

function pod(waitFor: string | undefined, status: Obj): Obj {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'seed', namespace: 'shop', creationTimestamp: '2026-11-21T09:00:00Z', ...annotated(waitFor) },
    spec: { restartPolicy: 'Never', containers: [{ name: 'seed', image: 'busybox:1.36' }] },
    status,
  };
}

function service(waitFor: string | undefined, type: string, ingress?: Obj[]): Obj {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'ingress-nginx-controller', namespace: 'ingress-nginx', ...annotated(waitFor) },
    spec: { type, clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    status: { loadBalancer: ingress ? { ingress } : {} },
  };
}

const running = { startTime: T, active: 1 };
const complete = { startTime: T, completionTime: T, succeeded: 1, conditions: [cond('Complete', 'True')] };
const failed = { startTime: T, failed: 3, conditions: [cond('Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit')] };
const suspended = { conditions: [cond('Suspended', 'True', 'JobSuspended', 'Job suspended')] };

const cases: Array<[string, Obj, HealthStatus, string]> = [
  // Job: wait-for complete
  ['Job running, no opt-in: Current once started', job(undefined, running), 'Current', 'Job migrate: started: 0/1 succeeded, 1 active, 0 failed'],
  ['Job running, wait-for complete: InProgress', job('complete', running), 'InProgress', 'Job migrate: waiting for it to complete: 0/1 succeeded, 1 active, 0 failed'],
  ['Job not started, wait-for complete', job('complete', undefined), 'InProgress', 'Job migrate: waiting for it to complete: 0/1 succeeded, 0 active, 0 failed'],
  ['Job complete, wait-for complete', job('complete', complete), 'Current', 'Job migrate: complete (1/1 succeeded)'],
  ['Job failed, wait-for complete: Failed', job('complete', failed), 'Failed', 'Job migrate: Failed is True (BackoffLimitExceeded): Job has reached the specified backoff limit'],
  ['Job failed, no opt-in: Failed all the same', job(undefined, failed), 'Failed', 'Job migrate: Failed is True (BackoffLimitExceeded): Job has reached the specified backoff limit'],
  ['Job suspended, no opt-in: Current', job(undefined, suspended, true), 'Current', 'Job migrate: suspended'],
  ['Job suspended, wait-for complete: it will not complete while suspended', job('complete', suspended, true),
    'InProgress', 'Job migrate: suspended; waiting for it to complete: 0/1 succeeded, 0 active, 0 failed'],
  ['Job with wait-for complete and Stalled=True: the shared checks still come first',
    job('complete', { ...running, conditions: [cond('Stalled', 'True', 'Broken', 'cannot run')] }), 'Failed', 'Job migrate: Stalled is True (Broken): cannot run'],

  // Pod: wait-for complete
  ['Pod running and ready, no opt-in: Current', pod(undefined, { phase: 'Running', conditions: [cond('Ready', 'True')] }), 'Current', 'Pod seed: running and ready'],
  ['Pod running and ready, wait-for complete: InProgress', pod('complete', { phase: 'Running', conditions: [cond('Ready', 'True')] }),
    'InProgress', 'Pod seed: running; waiting for it to complete'],
  ['Pod succeeded, wait-for complete', pod('complete', { phase: 'Succeeded' }), 'Current', 'Pod seed: completed'],
  ['Pod failed, no opt-in: completed (kstatus)', pod(undefined, { phase: 'Failed', reason: 'Error' }), 'Current', 'Pod seed: completed, unsuccessfully (Error)'],
  ['Pod failed, wait-for complete: Failed', pod('complete', { phase: 'Failed', reason: 'Error' }), 'Failed', 'Pod seed: failed: Error'],
  ['Pod crash-looping, wait-for complete: Failed as without it', pod('complete', {
    phase: 'Running', conditions: [cond('Ready', 'False')],
    containerStatuses: [{ name: 'seed', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 1m20s' } } }],
  }), 'Failed', 'Pod seed: container seed is waiting: CrashLoopBackOff (back-off 1m20s)'],

  // Service: wait-for load-balancer
  ['LoadBalancer Service without an address, no opt-in: Current (kstatus)', service(undefined, 'LoadBalancer'),
    'Current', 'Service ingress-nginx-controller: created; no load balancer address yet (not waited for)'],
  ['LoadBalancer Service without an address, wait-for load-balancer: InProgress', service('load-balancer', 'LoadBalancer'),
    'InProgress', 'Service ingress-nginx-controller: waiting for a load balancer address'],
  ['LoadBalancer Service with an IP, wait-for load-balancer', service('load-balancer', 'LoadBalancer', [{ ip: '192.0.2.10' }]),
    'Current', 'Service ingress-nginx-controller: load balancer ready (192.0.2.10)'],
  ['LoadBalancer Service with a host name, wait-for load-balancer', service('load-balancer', 'LoadBalancer', [{ hostname: 'lb-1.example.net' }]),
    'Current', 'Service ingress-nginx-controller: load balancer ready (lb-1.example.net)'],
  ['NodePort Service with wait-for load-balancer: nothing to wait for (the opt-in is about load balancers)', service('load-balancer', 'NodePort'),
    'Current', 'Service ingress-nginx-controller: created'],

  // Values a kind does not understand
  ['Job with wait-for load-balancer', job('load-balancer', complete), 'Unknown',
    `Job migrate: annotation ${WAIT_FOR_ANNOTATION}: "load-balancer" is not understood for a Job (use "complete")`],
  ['Job with a misspelt value', job('completed', complete), 'Unknown',
    `Job migrate: annotation ${WAIT_FOR_ANNOTATION}: "completed" is not understood for a Job (use "complete")`],
  ['Service with wait-for complete', service('complete', 'LoadBalancer'), 'Unknown',
    `Service ingress-nginx-controller: annotation ${WAIT_FOR_ANNOTATION}: "complete" is not understood for a Service (use "load-balancer")`],
  ['Deployment with wait-for complete', {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', generation: 1, ...annotated('complete') }, spec: { replicas: 0 }, status: { observedGeneration: 1 },
  }, 'Unknown', `Deployment web: annotation ${WAIT_FOR_ANNOTATION}: "complete" is not understood for a Deployment (a Deployment has nothing more to wait for)`],
  ['a misused opt-in on an object being deleted: Terminating first', { ...job('nonsense', running), metadata: { name: 'migrate', deletionTimestamp: T, ...annotated('nonsense') } },
    'Terminating', 'Job migrate: being deleted'],
];

for (const [title, obj, status, message] of cases) {
  test(title, (t) => {
    t.deepEqual(assessHealth(obj, { now: NOW }), { status, message });
  });
}

test('waitForProblem accepts objects without the annotation and the values their kind knows', (t) => {
  t.is(waitForProblem(job(undefined, running)), undefined);
  t.is(waitForProblem(job('complete', running)), undefined);
  t.is(waitForProblem(pod('complete', { phase: 'Pending' })), undefined);
  t.is(waitForProblem(service('load-balancer', 'LoadBalancer')), undefined);
  t.regex(waitForProblem(pod('load-balancer', { phase: 'Pending' })) ?? '', /not understood for a Pod \(use "complete"\)/);
});
