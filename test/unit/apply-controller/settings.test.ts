// A Package's spec as a reconcile reads it: durations, tenancy, drift, and label selectors.
import test from 'ava';
import type { Package } from '../../../apply-controller/api.ts';
import { PackageFailure } from '../../../apply-controller/reconcile/failure.ts';
import { matchesLabelSelector, settingsOf } from '../../../apply-controller/reconcile/settings.ts';
import { parseDuration } from '../../../runtime/duration.ts';

function pkg(spec: Partial<Package['spec']>, name = 'web'): Package {
  return {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name, namespace: 'shop' },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'src' }, interval: '10m', timeout: '5m', prune: true, wait: true, drift: { mode: 'correct' },
      rollback: { onFailure: false }, historyLimit: 10, force: false, suspend: false, ...spec },
  };
}

test('Go durations become milliseconds', (t) => {
  t.is(parseDuration('90s'), 90_000);
  t.is(parseDuration('1h30m'), 5_400_000);
  t.is(parseDuration('1.5h'), 5_400_000);
  t.is(parseDuration('250ms'), 250);
  t.throws(() => parseDuration('5'));
  t.throws(() => parseDuration('5m garbage'));
  t.throws(() => parseDuration(''));
});

test('settings: defaults, retryInterval falling back to interval, drift rules', (t) => {
  const s = settingsOf(pkg({ interval: '1m', drift: { mode: 'warn', ignore: [{ paths: ['/spec/replicas'], target: { kind: 'Deployment' } }] } }));
  t.is(s.intervalMs, 60_000);
  t.is(s.retryIntervalMs, 60_000);
  t.is(s.timeoutMs, 300_000);
  t.is(s.driftMode, 'warn');
  t.deepEqual(s.ignore, [{ paths: ['/spec/replicas'], target: { kind: 'Deployment' } }]);
  t.is(settingsOf(pkg({ retryInterval: '5s' })).retryIntervalMs, 5_000);
});

test('without an account a Package is confined to its namespace unless cross-namespace references are allowed', (t) => {
  t.true(settingsOf(pkg({})).confinedToNamespace, 'the lockdown is the default');
  t.false(settingsOf(pkg({}), { allowCrossNamespaceRefs: true }).confinedToNamespace);
  t.is(settingsOf(pkg({})).serviceAccount, undefined);
});

test('a service account, given or forced by the controller, is what the Package applies as; its RBAC decides its reach', (t) => {
  t.is(settingsOf(pkg({ serviceAccountName: 'deployer' })).serviceAccount, 'deployer');
  t.false(settingsOf(pkg({ serviceAccountName: 'deployer' })).confinedToNamespace);
  const forced = settingsOf(pkg({}), { defaultServiceAccount: 'tenant' });
  t.is(forced.serviceAccount, 'tenant');
  t.false(forced.confinedToNamespace);
  t.is(settingsOf(pkg({ serviceAccountName: 'own' }), { defaultServiceAccount: 'tenant' }).serviceAccount, 'own');
});

test('unusable specs stall with InvalidSpec', (t) => {
  const zero = t.throws(() => settingsOf(pkg({ timeout: '0s' })), { instanceOf: PackageFailure });
  t.is(zero.reason, 'InvalidSpec');
  t.is(zero.retry, 'stall');
  t.regex(zero.message, /spec\.timeout/);
  t.throws(() => settingsOf(pkg({ drift: { mode: 'correct', ignore: [{ paths: ['spec/replicas'] }] } })), { instanceOf: PackageFailure, message: /drift\.ignore\[0\]/ });
  t.throws(() => settingsOf(pkg({}, 'x'.repeat(64))), { instanceOf: PackageFailure, message: /at most 63/ });
});

test('timeout, interval and retryInterval are bounded', (t) => {
  t.is(settingsOf(pkg({ timeout: '1h', interval: '24h', retryInterval: '24h' })).timeoutMs, 3_600_000);
  for (const spec of [{ timeout: '1h1s' }, { timeout: '576h' }, { interval: '25h' }, { retryInterval: '24h0m1s' }]) {
    const failure = t.throws(() => settingsOf(pkg(spec)), { instanceOf: PackageFailure }, JSON.stringify(spec));
    t.is(failure.reason, 'InvalidSpec');
    t.is(failure.retry, 'stall');
    t.regex(failure.message, /must be a duration between 1ms and (1h|24h)/);
  }
});

test('equality-based label selectors', (t) => {
  const labels = { team: 'a', tier: 'web' };
  t.true(matchesLabelSelector(undefined, labels));
  t.true(matchesLabelSelector('', undefined));
  t.true(matchesLabelSelector('team=a', labels));
  t.true(matchesLabelSelector('team==a,tier', labels));
  t.false(matchesLabelSelector('team=b', labels));
  t.true(matchesLabelSelector('team!=b', labels));
  t.false(matchesLabelSelector('!tier', labels));
  t.true(matchesLabelSelector('!other', labels));
  t.false(matchesLabelSelector('team=a', undefined));
});
