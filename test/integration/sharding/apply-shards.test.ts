// Sharding the apply controller: two processes with leader election on, one for
// `sharding.trellis.dev/key=shard1` and one for the rest (`!sharding.trellis.dev/key`),
// each lead their own Lease at the same time and each reconcile only their Packages;
// a Package labelled for a third shard nobody runs is left alone.
//
// Each shard reconciles one Package at a time (`--concurrent 1`) from a FIFO queue,
// and the Package it must not touch always comes first (created first, and first by
// name), so by the time its own Package has a status, a shard that ignored its
// selector would already have written the other one's.
import anyTest from 'ava';
import { KubeClient } from '../../../runtime/kube.ts';
import { shardLeaseName } from '../../../runtime/leader.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, scratchDir, testNamespace, useCluster, withCluster, type TestCluster } from '../../support/cluster.ts';
import { startController, withControllers, type RunningController } from '../../support/controllers.ts';

const test = withControllers(withCluster(anyTest));

const SHARD_KEY = 'sharding.trellis.dev/key';
const LEASE_ID = 'trellis-apply-controller';

type Package = KubeObject & { status?: { conditions?: { type: string; status: string; reason?: string }[] } };
type Lease = KubeObject & { spec?: { holderIdentity?: string } };

function startShard(cluster: TestCluster, ns: string, selector: string, name: string): Promise<RunningController> {
  return startController({
    entry: 'apply-controller/main.ts', name,
    args: ['--kubeconfig', cluster.kubeconfigPath, '--artifact-cache-dir', scratchDir(`${name}-cache`),
      '--metrics-addr', '', '--health-addr', '', '--watch-namespace', ns, '--concurrent', '1',
      '--leader-elect', '--leader-election-namespace', ns, '--watch-label-selector', selector],
  });
}

test('two apply-controller shards each lead their own lease and reconcile only their Packages', async (t) => {
  t.timeout(4 * 60_000);
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = new KubeClient(cluster.kubeConfig);
  const packageRef = (name: string) => ({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name });
  const createPackage = (name: string, shard?: string) => client.create({
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package',
    metadata: { name, namespace: ns, ...(shard ? { labels: { [SHARD_KEY]: shard } } : {}) },
    // The source does not exist: the owning shard says so in the status, which is all this test needs.
    spec: { sourceRef: { kind: 'OCIRepository', name: 'missing' }, interval: '1h', retryInterval: '1h' },
  });
  const names = ['p0-shard2', 'p1-unsharded', 'p2-shard1'];
  t.teardown(async () => {
    for (const name of names) await client.patch(packageRef(name), { metadata: { finalizers: null } }).catch(() => undefined);
  });
  const conditionsOf = async (name: string) => (await client.get<Package>(packageRef(name)))?.status?.conditions ?? [];
  const hasReady = async (name: string) => (await conditionsOf(name)).some((c) => c.type === 'Ready');

  // Shard 1 runs before any Package exists: its watch sees them in creation order.
  const shard1 = await startShard(cluster, ns, `${SHARD_KEY}=shard1`, 'shard1');
  await createPackage('p0-shard2', 'shard2');
  await createPackage('p1-unsharded');
  await createPackage('p2-shard1', 'shard1');
  await eventually(() => hasReady('p2-shard1'), 60_000);
  t.false(await hasReady('p1-unsharded'), 'shard1 left the unsharded Package alone');

  // The rest starts after all three exist: its first list returns them by name.
  const rest = await startShard(cluster, ns, `!${SHARD_KEY}`, 'rest');
  await eventually(() => hasReady('p1-unsharded'), 60_000);
  t.deepEqual(await conditionsOf('p0-shard2'), [], 'a Package of a shard nobody runs gets no status');
  t.is((await client.get<Package>(packageRef('p0-shard2')))?.metadata?.finalizers, undefined, 'nor a finalizer');

  // Each shard holds its own Lease, named after its selector.
  const leases = await client.list<Lease>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: ns });
  const holders = new Map(leases.items.map((l) => [l.metadata?.name, l.spec?.holderIdentity]));
  const shard1Lease = shardLeaseName(LEASE_ID, `${SHARD_KEY}=shard1`);
  const restLease = shardLeaseName(LEASE_ID, `!${SHARD_KEY}`);
  t.not(shard1Lease, restLease);
  t.truthy(holders.get(shard1Lease), `${shard1Lease} is held`);
  t.truthy(holders.get(restLease), `${restLease} is held`);
  t.false(holders.has(LEASE_ID), 'no shard uses the unsharded lease');

  await Promise.all([shard1.stop(), rest.stop()]);
});
