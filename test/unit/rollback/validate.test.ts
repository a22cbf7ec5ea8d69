// A restore is held to the rules of a fresh revision: a revision that verifies
// may still hold what the Package may not write now (it became confined to its
// namespace), or kinds the cluster no longer serves.
import test from 'ava';
import type { PhaseObjects } from '../../../apply-controller/reconcile/apply.ts';
import { BundleValidationError } from '../../../apply-controller/bundle/problems.ts';
import { validateRestore } from '../../../apply-controller/rollback/validate.ts';
import type { KubeObject } from '../../../apply-controller/bundle/object.ts';
import { objectId } from '../../../apply-controller/bundle/object-id.ts';

const served = new Map([['v1/ConfigMap', true], ['rbac.authorization.k8s.io/v1/ClusterRoleBinding', false]]);
const scopes = { cached: (apiVersion: string, kind: string) => served.get(`${apiVersion}/${kind}`), lookUp: () => Promise.resolve() };

function phasesOf(...objects: KubeObject[]): PhaseObjects[] {
  return [{ name: 'default', objects: objects.map((object, document) => ({ id: objectId(object), object, source: { file: 'PackageRevision web-1', document } })) }];
}

const own = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop' } };
const elsewhere = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'kube-system' } };
const binding = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'admin' } };

test('a confined Package restores only its own namespace; an unconfined one anything served', async (t) => {
  await t.notThrowsAsync(validateRestore(phasesOf(own), { scopes, namespace: 'shop', confined: true }));
  const err = await t.throwsAsync(validateRestore(phasesOf(own, elsewhere, binding), { scopes, namespace: 'shop', confined: true }), { instanceOf: BundleValidationError });
  t.deepEqual(err.errors.map((e) => e.reason).sort(), ['ClusterScopedNotAllowed', 'NamespaceNotAllowed']);
  await t.notThrowsAsync(validateRestore(phasesOf(own, elsewhere, binding), { scopes, namespace: 'shop', confined: false }));
});

test('a kind the cluster no longer serves, an owner reference or a duplicate is refused like in a bundle', async (t) => {
  const gone = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'shop' } };
  const owned = { ...own, metadata: { ...own.metadata, name: 'owned', ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u' }] } };
  const err = await t.throwsAsync(validateRestore(phasesOf(own, own, gone, owned), { scopes, namespace: 'shop', confined: false }), { instanceOf: BundleValidationError });
  t.deepEqual(err.errors.map((e) => e.reason).sort(), ['DuplicateObject', 'OwnerReferencesSet', 'UnknownKind']);
});
