// A hand-over where the leader's lease renewals hang (its apiserver connection
// goes bad, through a faulting proxy) while its controller is busy writing: the
// leader must stop writing by its renew deadline, before the other replica can
// take over, so the two never write at the same time. Orderings come from one
// clock (this process): when each write was sent, when the proxy saw the lease
// requests; nothing asserts how fast anything is.
import type { KubeConfig } from '@kubernetes/client-node';
import anyTest, { type ExecutionContext } from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { Controller, type ReconcileContext } from '../../../runtime/controller.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import { LeaseExpiredError } from '../../../runtime/leader.ts';
import { createLogger } from '../../../runtime/logging.ts';
import { Manager } from '../../../runtime/manager.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { startFaultingProxy } from '../../support/faulting-proxy.ts';
import { testNamespace, useCluster, withCluster, type TestCluster } from '../../support/cluster.ts';
import { adminClient, until } from './support.ts';

const test = withCluster(anyTest);

const LEASE_MS = 6_000;
const RENEW_DEADLINE_MS = 3_000;

interface Write {
  readonly by: string;
  /** Local time just before the request was handed to the client. */
  readonly sentAt: number;
  /** The client refused it unsent: the replica's renew deadline had passed. */
  refused?: boolean;
}

/**
 * A reconcile that keeps writing until its signal aborts, like a long apply:
 * every write is recorded before it is handed to the client, and marked if the
 * client refused to send it.
 */
function busyWriter(id: string, client: () => KubeClient, ns: string, writes: Write[]) {
  return async (key: string, ctx: ReconcileContext<KubeObject>): Promise<void> => {
    if (key !== `${ns}/trigger`) return;
    for (let n = 0; !ctx.signal?.aborted; n++) {
      const write: Write = { by: id, sentAt: Date.now() };
      writes.push(write);
      await client().patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'target' },
        { metadata: { annotations: { writer: id, n: String(n) } } }).catch((err: unknown) => {
        if (err instanceof LeaseExpiredError) write.refused = true;
      });
      await sleep(50);
    }
  };
}

/** The test's namespace, with the ConfigMap whose reconcile writes (`trigger`) and the one written (`target`). */
async function setUp(t: ExecutionContext): Promise<{ cluster: TestCluster; ns: string; admin: KubeClient }> {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const admin = adminClient(cluster);
  await admin.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'trigger', namespace: ns } });
  await admin.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'target', namespace: ns } });
  return { cluster, ns, admin };
}

/** A Manager campaigning for the test's lease, running one ConfigMap controller with `reconcile`. */
function candidate(name: string, id: string, kubeConfig: KubeConfig, ns: string,
  reconcile: (manager: Manager) => (key: string, ctx: ReconcileContext<KubeObject>) => Promise<void>): Manager {
  const logger = createLogger({ level: 'silent' });
  const manager = new Manager({
    name, kubeConfig, logger,
    leaderElection: { namespace: ns, identity: id, leaseDurationMs: LEASE_MS, renewDeadlineMs: RENEW_DEADLINE_MS, retryPeriodMs: 200 },
  });
  manager.add(new Controller<KubeObject>({
    client: manager.client, resource: { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns },
    metrics: manager.metrics, logger, reconcile: reconcile(manager),
  }));
  return manager;
}

/** Keeps the event loop busy for `ms`: no timer, no I/O callback and no other task runs meanwhile. */
function blockEventLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* busy */ }
}

// The tests run one at a time: the second holds this process's event loop, which the first one's leaders share.
test.serial('a leader whose renewals hang stops writing at its renew deadline, before the next leader starts', async (t) => {
  const { cluster, ns } = await setUp(t);
  const proxy = await startFaultingProxy(cluster.kubeConfig);
  const writes: Write[] = [];
  const managers = new Map<string, Manager>();
  for (const [id, kubeConfig] of [['old', proxy.kubeConfig], ['new', cluster.kubeConfig]] as const) {
    managers.set(id, candidate('handover-test', id, kubeConfig, ns, (manager) => busyWriter(id, () => manager.client, ns, writes)));
  }
  const old = managers.get('old') as Manager;
  const next = managers.get('new') as Manager;
  t.teardown(async () => {
    await proxy.stop();
    await Promise.all([...managers.values()].map((m) => m.stop()));
  });

  await old.start();
  await until(() => writes.some((w) => w.by === 'old'));
  await next.start();
  await sleep(500);
  t.false(writes.some((w) => w.by === 'new'), 'the standby does not write while the leader renews');

  // From now on the old leader's lease requests never come back.
  const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/trellis-handover-test`;
  const hangFrom = proxy.log.length;
  proxy.inject({ path: leasePath, times: Infinity, fault: { kind: 'hang' } });

  await old.leadershipLost;
  await until(() => writes.some((w) => w.by === 'new'), 60_000);
  const firstNew = writes.find((w) => w.by === 'new') as Write;

  // The last renewal that succeeded: its first request reached the proxy no earlier than the renewal was sent.
  const leaseRequests = proxy.log.slice(0, hangFrom).filter((e) => e.path.split('?')[0] === leasePath);
  const lastPut = leaseRequests.findLastIndex((e) => e.method === 'PUT' && e.status === 200);
  t.true(lastPut > 0, 'the old leader renewed before its requests hung');
  const renewalSeenAt = leaseRequests.slice(0, lastPut).findLast((e) => e.method === 'GET')?.at ?? 0;
  const deadline = renewalSeenAt + RENEW_DEADLINE_MS;

  // A write woken in the same turn as the deadline's timer, before it ran, is refused by the client unsent.
  const oldWrites = writes.filter((w) => w.by === 'old' && w.refused !== true);
  const late = oldWrites.filter((w) => w.sentAt > deadline);
  t.deepEqual(late.map((w) => w.sentAt - deadline), [], 'no write of the old leader was sent after its renew deadline');
  t.true(oldWrites.every((w) => w.sentAt < firstNew.sentAt), 'every write of the old leader came before the first of the new one');
  // And from the apiserver's side: no write of the old leader reached it after the new leader began.
  const oldPatches = proxy.log.filter((e) => e.method === 'PATCH' && e.at >= firstNew.sentAt);
  t.deepEqual(oldPatches.map((e) => e.path), []);
});

test.serial('a write the event loop reaches after the renew deadline is refused unsent, though the deadline\'s timer has not run yet', async (t) => {
  const { cluster, ns, admin } = await setUp(t);
  let outcome: { aborted: boolean; error: unknown } | undefined;
  const manager = candidate('late-timer-test', 'only', cluster.kubeConfig, ns, (self) => async (key, ctx) => {
    if (key !== `${ns}/trigger` || outcome) return;
    // The loop is held past the renew deadline: no renewal can be sent, and the deadline's timer cannot run.
    blockEventLoop(RENEW_DEADLINE_MS + 500);
    const aborted = ctx.signal?.aborted ?? false;
    const error = await self.client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'target' },
      { metadata: { annotations: { late: 'yes' } } }).then(() => undefined, (err: unknown) => err);
    outcome = { aborted, error };
  });
  t.teardown(() => manager.stop());
  await manager.start();
  await until(() => outcome !== undefined, 60_000);
  t.false(outcome?.aborted, 'the signal had not aborted yet: only the client stood between the work and the write');
  t.true(outcome?.error instanceof LeaseExpiredError, `refused by the client, got ${String(outcome?.error)}`);
  const target = await admin.get<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'target' });
  t.is(target?.metadata?.annotations?.late, undefined, 'the write never reached the apiserver');
  await manager.leadershipLost;
});
