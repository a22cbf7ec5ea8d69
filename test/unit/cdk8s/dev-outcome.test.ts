// How `trellis dev` reads a Package's status into a verdict for a pushed digest,
// and points at the bundle file of an object the cluster refused.
import test from 'ava';
import type { Package } from '../../../apply-controller/api.ts';
import { describeDevEvent, isLoopbackHost } from '../../../cli/dev.ts';
import { fileOfMessage, outcomeOf } from '../../../packages-cdk8s/build/dev-cluster.ts';

const digest = `sha256:${'b'.repeat(64)}`;
const old = `sha256:${'a'.repeat(64)}`;
const at = '2024-01-01T00:00:00Z';

function pkg(status: Package['status']): Package {
  return { apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name: 'web', namespace: 'shop' }, spec: { sourceRef: { kind: 'OCIRepository', name: 'web' } }, status } as Package;
}
const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastTransitionTime: at });

test('a Package that has not attempted the digest yet is pending, whatever it says about an older one', (t) => {
  const p = pkg({ lastAttemptedRevision: `dev@${old}`, lastAppliedRevision: `dev@${old}`, conditions: [cond('Ready', 'True', 'Succeeded', 'Applied revision 1')] as never });
  t.is(outcomeOf(p, digest).kind, 'pending');
});

test('applied: Ready and the applied revision is the attempted one', (t) => {
  const p = pkg({ lastAttemptedRevision: `dev@${digest}`, lastAppliedRevision: `dev@${digest}`, currentRevision: 4, conditions: [cond('Ready', 'True', 'Succeeded', 'Applied revision 4')] as never });
  t.deepEqual(outcomeOf(p, digest), { kind: 'applied', revision: `dev@${digest}`, packageRevision: 4, changes: undefined });
});

test('a failure that will be retried (Reconciling=True, Ready=False) is the verdict, with its specific condition', (t) => {
  const p = pkg({
    lastAttemptedRevision: `dev@${digest}`, lastAppliedRevision: `dev@${old}`,
    conditions: [
      cond('Ready', 'False', 'ApplyFailed', 'Service/shop/web: invalid port'),
      cond('Reconciling', 'True', 'ProgressingWithRetry', 'Service/shop/web: invalid port'),
      cond('ApplyFailed', 'True', 'ApplyFailed', 'Service/shop/web: invalid port'),
    ] as never,
  });
  t.deepEqual(outcomeOf(p, digest), { kind: 'failed', condition: 'ApplyFailed', reason: 'ApplyFailed', message: 'Service/shop/web: invalid port' });
});

test('still reconciling (Ready=Unknown) is pending', (t) => {
  const p = pkg({ lastAttemptedRevision: `dev@${digest}`, conditions: [cond('Ready', 'Unknown', 'Progressing', 'applying phase apps'), cond('Reconciling', 'True', 'Progressing', 'applying phase apps')] as never });
  t.like(outcomeOf(p, digest), { kind: 'pending' });
});

test('the file of the object a message names is found; a message that names a file already is left alone', (t) => {
  const files = [
    { file: 'manifests/apps/001-deployment-web.yaml', kind: 'Deployment', name: 'web' },
    { file: 'manifests/apps/002-service-web.yaml', kind: 'Service', name: 'web' },
  ];
  t.is(fileOfMessage('Service/shop/web: Service "web" is invalid', files), 'manifests/apps/002-service-web.yaml');
  t.is(fileOfMessage('Deployment web did not become healthy', files), 'manifests/apps/001-deployment-web.yaml');
  t.is(fileOfMessage('manifests/apps/002-service-web.yaml: Service web: bad name', files), undefined);
  t.is(fileOfMessage('ConfigMap/shop/other: refused', files), undefined);
});

test('outcomes are printed with the revision and changes, or the failure with its file', (t) => {
  t.is(describeDevEvent({ type: 'outcome', outcome: { kind: 'applied', revision: `dev@${digest}`, packageRevision: 2, changes: '1 configured' } }),
    `applied dev@${digest} as revision 2: 1 configured`);
  t.is(describeDevEvent({ type: 'outcome', outcome: { kind: 'failed', condition: 'ApplyFailed', reason: 'ApplyFailed', message: 'Service/shop/web: bad', file: 'manifests/apps/002-service-web.yaml' } }),
    'FAILED (ApplyFailed: ApplyFailed): manifests/apps/002-service-web.yaml: Service/shop/web: bad');
});

test('loopback registries are plain HTTP unless told otherwise', (t) => {
  for (const host of ['127.0.0.1:5000', 'localhost:5000', 'localhost', '[::1]:5000']) t.true(isLoopbackHost(host), host);
  for (const host of ['registry.example.com', '10.0.0.1:5000', '127.0.0.1.example.com']) t.false(isLoopbackHost(host), host);
});
