// Sharding the source controller: a copy started with `--watch-label-selector`
// reconciles only the OCIRepositories its selector matches.
//
// One source at a time (`--concurrent 1`, a FIFO queue) and the source it must not
// touch comes first (created first, and first by name): by the time its own source
// has a status, a controller that ignored its selector would have written the other's.
import { join } from 'node:path';
import anyTest from 'ava';
import { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { startController, withControllers } from '../../support/controllers.ts';

const test = withControllers(withCluster(anyTest));

type Source = KubeObject & { status?: { conditions?: { type: string }[] } };

test('a source-controller shard reconciles only the sources its selector matches', async (t) => {
  t.timeout(3 * 60_000);
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = new KubeClient(cluster.kubeConfig);
  const sourceRef = (name: string) => ({ apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', namespace: ns, name });
  const names = ['s0-other', 's1-mine'];
  t.teardown(async () => {
    for (const name of names) await client.patch(sourceRef(name), { metadata: { finalizers: null } }).catch(() => undefined);
  });

  const shard = await startController({
    entry: 'source-controller/main.ts', name: 'source-shard',
    args: ['--kubeconfig', cluster.kubeconfigPath, '--storage-path', join(scratchDir('source-shard-storage'), 'data'),
      '--artifact-addr', '127.0.0.1:0', '--metrics-addr', '', '--health-addr', '', '--watch-namespace', ns, '--concurrent', '1',
      '--watch-label-selector', 'sharding.trellis.dev/key=mine'],
  });
  for (const [name, shardKey] of [['s0-other', 'other'], ['s1-mine', 'mine']] as const) {
    await client.create({
      apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository',
      metadata: { name, namespace: ns, labels: { 'sharding.trellis.dev/key': shardKey } },
      // Nothing listens there: the reconciling controller reports the failure in the status.
      spec: { url: 'oci://127.0.0.1:9/nothing', ref: { tag: 'v1' }, interval: '1h', insecure: true },
    });
  }
  const conditionsOf = async (name: string) => (await client.get<Source>(sourceRef(name)))?.status?.conditions ?? [];
  await eventually(async () => (await conditionsOf('s1-mine')).some((c) => c.type === 'Ready'), 60_000);
  t.deepEqual(await conditionsOf('s0-other'), [], 'the other shard\'s source gets no status');
  t.is((await client.get<Source>(sourceRef('s0-other')))?.metadata?.finalizers, undefined, 'nor a finalizer');
  await shard.stop();
});
