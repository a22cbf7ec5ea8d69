// The JSON patch of `kubectl package adopt`, on plain objects: client-side apply's
// fields move to the controller's manager, the last-applied annotation goes, the
// Package's labels come, and nothing else in the managed fields changes.
import test from 'ava';
import { takeOverPatch, unionFields } from '../../../cli/package/takeover.ts';

const LAST = 'kubectl.kubernetes.io/last-applied-configuration';
const labels = { 'apply.trellis.dev/package': 'web', 'apply.trellis.dev/package-namespace': 'shop' };
const now = new Date('2026-12-03T12:00:00.123Z');

const csaFields = {
  'f:metadata': { 'f:annotations': { '.': {}, [`f:${LAST}`]: {}, 'f:team': {} } },
  'f:spec': { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"main"}': { '.': {}, 'f:image': {} } } } } },
};

test('client-side apply fields become the controller manager\'s Apply entry; other managers stay as they are', (t) => {
  const controllerManager = { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': {} }, subresource: 'status' };
  const live = {
    metadata: {
      resourceVersion: '42', labels: { app: 'web' }, annotations: { [LAST]: '{}', team: 'shop' },
      managedFields: [
        { manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: csaFields },
        controllerManager,
      ],
    },
  };
  const { patch, movedFrom } = takeOverPatch(live, { labels, manager: 'trellis', now });
  t.deepEqual(movedFrom, ['kubectl-client-side-apply']);
  t.deepEqual(patch.slice(0, 4), [
    { op: 'test', path: '/metadata/resourceVersion', value: '42' },
    { op: 'add', path: '/metadata/labels/apply.trellis.dev~1package', value: 'web' },
    { op: 'add', path: '/metadata/labels/apply.trellis.dev~1package-namespace', value: 'shop' },
    { op: 'remove', path: '/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration' },
  ]);
  t.deepEqual(patch[4], {
    op: 'replace', path: '/metadata/managedFields', value: [controllerManager, {
      manager: 'trellis', operation: 'Apply', apiVersion: 'apps/v1', time: '2026-12-03T12:00:00Z', fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': { 'f:annotations': { '.': {}, 'f:team': {} } }, 'f:spec': csaFields['f:spec'] },
    }],
  });
});

test('an object kubectl never applied gets labels only; one without labels gets the whole map', (t) => {
  const { patch, movedFrom } = takeOverPatch({ metadata: { resourceVersion: '7', managedFields: [{ manager: 'kubectl-create', operation: 'Update', fieldsV1: {} }] } },
    { labels, manager: 'trellis', now });
  t.deepEqual(movedFrom, []);
  t.deepEqual(patch, [
    { op: 'test', path: '/metadata/resourceVersion', value: '7' },
    { op: 'add', path: '/metadata/labels', value: labels },
  ]);
  const more = takeOverPatch({ metadata: { resourceVersion: '7', managedFields: [{ manager: 'kubectl-create', operation: 'Update', apiVersion: 'v1', fieldsV1: { 'f:data': {} } }] } },
    { labels, manager: 'trellis', now, from: ['kubectl-create'] });
  t.deepEqual(more.movedFrom, ['kubectl-create']);
});

test('fields of an earlier controller Apply entry are kept in the union', (t) => {
  t.deepEqual(unionFields({ 'f:a': {}, 'f:b': { 'f:c': {} } }, { 'f:b': { 'f:d': {} }, 'f:e': {} }), { 'f:a': {}, 'f:b': { 'f:c': {}, 'f:d': {} }, 'f:e': {} });
  const live = {
    metadata: {
      resourceVersion: '1', labels: {},
      managedFields: [
        { manager: 'trellis', operation: 'Apply', apiVersion: 'v1', fieldsV1: { 'f:data': { 'f:x': {} } } },
        { manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'v1', fieldsV1: { 'f:data': { 'f:y': {} } } },
      ],
    },
  };
  const last = takeOverPatch(live, { labels, manager: 'trellis', now }).patch.at(-1);
  t.deepEqual((last?.value as { fieldsV1: unknown }[])[0]?.fieldsV1, { 'f:data': { 'f:y': {}, 'f:x': {} } });
});
