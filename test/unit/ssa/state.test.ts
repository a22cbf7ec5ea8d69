// Planning without requests (apply-controller/ssa/state.ts), on plain data: the
// decision table of decideLocally, and the projection and containment rules it
// rests on.
import test from 'ava';
import {
  AppliedState, containsIntent, decideLocally, intentHash, lazyHash, lazyIntentHash, projectionHash, projectOnto, recordOf,
  type AppliedRecord, type CacheLookup, type LocalInput,
} from '../../../apply-controller/ssa/state.ts';
import type { DesiredObject } from '../../../apply-controller/ssa/objects.ts';
import type { KubeObject } from '../../../runtime/object.ts';

const intent: DesiredObject = {
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'web', namespace: 'ns', labels: { app: 'web', 'apply.trellis.dev/package': 'web' } },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'nginx:1', ports: [{ containerPort: 80, protocol: 'TCP' }] }] } } },
};

/** The Deployment as the apiserver returns it, typed loosely enough to edit in tests. */
interface LiveDeployment {
  metadata: { labels: Record<string, string>; annotations: Record<string, string>; resourceVersion?: string; uid?: string };
  spec: { replicas?: unknown; strategy?: unknown; template: { spec: { containers: Record<string, unknown>[] } } };
  status?: Record<string, unknown>;
}

/** What the apiserver makes of the intent: defaults, server metadata, status. */
function liveOf(rv: string, change: (o: LiveDeployment) => void = () => undefined): KubeObject {
  const o = structuredClone(intent) as unknown as LiveDeployment;
  o.metadata.resourceVersion = rv;
  o.metadata.uid = 'u1';
  o.metadata.annotations = { 'deployment.kubernetes.io/revision': '1' };
  o.spec.strategy = { type: 'RollingUpdate' };
  const first = o.spec.template.spec.containers[0];
  if (first) first.imagePullPolicy = 'IfNotPresent';
  o.status = { replicas: 2 };
  change(o);
  return o;
}

const hash = intentHash(intent);
const lazy = (): (() => string) => () => hash;
/** A record with its hashes computed, for comparing. */
const hashed = (r: AppliedRecord | undefined): unknown => r && { intentHash: r.intentHash(), resourceVersion: r.resourceVersion, projectionHash: r.projectionHash() };
const known = (object?: KubeObject): CacheLookup => ({ known: true, object });
const input = (over: Partial<LocalInput>): LocalInput => ({ intent, hash: () => hash, lookup: known(liveOf('10')), record: undefined, trustLive: false, ...over });

test('an unknown kind is verified with the apiserver, never guessed', (t) => {
  t.deepEqual(decideLocally(input({ lookup: { known: false } })), { action: 'verify' });
});

test('an object the cache does not hold is applied without a read or a dry run', (t) => {
  t.deepEqual(decideLocally(input({ lookup: known(undefined) })), { action: 'apply', live: undefined });
});

test('the same intent on the object we got back costs nothing', (t) => {
  const live = liveOf('10');
  const record = recordOf(lazy(), live, intent);
  t.deepEqual(decideLocally(input({ lookup: known(live), record })), { action: 'none', record: undefined });
});

test('a change outside the intent\'s fields (status, a controller\'s annotation, defaults) is not drift', (t) => {
  const record = recordOf(lazy(), liveOf('10'), intent);
  const moved = liveOf('11', (o) => { o.status = { ...o.status, readyReplicas: 2 }; o.metadata.annotations['deployment.kubernetes.io/revision'] = '2'; });
  const decision = decideLocally(input({ lookup: known(moved), record }));
  t.is(decision.action, 'none');
  t.is(decision.action === 'none' ? decision.record?.resourceVersion : undefined, '11', 'the record follows the new resourceVersion');
});

test('a change of a field the intent declares is applied, and so is a removed label', (t) => {
  const record = recordOf(lazy(), liveOf('10'), intent);
  t.is(decideLocally(input({ lookup: known(liveOf('11', (o) => { o.spec.replicas = 5; })), record })).action, 'apply');
  t.is(decideLocally(input({ lookup: known(liveOf('12', (o) => { delete o.metadata.labels.app; })), record })).action, 'apply');
  t.is(decideLocally(input({ lookup: known(liveOf('13', (o) => { (o.spec.template.spec.containers[0] as Record<string, unknown>).image = 'evil:1'; })), record })).action, 'apply');
});

