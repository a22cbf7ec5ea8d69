// Which updates wake a reconciler, on plain objects.
import test from 'ava';
import { ownerKeys } from '../../../runtime/controller.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { contentChanged, REQUESTED_AT_ANNOTATION, specOrRequestChanged } from '../../../runtime/predicates.ts';

interface ConfigMapLike extends KubeObject {
  data: Record<string, string>;
}

const base = {
  apiVersion: 'source.trellis.dev/v1alpha1', kind: 'GitRepository',
  metadata: { name: 'r', namespace: 'ns', generation: 1, resourceVersion: '10', annotations: {} as Record<string, string> },
  spec: { url: 'https://x' }, status: { observedGeneration: 1 },
};

function variant(change: (o: typeof base) => void): typeof base {
  const copy = structuredClone(base);
  change(copy);
  return copy;
}

test('a status-only update does not wake the reconciler', (t) => {
  const next = variant((o) => { o.metadata.resourceVersion = '11'; o.status.observedGeneration = 2; });
  t.false(specOrRequestChanged(base, next));
});

test('a label or unrelated annotation change on a kind with generation does not wake it', (t) => {
  const next = variant((o) => { o.metadata.annotations.note = 'hi'; o.metadata.resourceVersion = '11'; });
  t.false(specOrRequestChanged(base, next));
});

test('a generation change wakes it', (t) => {
  t.true(specOrRequestChanged(base, variant((o) => { o.metadata.generation = 2; })));
});

test('a new reconcile.trellis.dev/requestedAt value wakes it', (t) => {
  const requested = variant((o) => { o.metadata.annotations[REQUESTED_AT_ANNOTATION] = '2026-01-01T00:00:00Z'; });
  t.true(specOrRequestChanged(base, requested));
  t.false(specOrRequestChanged(requested, structuredClone(requested)), 'the same value again does not');
});

test('deletion and a removed finalizer wake it; an added finalizer (the reconciler\'s own, mid-reconcile) does not', (t) => {
  t.true(specOrRequestChanged(base, variant((o) => Object.assign(o.metadata, { deletionTimestamp: '2026-01-01T00:00:00Z' }))));
  const finalized = variant((o) => Object.assign(o.metadata, { finalizers: ['trellis.dev/cleanup'] }));
  t.false(specOrRequestChanged(base, finalized));
  t.false(specOrRequestChanged(finalized, variant((o) => Object.assign(o.metadata, { finalizers: ['trellis.dev/cleanup', 'other/x'] }))));
  t.true(specOrRequestChanged(finalized, base), 'someone removed it');
  t.true(specOrRequestChanged(finalized, variant((o) => Object.assign(o.metadata, { finalizers: ['other/x'] }))));
});

test('kinds without generation (ConfigMaps) wake on content changes only', (t) => {
  const cm: ConfigMapLike = {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns', resourceVersion: '1', managedFields: [{ a: 1 }] },
    data: { a: '1' },
  };
  const touched = { ...cm, metadata: { ...cm.metadata, resourceVersion: '2', managedFields: [{ a: 2 }] } };
  t.false(specOrRequestChanged(cm, touched), 'resourceVersion/managedFields alone');
  const edited: ConfigMapLike = { ...touched, data: { a: '2' } };
  t.true(specOrRequestChanged(cm, edited));
  t.true(contentChanged(cm, { ...cm, metadata: { ...cm.metadata, labels: { x: 'y' } } }));
});

test('ownerKeys maps an object to the owners of one group and kind', (t) => {
  const obj: KubeObject = {
    metadata: {
      name: 'child', namespace: 'ns', ownerReferences: [
        { apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', name: 'web', uid: '1' },
        { apiVersion: 'other.example.com/v1', kind: 'Package', name: 'not-ours', uid: '2' },
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: '3' },
      ],
    },
  };
  t.deepEqual(ownerKeys('apply.trellis.dev/v1alpha1', 'Package')(obj), ['ns/web']);
  t.deepEqual(ownerKeys('apply.trellis.dev/v1alpha1', 'Package')({ metadata: { name: 'x' } }), []);
});
