// User-defined health checks on plain objects: which verdict a check gives
// (Failed first, then Current, else InProgress), its message, an evaluation
// error as InProgress, and which check wins (annotations > Package > bundle >
// kstatus).
import test from 'ava';
import { assessHealth } from '../../../apply-controller/health/assess.ts';
import {
  combineHealthChecks, compileHealthChecks, type HealthChecks, type HealthCheckSpec,
} from '../../../apply-controller/health/checks.ts';
import type { HealthStatus } from '../../../apply-controller/health/status.ts';

type Obj = Record<string, unknown>;

function database(status: Obj | undefined, annotations: Record<string, string> = {}, name = 'orders'): Obj {
  return {
    apiVersion: 'db.example.com/v1', kind: 'Database',
    metadata: { name, namespace: 'shop', generation: 2, annotations },
    spec: { replicas: 3 },
    ...(status === undefined ? {} : { status }),
  };
}

function compiled(specs: HealthCheckSpec[], field = 'spec.healthChecks'): HealthChecks {
  const result = compileHealthChecks(specs, field);
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.checks;
}

const phaseCheck: HealthCheckSpec = {
  apiVersion: 'db.example.com/v1', kind: 'Database',
  current: 'object.status.phase == "Ready" && object.status.readyReplicas == object.spec.replicas',
  failed: 'object.status.phase == "Failed"',
  message: '"phase " + object.status.phase',
};

const verdicts: Array<[string, Obj | undefined, HealthStatus, string]> = [
  ['current by the expression', { phase: 'Ready', readyReplicas: 3 }, 'Current', 'Database orders: phase Ready'],
  ['failed by the other expression', { phase: 'Failed', readyReplicas: 0 }, 'Failed', 'Database orders: phase Failed'],
  ['neither: in progress, with the message', { phase: 'Ready', readyReplicas: 2 }, 'InProgress', 'Database orders: phase Ready'],
  ['no status yet: the error, not a crash', undefined,
    'InProgress', 'Database orders: cannot evaluate spec.healthChecks[0].failed (object.status.phase == "Failed"): field not found: status'],
  ['a field missing from the current expression', { phase: 'Ready' },
    'InProgress', 'Database orders: cannot evaluate spec.healthChecks[0].current (object.status.phase == "Ready" && object.status.readyReplicas == object.spec.replicas): field not found: readyReplicas'],
];

for (const [title, status, expected, message] of verdicts) {
  test(`a check: ${title}`, (t) => {
    const health = assessHealth(database(status), { checks: compiled([phaseCheck]) });
    t.deepEqual(health, { status: expected, message });
  });
}

test('without a message expression the messages name the expressions', (t) => {
  const checks = compiled([{ group: 'db.example.com', kind: 'Database', current: 'object.status.phase == "Ready"', failed: 'object.status.phase == "Failed"' }]);
  t.deepEqual(assessHealth(database({ phase: 'Ready' }), { checks }), { status: 'Current', message: 'Database orders: current by its health check' });
  t.deepEqual(assessHealth(database({ phase: 'Failed' }), { checks }), { status: 'Failed', message: 'Database orders: failed: object.status.phase == "Failed"' });
  t.deepEqual(assessHealth(database({ phase: 'Creating' }), { checks }), { status: 'InProgress', message: 'Database orders: waiting for object.status.phase == "Ready"' });
});

test('a result that is not a bool is InProgress, naming the type', (t) => {
  const checks = compiled([{ kind: 'Database', current: 'object.status.phase' }]);
  t.deepEqual(assessHealth(database({ phase: 'Ready' }), { checks }),
    { status: 'InProgress', message: 'Database orders: cannot evaluate spec.healthChecks[0].current (object.status.phase): the result is a string, not a bool' });
});

test('a message that cannot be evaluated falls back to the default, with its error', (t) => {
  const checks = compiled([{ kind: 'Database', current: 'has(object.status) && object.status.phase == "Ready"', message: '"at " + object.status.endpoint' }]);
  t.deepEqual(assessHealth(database({ phase: 'Ready' }), { checks }),
    { status: 'Current', message: 'Database orders: current by its health check (message: field not found: endpoint)' });
});

