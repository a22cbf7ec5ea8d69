// Which events of managed objects reconcile which Package.
import test from 'ava';
import type { KubeObject } from '../../../runtime/object.ts';
import { keysOfUpdate, mayBeDrift, packageKeyOf } from '../../../apply-controller/drift/watch.ts';

const labels = { 'apply.trellis.dev/package': 'web', 'apply.trellis.dev/package-namespace': 'shop' };
const cm: KubeObject & { data?: Record<string, string> } = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'apps', labels, resourceVersion: '1' }, data: { a: '1' } };

test('the package labels name the Package key, wherever the object lives', (t) => {
  t.is(packageKeyOf(cm), 'shop/web');
  t.is(packageKeyOf({ metadata: { labels: { 'apply.trellis.dev/package': 'web' } } }), undefined);
  t.is(packageKeyOf({ metadata: {} }), undefined);
});

test('status, resourceVersion and managedFields changes are not drift; everything else is', (t) => {
  const statusOnly = { ...cm, metadata: { ...cm.metadata, resourceVersion: '2', managedFields: [{ manager: 'x' }] }, status: { ready: true } };
  t.false(mayBeDrift(cm, statusOnly));
  t.true(mayBeDrift(cm, { ...cm, data: { a: '2' } } as KubeObject));
  t.true(mayBeDrift(cm, { ...cm, metadata: { ...cm.metadata, annotations: { edited: 'by hand' } } }));
  t.true(mayBeDrift(cm, { ...cm, metadata: { ...cm.metadata, labels: {} } }), 'losing the labels is a change');
});

test('an update that moves the labels concerns both Packages', (t) => {
  const moved = { ...cm, metadata: { ...cm.metadata, labels: { 'apply.trellis.dev/package': 'api', 'apply.trellis.dev/package-namespace': 'shop' } } };
  t.deepEqual(keysOfUpdate(cm, moved), ['shop/api', 'shop/web']);
  t.deepEqual(keysOfUpdate(cm, { ...cm, data: {} } as KubeObject), ['shop/web']);
});
