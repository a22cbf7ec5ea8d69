// Compiling user-defined health checks: what is refused before anything runs
// (syntax, unknown variables and functions, too long, nested macros), with
// every problem named by its field; and the same checks refused in package.yaml
// and in object annotations by bundle validation.
import test from 'ava';
import { validatePackageManifest } from '../../../apply-controller/bundle/format.ts';
import { validateObjects } from '../../../apply-controller/bundle/validate.ts';
import { compileExpression, evaluateExpression, MAX_EXPRESSION_LENGTH } from '../../../apply-controller/health/cel.ts';
import { compileHealthChecks } from '../../../apply-controller/health/checks.ts';

const refused: Array<[string, string, string]> = [
  ['syntax', 'object.status.phase == ', 'not a CEL expression: <input>:1:21: found = but expecting end of input'],
  ['an unknown variable', 'status.phase == "Ready"', 'unknown variable "status" (the object is "object", e.g. object.status.phase)'],
  ['an unknown function', 'isReady(object)', 'unknown function "isReady"'],
  ['a message type', 'google.protobuf.Duration{seconds: 1} == object.spec', 'message types are not available ("google.protobuf.Duration{...}")'],
  ['nested macros', 'object.spec.a.all(x, object.spec.b.exists(y, x == y))', 'macros (all, exists, exists_one, map, filter) may not be nested more than 1 deep'],
  ['too long', `object.spec.x == "${'a'.repeat(MAX_EXPRESSION_LENGTH)}"`, `the expression is ${MAX_EXPRESSION_LENGTH + 19} characters long; at most ${MAX_EXPRESSION_LENGTH} are allowed`],
  ['empty', '  ', 'the expression is empty'],
];

for (const [title, source, message] of refused) {
  test(`refused at compile time: ${title}`, (t) => {
    const error = t.throws(() => compileExpression(source, 'bool'));
    t.true(error.message.startsWith(message), error.message);
  });
}

test('accepted: standard functions, macros one deep, has(), ternaries, type names, RE2 matches', (t) => {
  for (const source of [
    'has(object.status) && object.status.phase in ["Ready", "Running"]',
    'object.status.conditions.exists(c, c.type == "Ready" && c.status == "True")',
    'object.spec.items.map(i, i.name).size() == 2 ? true : false',
    'type(object.spec.replicas) == double && object.metadata.name.startsWith("web")',
    'object.metadata.name.matches("^[a-z]+$") && int(object.spec.replicas) >= 1',
  ]) t.notThrows(() => compileExpression(source, 'bool'), source);
});

test('evaluation never throws: errors and wrong result types come back as messages', (t) => {
  const obj = { spec: { replicas: 3 } };
  t.deepEqual(evaluateExpression(compileExpression('object.spec.replicas == 3', 'bool'), obj), { ok: true, value: true });
  t.deepEqual(evaluateExpression(compileExpression('object.spec.missing == 3', 'bool'), obj), { ok: false, error: 'field not found: missing' });
  t.deepEqual(evaluateExpression(compileExpression('object.spec', 'bool'), obj), { ok: false, error: 'the result is a map, not a bool' });
  t.deepEqual(evaluateExpression(compileExpression('object.spec.replicas', 'string'), obj), { ok: true, value: '3' });
  const long = evaluateExpression(compileExpression('object.spec.text', 'string'), { spec: { text: 'x'.repeat(2000) } });
  t.true(long.ok && String(long.value).length === 513);
});

test('a list of checks: every problem, each naming its field', (t) => {
  const result = compileHealthChecks([
    { kind: 'Database', current: 'object.status.phase == "Ready"' },
    { kind: 'Cache', apiVersion: 'c.example.com/v1', group: 'c.example.com', current: 'ready(object)', failed: 'object.status.phase ==', message: 'msg' },
  ], 'spec.healthChecks');
  const problems = result.ok ? [] : [...result.problems];
  t.is(problems.length, 4);
  t.is(problems[0], 'spec.healthChecks[1]: give apiVersion or group, not both');
  t.is(problems[1], 'spec.healthChecks[1].current: unknown function "ready"');
  t.is(problems[2], 'spec.healthChecks[1].failed: not a CEL expression: <input>:1:21: found = but expecting end of input');
  t.is(problems[3], 'spec.healthChecks[1].message: unknown variable "msg" (the object is "object", e.g. object.status.phase)');
});

const manifest = (healthChecks: unknown): Record<string, unknown> => ({
  apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageManifest', name: 'db', version: '1.0.0', healthChecks,
});

test('package.yaml: valid checks are kept in the manifest', (t) => {
  const checks = [{ apiVersion: 'db.example.com/v1', kind: 'Database', current: 'object.status.phase == "Ready"', failed: 'object.status.phase == "Failed"' }];
  const result = validatePackageManifest(manifest(checks));
  t.true(result.ok);
  t.deepEqual(result.ok ? result.manifest.healthChecks : undefined, checks);
});

test('package.yaml: a bad expression refuses the bundle, naming the file and the field', (t) => {
  const result = validatePackageManifest(manifest([
    { kind: 'Database', current: 'object.status.phase == "Ready"' },
    { kind: 'Database', current: 'object.status.ready()' },
    { kind: 'Database', failed: 'true' },
    { kind: 'Database', current: 'true', timeout: '1m' },
  ]), 'db/package.yaml');
  t.false(result.ok);
  const messages = result.ok ? [] : result.errors.map((e) => [e.reason, e.message]);
  t.deepEqual(messages, [
    ['InvalidPackageManifest', 'db/package.yaml: healthChecks[3] must NOT have additional properties ("timeout")'],
    ['InvalidPackageManifest', 'db/package.yaml: healthChecks[1].current: unknown function "ready"'],
    ['InvalidPackageManifest', 'db/package.yaml: healthChecks[2]: give exactly one of current and currentWhen'],
  ]);
});

test('object annotations: a bad expression is an InvalidHealthCheck problem of that object', (t) => {
  const problems = validateObjects([{
    object: {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'shop', annotations: { 'health.trellis.dev/current': 'object.data.ready = "yes"' } },
    },
    source: { file: 'manifests/c.yaml', document: 0 },
  }], { scopeOf: () => ({ known: true, namespaced: true }) });
  t.deepEqual(problems.map((p) => [p.reason, p.message]), [[
    'InvalidHealthCheck',
    'manifests/c.yaml: ConfigMap shop/c: annotation health.trellis.dev/current: not a CEL expression: <input>:1:19: found = but expecting end of input',
  ]]);
});