test('conditions and numbers: macros over the conditions, JSON numbers compared with ints', (t) => {
  const checks = compiled([{
    kind: 'Database',
    current: 'object.status.conditions.exists(c, c.type == "Available" && c.status == "True") && size(object.status.conditions) >= 1',
    failed: 'object.status.conditions.exists(c, c.type == "Degraded" && c.status == "True")',
    message: 'object.status.conditions.filter(c, c.status == "True").map(c, c.type).size() > 0 ? "ok" : "no condition is True"',
  }]);
  const cond = (type: string, status: string): Obj => ({ type, status });
  t.is(assessHealth(database({ conditions: [cond('Available', 'True')] }), { checks }).status, 'Current');
  t.is(assessHealth(database({ conditions: [cond('Available', 'True'), cond('Degraded', 'True')] }), { checks }).status, 'Failed');
  t.deepEqual(assessHealth(database({ conditions: [cond('Available', 'False')] }), { checks }),
    { status: 'InProgress', message: 'Database orders: no condition is True' });
});

test('a stale status says nothing, whatever the check: InProgress until the generation is observed', (t) => {
  const checks = compiled([phaseCheck]);
  const health = assessHealth(database({ phase: 'Ready', readyReplicas: 3, observedGeneration: 1 }), { checks });
  t.deepEqual(health, { status: 'InProgress', message: 'Database orders: waiting for the controller to observe generation 2 (observed 1)' });
});

test('an object being deleted is Terminating even with a check', (t) => {
  const obj = database({ phase: 'Ready', readyReplicas: 3 });
  (obj.metadata as Obj).deletionTimestamp = '2026-11-21T10:00:00Z';
  t.is(assessHealth(obj, { checks: compiled([phaseCheck]) }).status, 'Terminating');
});

test('a check replaces the kind\'s rule: a Ready=False condition does not hold back what the check calls Current', (t) => {
  const obj = database({ phase: 'Ready', readyReplicas: 3, conditions: [{ type: 'Ready', status: 'False', reason: 'Syncing' }] });
  t.is(assessHealth(obj).status, 'InProgress');
  t.is(assessHealth(obj, { checks: compiled([phaseCheck]) }).status, 'Current');
});

test('matching: by group (any version), kind and name; other objects keep the kstatus rules', (t) => {
  const checks = compiled([
    { apiVersion: 'db.example.com/v2', kind: 'Database', name: 'orders', current: 'false' },
    { group: 'other.example.com', kind: 'Database', current: 'false' },
  ]);
  t.is(assessHealth(database({}, {}, 'orders'), { checks }).status, 'InProgress');
  // Another name, and a Database of another group: no check matches, kstatus calls it Current (no Ready condition).
  t.is(assessHealth(database({}, {}, 'users'), { checks }).status, 'Current');
  const core = compiled([{ group: '', kind: 'ConfigMap', current: 'object.data.ready == "yes"' }]);
  t.is(assessHealth({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { ready: 'no' } }, { checks: core }).status, 'InProgress');
});

const precedence: Array<[string, Record<string, string>, HealthCheckSpec[] | undefined, HealthCheckSpec[] | undefined, HealthStatus]> = [
  ['kstatus without any check', {}, undefined, undefined, 'Current'],
  ['the bundle\'s check over kstatus', {}, undefined, [{ kind: 'Database', current: 'false' }], 'InProgress'],
  ['the Package\'s check over the bundle\'s', {}, [{ kind: 'Database', current: 'true' }], [{ kind: 'Database', current: 'false' }], 'Current'],
  ['the annotations over the Package\'s check', { 'health.trellis.dev/current': 'false' }, [{ kind: 'Database', current: 'true' }], undefined, 'InProgress'],
  ['the annotations over every check', { 'health.trellis.dev/current': 'true', 'health.trellis.dev/failed': 'object.status.phase == "Lost"' },
    [{ kind: 'Database', current: 'false' }], [{ kind: 'Database', current: 'false' }], 'Failed'],
];

for (const [title, annotations, packageSpecs, bundleSpecs, expected] of precedence) {
  test(`precedence: ${title}`, (t) => {
    const checks = combineHealthChecks(packageSpecs ? compiled(packageSpecs) : undefined, bundleSpecs);
    t.is(assessHealth(database({ phase: 'Lost' }, annotations), { checks }).status, expected);
  });
}

