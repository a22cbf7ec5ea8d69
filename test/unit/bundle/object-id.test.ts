// Inventory ids: `<ns>_<name>_<group>_<kind>` and back.
import test from 'ava';
import { InvalidObjectIdError, objectId, parseObjectId } from '../../../apply-controller/bundle/object-id.ts';

test('objectId: namespace, name, group and kind; empty namespace for cluster-scoped, empty group for core', (t) => {
  t.is(objectId({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' } }), 'shop_web_apps_Deployment');
  t.is(objectId({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }), '_shop__Namespace');
  t.is(objectId({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop' } }), 'shop_cfg__ConfigMap');
  t.is(objectId({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' } }),
    '_widgets.example.com_apiextensions.k8s.io_CustomResourceDefinition');
  t.is(objectId({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' } }),
    objectId({ apiVersion: 'apps/v1beta2', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' } }), 'the version is not part of the id');
});

test('parseObjectId inverts objectId, even for RBAC names containing "_" and ":"', (t) => {
  for (const obj of [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'system:my_role_x' } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'a_b', namespace: 'ns' } },
  ]) {
    const id = objectId(obj);
    const parts = parseObjectId(id);
    t.deepEqual(parts, {
      namespace: obj.metadata.namespace ?? '',
      name: obj.metadata.name,
      group: obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '',
      kind: obj.kind,
    }, id);
  }
});

test('parseObjectId refuses strings that are not ids', (t) => {
  for (const bad of ['', 'web', 'a_b', 'a_b_c', 'ns__apps_Deployment', 'ns_web_apps_']) {
    t.throws(() => parseObjectId(bad), { instanceOf: InvalidObjectIdError }, bad);
  }
});