test('a new intent is applied even when the live object looks fine', (t) => {
  const record = recordOf(() => 'sha-of-an-older-intent', liveOf('10'), intent);
  t.is(decideLocally(input({ lookup: known(liveOf('10')), record })).action, 'apply');
  t.is(decideLocally(input({ lookup: known(liveOf('10')), record: undefined, trustLive: false })).action, 'apply');
});

test('after a restart, a trusted intent the live object contains costs nothing; one it does not is dry-run', (t) => {
  const decision = decideLocally(input({ record: undefined, trustLive: true }));
  t.is(decision.action, 'none');
  t.deepEqual(hashed(decision.action === 'none' ? decision.record : undefined), hashed(recordOf(lazy(), liveOf('10'), intent)));
  // A normalized value (the apiserver rewrote it) cannot be decided locally.
  t.is(decideLocally(input({ lookup: known(liveOf('10', (o) => { o.spec.replicas = '2'; })), trustLive: true })).action, 'verify');
});

test('projectOnto keeps exactly the declared fields, marking missing ones', (t) => {
  const live = liveOf('10');
  const projected = projectOnto(live, intent) as LiveDeployment & Record<string, unknown>;
  t.deepEqual(Object.keys(projected).sort(), ['apiVersion', 'kind', 'metadata', 'spec']);
  t.deepEqual(Object.keys(projected.metadata).sort(), ['labels', 'name', 'namespace']);
  t.false('strategy' in projected.spec);
  t.false('imagePullPolicy' in (projected.spec.template.spec.containers[0] ?? {}));
  const without = liveOf('10', (o) => { delete o.spec.replicas; });
  t.not(projectionHash(without, intent), projectionHash(live, intent), 'a missing field is a difference');
  t.not(projectionHash(liveOf('10', (o) => { o.spec.replicas = null; }), intent), projectionHash(without, intent), 'null is not missing');
});

test('containsIntent: maps are supersets, lists match item by item, scalars are equal', (t) => {
  t.true(containsIntent({ a: 1, b: { c: [1, { d: 2, e: 3 }] }, x: 9 }, { a: 1, b: { c: [1, { d: 2 }] } }));
  t.false(containsIntent({ a: 1, b: { c: [1] } }, { a: 1, b: { c: [1, 2] } }));
  t.false(containsIntent({ a: '1' }, { a: 1 }));
  t.false(containsIntent({}, { a: null }));
});

test('AppliedState tells our own write from someone else\'s', (t) => {
  const state = new AppliedState();
  const live = liveOf('10');
  state.set('ns_web_apps_Deployment', recordOf(lazy(), live, intent));
  t.true(state.isOwnWrite('ns_web_apps_Deployment', live));
  t.false(state.isOwnWrite('ns_web_apps_Deployment', liveOf('11')));
  t.false(state.isOwnWrite('ns_other_apps_Deployment', live));
  state.delete('ns_web_apps_Deployment');
  t.is(state.size, 0);
});

test('an event that arrives while a write is in flight is held, and wakes its Package only if it was not the answer', (t) => {
  const woken: string[] = [];
  const state = new AppliedState((key) => woken.push(key));
  const id = 'ns_web_apps_Deployment';
  t.false(state.hold(id, 'ns/pkg', liveOf('10')), 'nothing is held while no write is in flight');

  // The watch delivers our create before its answer: held, then recognised.
  state.sending(id);
  t.true(state.hold(id, 'ns/pkg', liveOf('10')));
  state.answered(id, liveOf('10'));
  t.deepEqual(woken, []);
  t.false(state.hold(id, 'ns/pkg', liveOf('11')), 'the write is no longer in flight');

  // Someone else's change arrives while ours is in flight (before or after it): it wakes the Package, once.
  state.sending(id);
  t.true(state.hold(id, 'ns/pkg', liveOf('11')));
  t.true(state.hold(id, 'ns/pkg', liveOf('12')));
  t.true(state.hold(id, 'ns/pkg', liveOf('13')));
  state.answered(id, liveOf('12'));
  t.deepEqual(woken, ['ns/pkg']);

  // A write that failed: whatever arrived meanwhile is news.
  state.sending(id);
  t.true(state.hold(id, 'ns/other', liveOf('14')));
  state.answered(id, undefined);
  t.deepEqual(woken, ['ns/pkg', 'ns/other']);
  state.sending(id);
  state.answered(id, undefined);
  t.is(woken.length, 2, 'a failed write with nothing held wakes nobody');
});