test('messages say which list a check came from', (t) => {
  const checks = combineHealthChecks(undefined, [{ kind: 'Database', current: 'object.status.phase == "Ready"' }]);
  t.deepEqual(assessHealth(database({}), { checks }), {
    status: 'InProgress',
    message: 'Database orders: cannot evaluate package.yaml healthChecks[0].current (object.status.phase == "Ready"): field not found: phase',
  });
});

test('annotations that do not compile make the object Unknown, naming the annotation', (t) => {
  t.deepEqual(assessHealth(database({}, { 'health.trellis.dev/current': 'object.status.phase = "Ready"' })), {
    status: 'Unknown',
    message: 'Database orders: annotation health.trellis.dev/current: not a CEL expression: <input>:1:21: found = but expecting end of input',
  });
  t.deepEqual(assessHealth(database({}, { 'health.trellis.dev/failed': 'true' })),
    { status: 'Unknown', message: 'Database orders: annotation health.trellis.dev/failed needs health.trellis.dev/current too' });
});

test('a kind with its own kstatus rule can be judged by a check instead (a Service by its load balancer address)', (t) => {
  const service = (ingress: Obj[]): Obj => ({
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'web', annotations: { 'health.trellis.dev/current': 'size(object.status.loadBalancer.ingress) > 0' } },
    spec: { type: 'LoadBalancer', clusterIP: '10.0.0.1' },
    status: { loadBalancer: { ingress } },
  });
  t.is(assessHealth(service([])).status, 'InProgress');
  t.is(assessHealth(service([{ ip: '192.0.2.1' }])).status, 'Current');
});

test('the declarative form: conditions and field equalities, absent ones simply not holding', (t) => {
  const checks = compiled([{
    kind: 'Database',
    currentWhen: { conditions: [{ type: 'Available', status: 'True' }], fields: [{ path: 'status.phase', equals: 'Ready' }, { path: 'status.replicas', equals: '3' }] },
    failedWhen: { conditions: [{ type: 'Degraded', status: 'True', reason: 'Corrupt' }] },
  }]);
  const cond = (type: string, status: string, reason?: string): Obj => ({ type, status, ...(reason ? { reason } : {}) });
  const judge = (status: Obj | undefined): unknown => assessHealth(database(status), { checks });
  t.deepEqual(judge(undefined), { status: 'InProgress', message: 'Database orders: waiting for Available=True, status.phase=Ready, status.replicas=3' });
  t.is((judge({ phase: 'Ready', replicas: 3, conditions: [cond('Available', 'True')] }) as { status: string }).status, 'Current');
  t.is((judge({ phase: 'Ready', replicas: 2, conditions: [cond('Available', 'True')] }) as { status: string }).status, 'InProgress');
  t.is((judge({ phase: 'Ready', replicas: 3, conditions: [cond('Available', 'True'), cond('Degraded', 'True')] }) as { status: string }).status, 'Current',
    'Degraded without the reason the check names');
  t.deepEqual(judge({ conditions: [cond('Degraded', 'True', 'Corrupt')] }), { status: 'Failed', message: 'Database orders: failed: Degraded=True (Corrupt)' });
});

test('the declarative form is refused when it is empty, mixed with an expression, or names a malformed path', (t) => {
  const result = compileHealthChecks([
    { kind: 'A', currentWhen: {} },
    { kind: 'B', current: 'true', currentWhen: { fields: [{ path: 'status.phase', equals: 'x' }] } },
    { kind: 'C', currentWhen: { fields: [{ path: 'status..phase', equals: 'x' }] }, failed: 'false', failedWhen: { conditions: [{ type: 'X', status: 'True' }] } },
    { kind: 'D' },
  ], 'spec.healthChecks');
  t.deepEqual(result.ok ? [] : result.problems, [
    'spec.healthChecks[0].currentWhen needs at least one condition or field',
    'spec.healthChecks[1]: give exactly one of current and currentWhen',
    'spec.healthChecks[2]: give failed or failedWhen, not both',
    'spec.healthChecks[2].currentWhen.fields[0].path "status..phase" must be a dotted path like status.phase',
    'spec.healthChecks[3]: give exactly one of current and currentWhen',
  ]);
});
