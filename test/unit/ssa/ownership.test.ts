// Collision protection decisions on plain data: who owns an object, and which
// policy lets a Package write to it.
import test from 'ava';
import { ObjectCollisionError } from '../../../apply-controller/ssa/errors.ts';
import { targetOf } from '../../../apply-controller/ssa/objects.ts';
import { packageLabels } from '../../../apply-controller/ssa/options.ts';
import { checkOwnership, ownerOf, type CollisionOptions, type CollisionPolicy } from '../../../apply-controller/ssa/ownership.ts';
import type { KubeObject } from '../../../runtime/object.ts';

const ours = packageLabels('web', 'team-a');
const target = targetOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'team-a' } });

function live(metadata: Partial<NonNullable<KubeObject['metadata']>> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'team-a', ...metadata } };
}

function opts(policy: CollisionPolicy, extra: Partial<CollisionOptions> = {}): CollisionOptions {
  return { policy, managed: new Set(), ...extra };
}

const byKubectl = live({ managedFields: [{ manager: 'kubectl-create', operation: 'Update' }] });
const byOtherPackage = live({ labels: packageLabels('db', 'team-b') });
const byController = live({ ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u', controller: true }] });

test('ownerOf: the labels name the Package; the inventory keeps an object whose labels were removed', (t) => {
  t.deepEqual(ownerOf(live({ labels: ours }), ours, false), { kind: 'self' });
  t.deepEqual(ownerOf(byOtherPackage, ours, true), { kind: 'package', namespace: 'team-b', name: 'db' }, 'another Package wins over our inventory');
  t.deepEqual(ownerOf(byKubectl, ours, true), { kind: 'self' });
  t.deepEqual(ownerOf(byKubectl, ours, false), { kind: 'none', managers: ['kubectl-create'] });
  t.deepEqual(ownerOf(byController, ours, false), { kind: 'controller', owner: 'ReplicaSet/rs' });
  // Same Package name in another namespace is another Package.
  t.deepEqual(ownerOf(live({ labels: packageLabels('web', 'team-b') }), ours, false), { kind: 'package', namespace: 'team-b', name: 'web' });
});

test('Prevent refuses every foreign object and names its owner', async (t) => {
  const kubectl = await t.throwsAsync(checkOwnership(target, byKubectl, ours, opts('Prevent')), { instanceOf: ObjectCollisionError });
  t.regex(kubectl.message, /ConfigMap\/team-a\/cfg: exists and is not managed by this Package \(fields managed by kubectl-create\)/);
  const pkg = await t.throwsAsync(checkOwnership(target, byOtherPackage, ours, opts('Prevent')), { instanceOf: ObjectCollisionError });
  t.regex(pkg.message, /belongs to Package team-b\/db/);
  await t.throwsAsync(checkOwnership(target, byController, ours, opts('Prevent')), { instanceOf: ObjectCollisionError });
  await t.notThrowsAsync(checkOwnership(target, undefined, ours, opts('Prevent')), 'a missing object is created');
  await t.notThrowsAsync(checkOwnership(target, live({ labels: ours }), ours, opts('Prevent')));
  await t.notThrowsAsync(checkOwnership(target, byKubectl, ours, opts('Prevent', { managed: new Set([target.id]) })), 'our own object that lost its labels');
});

test('Prevent adopts a Namespace nobody claims, not one another Package owns', async (t) => {
  const nsTarget = targetOf({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
  const made = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', managedFields: [{ manager: 'kubectl-create' }] } };
  await t.notThrowsAsync(checkOwnership(nsTarget, made, ours, opts('Prevent')));
  const owned = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: packageLabels('db', 'team-b') } };
  await t.throwsAsync(checkOwnership(nsTarget, owned, ours, opts('Prevent')), { instanceOf: ObjectCollisionError });
});

test('IfNoOwner adopts only what nobody claims', async (t) => {
  await t.notThrowsAsync(checkOwnership(target, byKubectl, ours, opts('IfNoOwner')));
  const controlled = await t.throwsAsync(checkOwnership(target, byController, ours, opts('IfNoOwner')), { instanceOf: ObjectCollisionError });
  t.regex(controlled.message, /controlled by ReplicaSet\/rs/);
  await t.throwsAsync(checkOwnership(target, byOtherPackage, ours, opts('IfNoOwner')), { instanceOf: ObjectCollisionError });
});

test('None adopts anything but the object of a Package that still exists', async (t) => {
  await t.notThrowsAsync(checkOwnership(target, byKubectl, ours, opts('None')));
  await t.notThrowsAsync(checkOwnership(target, byController, ours, opts('None')));
  const asked: string[] = [];
  const exists = (alive: boolean) => (namespace: string, name: string): Promise<boolean> => {
    asked.push(`${namespace}/${name}`);
    return Promise.resolve(alive);
  };
  await t.throwsAsync(checkOwnership(target, byOtherPackage, ours, opts('None', { packageExists: exists(true) })), { instanceOf: ObjectCollisionError });
  await t.notThrowsAsync(checkOwnership(target, byOtherPackage, ours, opts('None', { packageExists: exists(false) })));
  t.deepEqual(asked, ['team-b/db', 'team-b/db']);
  await t.throwsAsync(checkOwnership(target, byOtherPackage, ours, opts('None')), { instanceOf: ObjectCollisionError },
    'without a way to ask, another Package counts as alive');
});

test('no labels (a plain library call) or no options: no check', async (t) => {
  await t.notThrowsAsync(checkOwnership(target, byKubectl, {}, opts('Prevent')));
  await t.notThrowsAsync(checkOwnership(target, byKubectl, ours, undefined));
});
