// Planning without requests (apply-controller/ssa/state.ts), on plain data: the
// decision table of decideLocally, and the projection and containment rules it
// rests on.
import test from 'ava';
import {
  AppliedState, containsIntent, decideLocally, intentHash, lazyIntentHash, projectionHash, projectOnto, recordOf, type CacheLookup, type LocalInput,
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
  const record = recordOf(hash, live, intent);
  t.deepEqual(decideLocally(input({ lookup: known(live), record })), { action: 'none', record: undefined });
});

test('a change outside the intent\'s fields (status, a controller\'s annotation, defaults) is not drift', (t) => {
  const record = recordOf(hash, liveOf('10'), intent);
  const moved = liveOf('11', (o) => { o.status = { ...o.status, readyReplicas: 2 }; o.metadata.annotations['deployment.kubernetes.io/revision'] = '2'; });
  const decision = decideLocally(input({ lookup: known(moved), record }));
  t.is(decision.action, 'none');
  t.is(decision.action === 'none' ? decision.record?.resourceVersion : undefined, '11', 'the record follows the new resourceVersion');
});

test('a change of a field the intent declares is applied, and so is a removed label', (t) => {
  const record = recordOf(hash, liveOf('10'), intent);
  t.is(decideLocally(input({ lookup: known(liveOf('11', (o) => { o.spec.replicas = 5; })), record })).action, 'apply');
  t.is(decideLocally(input({ lookup: known(liveOf('12', (o) => { delete o.metadata.labels.app; })), record })).action, 'apply');
  t.is(decideLocally(input({ lookup: known(liveOf('13', (o) => { (o.spec.template.spec.containers[0] as Record<string, unknown>).image = 'evil:1'; })), record })).action, 'apply');
});

test('a new intent is applied even when the live object looks fine', (t) => {
  const record = recordOf('sha-of-an-older-intent', liveOf('10'), intent);
  t.is(decideLocally(input({ lookup: known(liveOf('10')), record })).action, 'apply');
  t.is(decideLocally(input({ lookup: known(liveOf('10')), record: undefined, trustLive: false })).action, 'apply');
});

test('after a restart, a trusted intent the live object contains costs nothing; one it does not is dry-run', (t) => {
  const decision = decideLocally(input({ record: undefined, trustLive: true }));
  t.is(decision.action, 'none');
  t.deepEqual(decision.action === 'none' ? decision.record : undefined, recordOf(hash, liveOf('10'), intent));
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
  state.set('ns_web_apps_Deployment', recordOf(hash, live, intent));
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
  const record = recordOf(hash, liveOf('10'), intent);
  t.deepEqual(decideLocally(input({ lookup: known(liveOf('10')), record, hash: counted })), { action: 'none', record: undefined });
  t.is(hashed, 1, 'comparing with a record does');

  const lazy = lazyIntentHash(intent);
  t.is(lazy(), hash);
  t.is(lazy(), hash);
});
