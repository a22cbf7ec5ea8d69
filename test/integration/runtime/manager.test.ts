// Two controller processes' worth of plumbing in one test: with leader
// election only the leader's controller reconciles; when it stops, it finishes
// its work, hands over the lease, and the other replica reconciles instead.
import anyTest from 'ava';
import { Controller } from '../../../runtime/controller.ts';
import { createLogger } from '../../../runtime/logging.ts';
import { Manager } from '../../../runtime/manager.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { adminClient, until } from './support.ts';

const test = withCluster(anyTest);

test('two replicas: only the leader reconciles; after it stops, the other takes over', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const reconciledBy: Record<string, string[]> = { a: [], b: [] };
  const managers = ['a', 'b'].map((id) => {
    const manager = new Manager({
      name: 'test-controller', kubeConfig: cluster.kubeConfig, listen: '127.0.0.1:0',
      logger: createLogger({ level: 'silent' }),
      leaderElection: { namespace: ns, identity: id, leaseDurationMs: 10_000, renewDeadlineMs: 5_000, retryPeriodMs: 100 },
    });
    manager.add(new Controller({
      client: manager.client, resource: { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns },
      metrics: manager.metrics, logger: manager.logger,
      reconcile: (key) => { reconciledBy[id]?.push(key); return Promise.resolve(); },
    }));
    return { id, manager };
  });
  t.teardown(() => Promise.all(managers.map((m) => m.manager.stop())));
  for (const { manager } of managers) await manager.start();

  const client = adminClient(cluster);
  await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'one', namespace: ns } });
  await until(() => [...reconciledBy.a ?? [], ...reconciledBy.b ?? []].includes(`${ns}/one`));
  const leader = managers.find((m) => reconciledBy[m.id]?.includes(`${ns}/one`));
  const standby = managers.find((m) => m !== leader);
  if (!leader || !standby) return t.fail('no leader');
  t.deepEqual(reconciledBy[standby.id], [], 'the standby replica reconciled nothing');
  t.true(leader.manager.ready);
  const readyz = await fetch(`${standby.manager.http?.url}/readyz`);
  t.is(readyz.status, 200, 'a standby replica is ready (healthy and waiting)');
  const metrics = await (await fetch(`${leader.manager.http?.url}/metrics`)).text();
  t.regex(metrics, /trellis_reconcile_total\{kind="ConfigMap",result="success"\} [1-9]/);

  await leader.manager.stop();
  await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'two', namespace: ns } });
  await until(() => reconciledBy[standby.id]?.includes(`${ns}/two`) ?? false);
  t.false(reconciledBy[leader.id]?.includes(`${ns}/two`), 'the stopped replica did not reconcile the new object');
  t.true(standby.manager.ready);
});
