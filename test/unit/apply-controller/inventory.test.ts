// Inventories: apply order kept, stale entries for prune, survivors kept, kinds for the drift watcher.
import test from 'ava';
import type { BundleObject } from '../../../apply-controller/bundle/object.ts';
import {
  entryOf, inventoryAfterFailure, inventoryOf, inventoryOfRecord, kindsOf, staleEntries, unionInventory,
} from '../../../apply-controller/inventory.ts';
import { ChangeSet } from '../../../apply-controller/ssa/change-set.ts';

function obj(apiVersion: string, kind: string, name: string, namespace?: string): BundleObject {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
  return {
    id: `${namespace ?? ''}_${name}_${group}_${kind}`,
    object: { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } },
    source: { file: 'x.yaml', document: 0 },
  };
}

const crd = obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'gadgets.example.com');
const cm = obj('v1', 'ConfigMap', 'cfg', 'shop');
const web = obj('apps/v1', 'Deployment', 'web', 'shop');
const gadget = obj('example.com/v2', 'Gadget', 'g', 'shop');

test('an inventory lists objects in apply order with the version they were applied with', (t) => {
  t.deepEqual(entryOf(web), { id: 'shop_web_apps_Deployment', v: 'v1' });
  t.deepEqual(entryOf(cm), { id: 'shop_cfg__ConfigMap', v: 'v1' });
  t.deepEqual(inventoryOf([crd, cm, web, cm]).map((e) => e.id),
    ['_gadgets.example.com_apiextensions.k8s.io_CustomResourceDefinition', 'shop_cfg__ConfigMap', 'shop_web_apps_Deployment']);
});

test('stale entries are those of the previous inventory the next one lacks, in the previous order', (t) => {
  const previous = inventoryOf([crd, cm, gadget, web]);
  const next = inventoryOf([cm, web]);
  t.deepEqual(staleEntries(previous, next).map((e) => e.id), [entryOf(crd).id, entryOf(gadget).id]);
  t.deepEqual(staleEntries(undefined, next), []);
  // A version change is the same object: not stale.
  t.deepEqual(staleEntries([{ id: 'shop_web_apps_Deployment', v: 'v1beta1' }], next), []);
});

test('survivors of a failed prune and objects written before a failed apply stay in the inventory', (t) => {
  const next = inventoryOf([cm]);
  t.deepEqual(unionInventory(next, [entryOf(web), entryOf(cm)]).map((e) => e.id), [entryOf(cm).id, entryOf(web).id]);
  const changes = new ChangeSet([
    { id: entryOf(gadget).id, subject: 'Gadget/shop/g', action: 'created' },
    { id: entryOf(web).id, subject: 'Deployment/shop/web', action: 'skipped' },
  ]);
  const after = inventoryAfterFailure(inventoryOf([cm]), inventoryOf([gadget, web]), changes);
  t.deepEqual(after.map((e) => e.id), [entryOf(cm).id, entryOf(gadget).id], 'the previous objects, then what the failed apply wrote');
});

test('kindsOf gives each group and kind once, as an apiVersion to watch', (t) => {
  t.deepEqual(kindsOf([...inventoryOf([crd, cm, web, gadget]), { id: 'other_x__ConfigMap', v: 'v1' }, { id: 'not-an-id', v: 'v1' }]), [
    { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' },
    { apiVersion: 'v1', kind: 'ConfigMap' },
    { apiVersion: 'apps/v1', kind: 'Deployment' },
    { apiVersion: 'example.com/v2', kind: 'Gadget' },
  ]);
});

test('the inventory of a recorded revision lists its objects in order, skipping nameless ones', (t) => {
  const phases = [
    { objects: [crd.object, cm.object] },
    { objects: [web.object, cm.object, { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} } as unknown as typeof cm.object] },
  ];
  t.deepEqual(inventoryOfRecord(phases), inventoryOf([crd, cm, web]));
});
