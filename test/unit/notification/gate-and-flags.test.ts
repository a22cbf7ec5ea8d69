// The work gate that bounds reconcile requests per Receiver, the Receiver spec
// checks the CRD cannot express, and the source controller's notification flags.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseSourceControllerFlags } from '../../../source-controller/main.ts';
import type { Receiver, ReceiverSpec } from '../../../source-controller/notification/api.ts';
import { receiverSpecProblems } from '../../../source-controller/notification/receiver/controller.ts';
import { WorkGate, type Scope } from '../../../source-controller/notification/receiver/gate.ts';
import { RequestLimiter } from '../../../source-controller/notification/receiver/limiter.ts';

test('a burst of requests costs one round now and one merged round after it', async (t) => {
  const rounds: Scope[] = [];
  let release: () => void = () => undefined;
  const gate = new WorkGate<number>(50, async (_key, scope) => {
    rounds.push(scope);
    if (rounds.length === 1) await new Promise<void>((r) => { release = r; });
    return rounds.length;
  }, () => undefined);
  t.teardown(() => gate.close());
  const first = gate.submit('ns/r', new Set(['team/a']));
  const later = await Promise.all([gate.submit('ns/r', new Set(['team/b'])), gate.submit('ns/r', new Set(['team/c'])), gate.submit('ns/r', new Set(['team/b']))]);
  t.true(later.every((s) => !s.now), 'while a round runs, requests are queued');
  release();
  t.deepEqual(await first, { now: true, result: 1 });
  for (let i = 0; i < 100 && rounds.length < 2; i++) await sleep(20);
  t.is(rounds.length, 2, 'the queued requests made one round');
  t.deepEqual([...(rounds[1] as Set<string>)].sort(), ['team/b', 'team/c'], 'with the union of their repositories');
  const other = await gate.submit('ns/other', 'all');
  t.true(other.now, 'Receivers do not wait for each other');
});

test('"all" wins when merged with repositories', async (t) => {
  const rounds: Scope[] = [];
  const gate = new WorkGate<void>(30, (_key, scope) => { rounds.push(scope); return Promise.resolve(); }, () => undefined);
  t.teardown(() => gate.close());
  await gate.submit('k', 'all');
  await gate.submit('k', new Set(['x']));
  await gate.submit('k', 'all');
  for (let i = 0; i < 100 && rounds.length < 2; i++) await sleep(20);
  t.deepEqual(rounds, ['all', 'all']);
});

const receiver = (spec: Partial<ReceiverSpec>): Receiver => ({
  apiVersion: 'notification.trellis.dev/v1alpha1', kind: 'Receiver', metadata: { name: 'r', namespace: 'n' },
  spec: { type: 'github', resources: [{ kind: 'GitRepository', name: 'a' }], secretRef: { name: 's' }, interval: '10m', suspend: false, ...spec },
});

test('Receiver specs: exactly one of name and matchLabels, OCIRepositories for registry, a bounded interval', (t) => {
  t.deepEqual(receiverSpecProblems(receiver({})), []);
  t.regex(receiverSpecProblems(receiver({ resources: [{ kind: 'GitRepository' }] })).join(), /exactly one of name and matchLabels/);
  t.regex(receiverSpecProblems(receiver({ resources: [{ kind: 'GitRepository', name: 'a', matchLabels: { x: 'y' } }] })).join(), /exactly one/);
  t.regex(receiverSpecProblems(receiver({ resources: [{ kind: 'GitRepository', matchLabels: {} }] })).join(), /exactly one/);
  t.regex(receiverSpecProblems(receiver({ type: 'registry' })).join(), /OCIRepositories only/);
  t.regex(receiverSpecProblems(receiver({ interval: '48h' })).join(), /at most 24h/);
});

test('notification flags: receivers off and alerts on by default; every flag is read', (t) => {
  t.like(parseSourceControllerFlags([], {}), { receiverAddr: '', receiverMaxBodySize: 1024 * 1024, alerts: true, alertRetryAttempts: 5, alertRetryBaseDelayMs: 2000 });
  t.like(parseSourceControllerFlags(['--receiver-addr', ':9292', '--receiver-max-body-size', '4096', '--no-alerts', '--alert-retry-attempts', '2',
    '--alert-retry-base-delay', '500ms'], {}), { receiverAddr: ':9292', receiverMaxBodySize: 4096, alerts: false, alertRetryAttempts: 2, alertRetryBaseDelayMs: 500 });
  for (const args of [['--alert-retry-base-delay', 'soon'], ['--alert-retry-attempts', '0'], ['--receiver-max-body-size', '-1']]) {
    t.throws(() => parseSourceControllerFlags(args, {}, () => undefined), undefined, args.join(' '));
  }
});

test('the request limiter refuses beyond the burst without going into debt', (t) => {
  let now = 0;
  const limiter = new RequestLimiter(10, 20, () => now);
  for (let i = 0; i < 20; i++) t.is(limiter.tryTake(), 0);
  for (let i = 0; i < 1000; i++) t.true(limiter.tryTake() > 0, 'a flood is refused');
  now += 100;
  t.is(limiter.tryTake(), 0, 'one tenth of a second later one request passes: the flood left no debt');
  t.true(limiter.tryTake() > 0);
});
