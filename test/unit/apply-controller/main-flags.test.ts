// The apply-controller's flags.
import test from 'ava';
import { parseApplyControllerFlags } from '../../../apply-controller/main.ts';

test('defaults', (t) => {
  const flags = parseApplyControllerFlags([], {});
  t.is(flags.concurrent, 8);
  t.is(flags.kubeApiQps, undefined, 'unset: follow API Priority and Fairness');
  t.is(flags.kubeApiBurst, undefined);
  t.is(flags.metricsAddr, ':8080');
  t.is(flags.healthAddr, ':8081');
  t.false(flags.leaderElect);
  t.false(flags.allowCrossNamespaceRefs, 'cross-namespace references are refused unless allowed');
  t.is(flags.defaultServiceAccount, undefined);
  t.is(flags.leaderElectionNamespace, 'trellis-system');
  t.is(flags.dependencyRequeueMs, 10_000);
  t.is(flags.driftVerifyIntervalMs, 3_600_000, 'every object is checked by a dry run once an hour');
  t.is(flags.logLevel, 'info');
  t.is(parseApplyControllerFlags(['--kube-api-qps', '0'], {}).kubeApiQps, 0, '0 turns the client-side limit off');
});

test('every flag', (t) => {
  const flags = parseApplyControllerFlags([
    '--kubeconfig', '/k', '--concurrent', '12', '--kube-api-qps', '20', '--kube-api-burst', '40', '--metrics-addr', '127.0.0.1:0',
    '--health-addr', '', '--leader-elect', '--default-service-account', 'tenant', '--allow-cross-namespace-refs',
    '--artifact-cache-dir', '/tmp/x', '--watch-label-selector', 'team=a', '--watch-namespace', 'apps',
    '--dependency-requeue-interval', '30s', '--drift-verify-interval', '15m', '--log-level', 'debug',
  ], { POD_NAMESPACE: 'trellis' });
  t.like(flags, {
    kubeconfig: '/k', concurrent: 12, kubeApiQps: 20, kubeApiBurst: 40, metricsAddr: '127.0.0.1:0', healthAddr: '', leaderElect: true,
    defaultServiceAccount: 'tenant', allowCrossNamespaceRefs: true, artifactCacheDir: '/tmp/x', watchLabelSelector: 'team=a',
    watchNamespace: 'apps', dependencyRequeueMs: 30_000, driftVerifyIntervalMs: 900_000, logLevel: 'debug', leaderElectionNamespace: 'trellis',
  });
  t.is(parseApplyControllerFlags(['--drift-verify-interval', '0'], {}).driftVerifyIntervalMs, 0, '0 turns the verification off');
});

test('the old --no-cross-namespace-refs is still accepted and keeps the lockdown', (t) => {
  t.false(parseApplyControllerFlags(['--no-cross-namespace-refs'], {}).allowCrossNamespaceRefs);
  t.false(parseApplyControllerFlags(['--allow-cross-namespace-refs', '--no-cross-namespace-refs'], {}).allowCrossNamespaceRefs);
});

test('bad values are refused', (t) => {
  for (const argv of [['--concurrent', '0'], ['--kube-api-qps', '-1'], ['--kube-api-burst', '0'], ['--default-service-account', 'Not_Valid'], ['--dependency-requeue-interval', 'soon'], ['--drift-verify-interval', '-1m'], ['--drift-verify-interval', 'never'], ['--log-level', 'loud'], ['--unknown']]) {
    t.throws(() => parseApplyControllerFlags(argv, {}), undefined, argv.join(' '));
  }
});
