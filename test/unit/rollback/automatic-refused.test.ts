// An automatic rollback re-applies the last Available revision only once it
// verifies: a changed record is refused before any request, and the failure
// says so (RevisionTampered) instead of the original failure alone.
import { gzipSync } from 'node:zlib';
import test from 'ava';
import { PackageFailure } from '../../../apply-controller/reconcile/failure.ts';
import { rollBack } from '../../../apply-controller/rollback/automatic.ts';
import type { KubeObject } from '../../../apply-controller/bundle/object.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import { signedRevision, testKeys } from '../revisions/support.ts';

const cm = (v: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop' }, data: { v } });
// Any request at all fails the test: a refused restore sends none.
const untouchable = new Proxy({}, { get: () => () => { throw new Error('a request was sent'); } }) as KubeClient;
const scopes = { cached: () => true, lookUp: () => Promise.reject(new Error('discovery was asked')) };

test('a rollback to a tampered revision applies nothing and stalls with RevisionTampered, naming both revisions', async (t) => {
  const failed = signedRevision({ revision: 2, phases: [{ name: 'default', objects: [cm('2')] }] });
  const good = signedRevision({ revision: 1, phases: [{ name: 'default', objects: [cm('1')] }], phase: 'Available' });
  const first = good.spec.phases[0];
  if (first) first.objects = gzipSync(JSON.stringify([cm('forged')])).toString('base64');
  const health = new PackageFailure('HealthCheckFailed', 'HealthCheckFailed', 'Deployment/shop/web not ready', 'retry');
  const out = await rollBack(untouchable, failed, health, good, {
    managed: [], labels: {}, settings: { ignore: [], force: false, wait: true, timeoutMs: 1_000, prune: true },
    verify: { keys: testKeys(), packageUid: 'uid-1', scopes, namespace: 'shop', confined: true },
  });
  t.true(out.restore.refused);
  t.is(out.restore.applied.entries.length, 0);
  t.is(out.failure.reason, 'RevisionTampered');
  t.is(out.failure.retry, 'stall');
  t.regex(out.failure.message, /Deployment\/shop\/web not ready; rolling back to revision 1 .* was refused: refused to restore revision 1 .*signature does not match/);
});
