// Leader election on a real Lease with two candidates in one process: exactly
// one leads; a leader that stops gracefully hands over at once; a leader that
// vanishes without releasing is replaced once its lease expires.
import anyTest from 'ava';
import type { KubeClient } from '../../../runtime/kube.ts';
import { LeaderElector } from '../../../runtime/leader.ts';
import { createLogger } from '../../../runtime/logging.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { adminClient, until } from './support.ts';

const test = withCluster(anyTest);

interface Candidate {
  readonly id: string;
  readonly elector: LeaderElector;
  leading: boolean;
  terms: number;
}

/** Two candidates for one lease; records any moment at which both lead. */
function candidates(client: KubeClient, namespace: string, leaseDurationMs: number) {
  const overlaps: string[] = [];
  const all: Candidate[] = [];
  for (const id of ['alpha', 'beta']) {
    const c: Candidate = {
      id, leading: false, terms: 0,
      elector: new LeaderElector({
        client, namespace, name: 'test-controller', identity: id,
        leaseDurationMs, renewDeadlineMs: leaseDurationMs / 2, retryPeriodMs: 100,
        logger: createLogger({ level: 'silent' }),
        onStartedLeading: () => {
          if (all.some((o) => o !== c && o.leading)) overlaps.push(`${id} started while another led`);
          c.leading = true;
          c.terms += 1;
        },
        onStoppedLeading: () => { c.leading = false; },
      }),
    };
    all.push(c);
  }
  return { all, overlaps };
}

test('two candidates: exactly one leads; after the leader stops, the other takes over without waiting for expiry', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  const leaseDurationMs = 10_000;
  const { all, overlaps } = candidates(client, ns, leaseDurationMs);
  t.teardown(() => Promise.all(all.map((c) => c.elector.stop())));
  for (const c of all) c.elector.start();
  await until(() => all.some((c) => c.leading));
  // Several renew periods with both campaigning: still exactly one leader.
  await new Promise((r) => setTimeout(r, 1_000));
  t.is(all.filter((c) => c.leading).length, 1);
  t.is(all.filter((c) => c.elector.isLeader).length, 1);
  const leader = all.find((c) => c.leading) as Candidate;
  const follower = all.find((c) => c !== leader) as Candidate;

  const lease = await client.get<KubeObject & { spec?: { holderIdentity?: string } }>(
    { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: ns, name: 'test-controller' });
  t.is(lease?.spec?.holderIdentity, leader.id, 'the Lease names the leader');

  const stoppedAt = Date.now();
  await leader.elector.stop();
  t.false(leader.leading, 'onStoppedLeading ran before stop() resolved');
  await until(() => follower.leading, 30_000);
  const takeoverMs = Date.now() - stoppedAt;
  t.log(`takeover after a graceful stop: ${takeoverMs} ms (lease duration ${leaseDurationMs} ms)`);
  // Without the release the follower would have to wait out the whole lease.
  t.true(takeoverMs < leaseDurationMs, `took over in ${takeoverMs} ms, before the lease could expire`);
  t.deepEqual(overlaps, []);
});

test('a leader that vanishes without releasing is replaced after the lease expires', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  const { all, overlaps } = candidates(client, ns, 2_000);
  const [alpha, beta] = all as [Candidate, Candidate];
  t.teardown(() => Promise.all(all.map((c) => c.elector.stop())));
  alpha.elector.start();
  await until(() => alpha.leading);
  beta.elector.start();
  await new Promise((r) => setTimeout(r, 500));
  t.false(beta.leading, 'the lease is held and renewed: the second candidate waits');

  // A crash: alpha stops renewing and never releases, so the Lease still names it.
  const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: ns, name: 'test-controller' };
  const stoppedAt = Date.now();
  await alpha.elector.stop({ release: false });
  const held = await client.get<KubeObject & { spec?: { holderIdentity?: string } }>(ref);
  t.is(held?.spec?.holderIdentity, 'alpha', 'not released');
  await until(() => beta.leading, 30_000);
  const takeoverMs = Date.now() - stoppedAt;
  t.log(`takeover after a crash: ${takeoverMs} ms (lease duration 2000 ms)`);
  // beta saw alpha's last renewal at most one retry period (100 ms) before the
  // crash, and must then see the lease unchanged for a whole lease duration.
  t.true(takeoverMs >= 2_000 - 200, `beta waited for the lease to expire (${takeoverMs} ms)`);
  const after = await client.get<KubeObject & { spec?: { holderIdentity?: string; leaseTransitions?: number } }>(ref);
  t.is(after?.spec?.holderIdentity, 'beta');
  t.is(after?.spec?.leaseTransitions, 1);
  t.deepEqual(overlaps, []);
});
