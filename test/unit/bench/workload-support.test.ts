// Pure helpers of the cluster workloads: which requests a reconcile can have made, the no-op's acknowledgement, drift cases, time limits.
import test from 'ava';
import type { RequestCount } from '../../../bench/framework/prometheus.ts';
import { driftCases } from '../../../bench/workloads/drift.ts';
import { isReconcileRequest, splitRequests } from '../../../bench/workloads/support/api-requests.ts';
import { acknowledgement, noopMetrics, statusChanges } from '../../../bench/workloads/support/noop.ts';
import { applyTimeLimitMs } from '../../../bench/workloads/support/packages.ts';

const r = (verb: string, group: string, resource: string, count = 1, dryRun = false): RequestCount => ({ verb, group, resource, count, dryRun });

test('every Trellis kind counts by its group, new kinds included; core and workload resources a package holds count', (t) => {
  t.true(isReconcileRequest(r('LIST', 'apply.trellis.dev', 'packagerevisions')));
  t.true(isReconcileRequest(r('GET', 'apply.trellis.dev', 'objectslices')), 'a kind the new engine adds is not missed');
  t.true(isReconcileRequest(r('PATCH', 'source.trellis.dev', 'gitrepositories/status')));
  t.true(isReconcileRequest(r('APPLY', '', 'configmaps', 1, true)));
  t.true(isReconcileRequest(r('POST', '', 'events')));
  t.true(isReconcileRequest(r('POST', 'events.k8s.io', 'events')));
  t.true(isReconcileRequest(r('GET', 'apps', 'deployments')));
  t.true(isReconcileRequest(r('POST', 'authorization.k8s.io', 'subjectaccessreviews')));
});

test('watches, other components\' resources and non-resource URLs are kept apart, not counted', (t) => {
  t.false(isReconcileRequest(r('WATCH', '', 'configmaps')), 'a watch is counted when it ends, on its own timer');
  t.false(isReconcileRequest(r('PUT', 'coordination.k8s.io', 'leases')));
  t.false(isReconcileRequest(r('PATCH', '', 'nodes/status')));
  t.false(isReconcileRequest(r('GET', '', '')), 'the benchmark reading /metrics');
  t.false(isReconcileRequest(r('GET', 'evil.trellis.dev.example.com', 'things')));
  t.false(isReconcileRequest(r('GET', '', 'namespaces')), 'the apiserver reads the default namespace every 10 s');
  t.false(isReconcileRequest(r('GET', '', 'services')), 'and the kubernetes Service');
  t.true(isReconcileRequest(r('LIST', '', 'namespaces')));
  t.true(isReconcileRequest(r('APPLY', '', 'services')));
  const split = splitRequests([r('LIST', '', 'configmaps', 2), r('PUT', 'coordination.k8s.io', 'leases', 5)]);
  t.deepEqual(split.reconcile, [r('LIST', '', 'configmaps', 2)]);
  t.deepEqual(split.other, [r('PUT', 'coordination.k8s.io', 'leases', 5)]);
});

test('the acknowledgement is one status write, and only when nothing but lastHandledReconcileAt changed', (t) => {
  const before = { lastHandledReconcileAt: 'a', observedGeneration: 2, conditions: [{ type: 'Ready', status: 'True' }] };
  t.deepEqual(statusChanges(before as never, { ...before, lastHandledReconcileAt: 'b' } as never), []);
  t.deepEqual(statusChanges(before as never, { ...before, lastHandledReconcileAt: 'b', conditions: [{ type: 'Ready', status: 'False' }] } as never), ['conditions']);
  t.deepEqual(statusChanges(undefined, { lastHandledReconcileAt: 'b' }), []);
  const rows = [r('LIST', '', 'configmaps'), r('PATCH', 'apply.trellis.dev', 'packages/status', 2)];
  t.deepEqual(acknowledgement(rows, []), r('PATCH', 'apply.trellis.dev', 'packages/status', 1));
  t.is(acknowledgement(rows, ['conditions']), undefined, 'a status that changed otherwise is a write of the reconcile');
  t.is(acknowledgement([r('PATCH', 'apply.trellis.dev', 'packages/status', 1, true)], []), undefined, 'a dry run writes nothing');
  t.is(acknowledgement([r('LIST', '', 'configmaps')], []), undefined);
});

test('no-op metric names carry the case label', (t) => {
  const m = noopMetrics('no-op, 5,000 objects');
  t.regex(m.requests, /^no-op, 5,000 objects: API requests/);
  t.not(m.writes, m.acknowledgement);
});

test('drift cases: 20 at once in the smallest package, one object in the largest; --rounds replaces both', (t) => {
  t.deepEqual(driftCases([1000, 5000]), [{ changed: 20, size: 1000, rounds: 3 }, { changed: 1, size: 5000, rounds: 20 }]);
  t.deepEqual(driftCases([10], 2), [{ changed: 10, size: 10, rounds: 2 }, { changed: 1, size: 10, rounds: 2 }]);
});

test('the time limit of an apply grows with the package, within 2 and 10 minutes', (t) => {
  t.is(applyTimeLimitMs(100), 120_000);
  t.is(applyTimeLimitMs(5_000), 300_000);
  t.is(applyTimeLimitMs(100_000), 600_000);
});
