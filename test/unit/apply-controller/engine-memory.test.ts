// EngineMemory's judgement of wake-ups for a Package waiting for health: while
// a reconcile is under way every change counts; once it settled waiting, only
// a change that moves an object's health verdict does.
import test from 'ava';
import type { ManagedObjectCache } from '../../../apply-controller/cache/managed-objects.ts';
import { compileHealthChecks } from '../../../apply-controller/health/checks.ts';
import { EngineMemory } from '../../../apply-controller/reconcile/engine.ts';
import type { KubeObject } from '../../../runtime/object.ts';

const KEY = 'ns/app';
const memory = (): EngineMemory => new EngineMemory({} as ManagedObjectCache);

/** A Deployment of `replicas` whose controller reported `status`. */
function deployment(status: Record<string, unknown> | undefined, generation = 1): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'ns', generation },
    spec: { replicas: 2 }, ...(status ? { status } : {}),
  } as KubeObject;
}

const rolling = (updated: number, available: number): KubeObject => deployment({
  observedGeneration: 1, replicas: 2, updatedReplicas: updated, readyReplicas: available, availableReplicas: available,
  conditions: [{ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' }],
});
const available = deployment({
  observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2,
  conditions: [{ type: 'Available', status: 'True' }, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }],
});

test('while a reconcile is under way, any change may matter', (t) => {
  const engine = memory();
  engine.expectHealth(KEY);
  t.true(engine.healthMayMove(KEY, rolling(0, 0), rolling(1, 0)));
});

test('settled waiting with its checks: a status that moves within InProgress does not wake, one that reaches Current does', (t) => {
  const engine = memory();
  engine.expectHealth(KEY);
  engine.settle(KEY, true, []);
  t.true(engine.awaitsHealth(KEY));
  t.false(engine.healthMayMove(KEY, rolling(0, 0), rolling(1, 0)), 'one more replica updated: still InProgress');
  t.false(engine.healthMayMove(KEY, rolling(1, 0), rolling(2, 1)));
  t.true(engine.healthMayMove(KEY, rolling(2, 1), available), 'InProgress -> Current');
});

test('the Package\'s own checks judge: a change their verdict sees wakes, one kstatus alone would see does not', (t) => {
  const compiled = compileHealthChecks([{ group: 'apps', kind: 'Deployment', current: 'has(object.status.phase) && object.status.phase == "Done"' }], 'spec.healthChecks');
  if (!compiled.ok) return t.fail(compiled.problems.join('; '));
  const engine = memory();
  engine.expectHealth(KEY);
  engine.settle(KEY, true, compiled.checks);
  t.false(engine.healthMayMove(KEY, rolling(0, 0), available), 'kstatus would call it Current; the check still waits');
  t.true(engine.healthMayMove(KEY, available, deployment({ ...(available as { status: object }).status, phase: 'Done' })));
});

test('settled waiting without checks (a restore): every change wakes; a new reconcile judges every change again', (t) => {
  const engine = memory();
  engine.settle(KEY, true);
  t.true(engine.healthMayMove(KEY, rolling(0, 0), rolling(1, 0)));
  engine.settle(KEY, true, []);
  engine.expectHealth(KEY);
  t.true(engine.healthMayMove(KEY, rolling(0, 0), rolling(1, 0)), 'the reconcile under way may have read the old status');
  engine.settle(KEY, false);
  t.false(engine.awaitsHealth(KEY));
});