test('the intent hash is computed only when a decision needs it: a create is planned without it', (t) => {
  let hashed = 0;
  const counted = (): string => { hashed += 1; return hash; };
  t.deepEqual(decideLocally(input({ lookup: known(undefined), hash: counted })), { action: 'apply', live: undefined });
  t.deepEqual(decideLocally(input({ lookup: { known: false }, hash: counted })), { action: 'verify' });
  t.is(hashed, 0, 'a missing object, or an unknown kind, needs no hash');
  const record = recordOf(lazy(), liveOf('10'), intent);
  t.deepEqual(decideLocally(input({ lookup: known(liveOf('10')), record, hash: counted })), { action: 'none', record: undefined });
  t.is(hashed, 1, 'comparing with a record does');

  const once = lazyIntentHash(intent);
  t.is(once(), hash);
  t.is(once(), hash);
});

test('a record hashes nothing when it is made, and a decision that finds it moved compares projections', (t) => {
  let intentHashed = 0;
  let specRead = 0;
  const answer = liveOf('10');
  const watched = new Proxy(answer, { get: (o, k) => { if (k === 'spec') specRead += 1; return Reflect.get(o, k) as unknown; } });
  const record = recordOf(() => { intentHashed += 1; return hash; }, watched, intent);
  t.is(intentHashed + specRead, 0, 'the write\'s path pays for no hash');
  t.is(record.resourceVersion, '10');
  t.is(record.projectionHash(), projectionHash(answer, intent));
  t.true(specRead > 0);
  const moved = decideLocally(input({ lookup: known(liveOf('11', (o) => { o.status = { replicas: 3 }; })), record }));
  t.is(intentHashed, 1);
  t.deepEqual(hashed(moved.action === 'none' ? moved.record : undefined), { intentHash: hash, resourceVersion: '11', projectionHash: projectionHash(answer, intent) });
});

test('the same lazy intent hash is the same intent: no hash is computed to compare them', (t) => {
  let computed = 0;
  const shared = lazyHash(() => { computed += 1; return hash; });
  const live = liveOf('10');
  t.is(decideLocally(input({ lookup: known(live), record: recordOf(shared, live, intent), hash: shared })).action, 'none');
  t.is(computed, 0);
});

test('lazyHash computes once and lets go of what it computed from', (t) => {
  let calls = 0;
  const h = lazyHash(() => { calls += 1; return 'h'; });
  t.is(h(), 'h');
  t.is(h(), 'h');
  t.is(calls, 1);
});

test('records are hashed in the background after a reconcile, except those already replaced', async (t) => {
  const state = new AppliedState();
  const calls: string[] = [];
  const counted = (name: string): (() => string) => () => { calls.push(name); return hash; };
  state.set('a', recordOf(counted('a-old'), liveOf('1'), intent));
  state.set('a', recordOf(counted('a'), liveOf('2'), intent));
  state.set('b', recordOf(counted('b'), liveOf('3'), intent));
  state.set('c', recordOf(counted('c'), liveOf('4'), intent));
  state.delete('c');
  state.set('d', recordOf(() => { throw new Error('cannot hash'); }, liveOf('5'), intent));
  t.is(state.unhashed, 3);
  state.hashInBackground();
  t.deepEqual(calls, [], 'nothing is hashed in the caller\'s turn');
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.is(state.unhashed, 0);
  t.deepEqual(calls.sort(), ['a', 'b']);
  t.is(state.get('a')?.projectionHash(), projectionHash(liveOf('2'), intent));
  t.throws(() => state.get('d')?.intentHash(), { message: 'cannot hash' }, 'a hash that fails does not stop the pass; a decision that needs it fails in its reconcile');
});
