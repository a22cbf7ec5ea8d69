// Secret values never appear in a diff.
import test from 'ava';
import { MASK, maskSecretChanges, type DesiredObject, type FieldChange } from '../../../apply-controller/ssa/index.ts';

const secret: DesiredObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ns' } };
const configMap: DesiredObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } };

test('values under data and stringData are masked at any depth of the change', (t) => {
  const changes: FieldChange[] = [
    { path: '/data/password', op: 'replace', from: 'b2xk', to: 'bmV3' },
    { path: '/stringData', op: 'add', to: { token: 'plain', other: 'x' } },
    { path: '', op: 'replace', from: {}, to: { data: { k: 'v' }, type: 'Opaque' } },
    { path: '/data/gone', op: 'remove', from: 'c2VjcmV0' },
    { path: '/type', op: 'replace', from: 'Opaque', to: 'kubernetes.io/tls' },
    { path: '/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration', op: 'add', to: '{"data":{"k":"v"}}' },
  ];
  t.deepEqual(maskSecretChanges(secret, changes), [
    { path: '/data/password', op: 'replace', from: MASK, to: MASK },
    { path: '/stringData', op: 'add', to: { token: MASK, other: MASK } },
    { path: '', op: 'replace', from: {}, to: { data: { k: MASK }, type: 'Opaque' } },
    { path: '/data/gone', op: 'remove', from: MASK },
    { path: '/type', op: 'replace', from: 'Opaque', to: 'kubernetes.io/tls' },
    { path: '/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration', op: 'add', to: MASK },
  ]);
});

test('other kinds keep their values', (t) => {
  const changes: FieldChange[] = [{ path: '/data/password', op: 'replace', from: 'a', to: 'b' }];
  t.deepEqual(maskSecretChanges(configMap, changes), changes);
});
