// The small parts of the apply engine: names of objects, options and their
// defaults, the typed errors, port defaults, bounded concurrency.
import test from 'ava';
import { KubeApiError } from '../../../runtime/kube-transport.ts';
import {
  ApplyError, DEFAULT_APPLY_OPTIONS, HealthCheckError, ImmutableFieldError, inventoryEntryOf, isImmutableFieldError,
  labelSelectorOf, packageLabels, prepareObject, refOfEntry, resolveApplyOptions, resolveDeleteOptions, resolveWaitOptions,
  targetOf, type DesiredObject,
} from '../../../apply-controller/ssa/index.ts';
import { sleep } from '../../../apply-controller/ssa/_async.ts';
import { setPortProtocolDefaults } from '../../../apply-controller/ssa/defaults.ts';

const dep: DesiredObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' } };
const ns: DesiredObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } };

test('targets carry inventory ids, subjects and client refs; bundle objects keep their id', (t) => {
  t.deepEqual(targetOf(dep), {
    id: 'shop_web_apps_Deployment', subject: 'Deployment/shop/web', object: dep,
    ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop' },
  });
  t.is(targetOf(ns).subject, 'Namespace/shop');
  t.is(targetOf({ id: 'given', object: dep, source: { file: 'a.yaml', document: 0 } }).id, 'given');
  t.throws(() => targetOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} } as unknown as DesiredObject), { instanceOf: TypeError });
});

test('inventory entries round-trip to refs for core, grouped and cluster-scoped kinds', (t) => {
  t.deepEqual(inventoryEntryOf(dep), { id: 'shop_web_apps_Deployment', v: 'v1' });
  t.deepEqual(refOfEntry(inventoryEntryOf(dep)), { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop' });
  t.deepEqual(refOfEntry({ id: '_shop__Namespace', v: 'v1' }), { apiVersion: 'v1', kind: 'Namespace', name: 'shop' });
  t.throws(() => refOfEntry({ id: 'nope', v: 'v1' }));
});

test('options: defaults in one place, bad numbers refused, delete needs labels', (t) => {
  const o = resolveApplyOptions();
  t.is(o.fieldManager, 'trellis');
  t.is(o.concurrency, DEFAULT_APPLY_OPTIONS.concurrency);
  t.false(o.force);
  t.throws(() => resolveApplyOptions({ concurrency: 0 }), { instanceOf: RangeError });
  t.throws(() => resolveWaitOptions({ timeoutMs: -1 }), { instanceOf: RangeError });
  t.is(resolveWaitOptions({ pollIntervalMs: 9_000 }).maxPollIntervalMs, 9_000, 'the cap is never below the first interval');
  t.throws(() => resolveDeleteOptions({ labels: {} }), { instanceOf: RangeError });
  t.is(resolveDeleteOptions({ labels: { a: 'b' } }).propagation, 'Background');
  t.deepEqual(packageLabels('web', 'shop'), { 'apply.trellis.dev/package': 'web', 'apply.trellis.dev/package-namespace': 'shop' });
  t.is(labelSelectorOf(packageLabels('web', 'shop')), 'apply.trellis.dev/package=web,apply.trellis.dev/package-namespace=shop');
});

test('prepareObject stamps labels, drops server metadata and leaves the input alone', (t) => {
  const exported: DesiredObject = {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: 'c', namespace: 'ns', labels: { app: 'x' }, resourceVersion: '5', uid: 'u', managedFields: [], creationTimestamp: null },
  };
  const prepared = prepareObject(exported, undefined, { labels: { owner: 'me' }, ignore: [] });
  t.deepEqual(prepared.metadata, { name: 'c', namespace: 'ns', labels: { app: 'x', owner: 'me' } });
  t.is(exported.metadata.resourceVersion, '5');
});

test('ports without a protocol get TCP on Services and Pod templates, nowhere else', (t) => {
  const svc: DesiredObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }, { port: 53, protocol: 'UDP' }] } };
  setPortProtocolDefaults(svc);
  t.deepEqual((svc.spec as { ports: unknown[] }).ports, [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }]);
  const cron: DesiredObject = {
    apiVersion: 'batch/v1beta1', kind: 'CronJob', metadata: { name: 'c' },
    spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'm', ports: [{ containerPort: 8080 }] }] } } } } },
  };
  setPortProtocolDefaults(cron);
  t.regex(JSON.stringify(cron), /"containerPort":8080,"protocol":"TCP"/);
  const custom: DesiredObject = { apiVersion: 'example.com/v1', kind: 'Service', metadata: { name: 'x' }, spec: { ports: [{ port: 1 }] } };
  setPortProtocolDefaults(custom);
  t.deepEqual((custom.spec as { ports: unknown[] }).ports, [{ port: 1 }], 'a custom kind named Service is not touched');
});

test('immutable-field refusals are recognized by status and wording', (t) => {
  t.true(isImmutableFieldError(new KubeApiError(422, 'Invalid', 'Deployment.apps "web" is invalid: spec.selector: Invalid value: ...: field is immutable')));
  t.true(isImmutableFieldError(new KubeApiError(422, 'Invalid', 'RoleBinding "x" is invalid: roleRef: Invalid value: ...: cannot change roleRef')));
  t.true(isImmutableFieldError(new KubeApiError(422, 'Invalid', "StatefulSet.apps \"db\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas' are forbidden")));
  t.false(isImmutableFieldError(new KubeApiError(422, 'Invalid', 'spec.ports[0].port: Invalid value: 70000')));
  t.false(isImmutableFieldError(new KubeApiError(409, 'Conflict', 'field is immutable')));
  t.false(isImmutableFieldError(new Error('field is immutable')));
});

test('typed errors name the object and keep the apiserver\'s words', (t) => {
  const names = { id: 'shop_web_apps_Deployment', subject: 'Deployment/shop/web' };
  const apply = new ApplyError(names, new KubeApiError(403, 'Forbidden', 'deployments.apps "web" is forbidden'));
  t.is(apply.message, 'Deployment/shop/web: deployments.apps "web" is forbidden');
  t.is(apply.statusCode, 403);
  t.is(apply.reason, 'Forbidden');
  t.is(apply.changeSet.entries.length, 0);
  const immutable = new ImmutableFieldError(names, new KubeApiError(422, 'Invalid', 'spec.selector: field is immutable'));
  t.true(immutable instanceof ApplyError);
  t.is(immutable.name, 'ImmutableFieldError');
  t.regex(immutable.message, /^Deployment\/shop\/web: spec\.selector: field is immutable \(.*force/);
  const health = new HealthCheckError([
    { ...names, status: 'InProgress', message: 'Deployment web: 0/2 replicas available' },
    { id: 'shop_c__ConfigMap', subject: 'ConfigMap/shop/c', status: 'NotFound', message: 'object not found' },
  ], 5_000);
  t.is(health.message,
    '2 objects are not healthy after 5s: Deployment/shop/web (InProgress): 0/2 replicas available; ConfigMap/shop/c (NotFound): object not found');
});

test('sleep rejects with the abort reason', async (t) => {
  const c = new AbortController();
  const p = sleep(10_000, c.signal);
  c.abort(new Error('stop'));
  await t.throwsAsync(p, { message: 'stop' });
  await t.throwsAsync(sleep(1, c.signal), { message: 'stop' });
});
