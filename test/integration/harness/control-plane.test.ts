// The harness's control plane is a real kube-apiserver with etcd and
// kube-controller-manager behind it.
import anyTest from 'ava';
import * as k8s from '@kubernetes/client-node';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';

const test = withCluster(anyTest);

test('a ConfigMap created through the real apiserver can be read back', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const core = cluster.kubeConfig.makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'greeting' }, data: { hello: 'world' } } });
  const read = await core.readNamespacedConfigMap({ namespace: ns, name: 'greeting' });
  t.is(read.data?.hello, 'world');
  t.truthy(read.metadata?.uid, 'the apiserver assigned a uid');
  t.truthy(read.metadata?.resourceVersion);
});

test('a deleted namespace disappears (kube-controller-manager finalizes it)', async (t) => {
  const cluster = await useCluster();
  const core = cluster.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const name = `t-ns-delete-${Date.now().toString(36)}`;
  await core.createNamespace({ body: { metadata: { name } } });
  await core.createNamespacedConfigMap({ namespace: name, body: { metadata: { name: 'content' } } });
  await core.deleteNamespace({ name });
  // Without the namespace controller the namespace would stay Terminating forever.
  await eventually(async () => {
    try {
      await core.readNamespace({ name });
      return false;
    } catch (err) {
      return (err as { code?: number }).code === 404;
    }
  }, 60_000);
  t.pass();
});

test('the admin kubeconfig is refused without its token (RBAC and authentication are on)', async (t) => {
  const cluster = await useCluster();
  const anonymous = new k8s.KubeConfig();
  const c = cluster.kubeConfig.getCurrentCluster();
  if (!c) return t.fail('no cluster in kubeconfig');
  anonymous.loadFromOptions({
    clusters: [c], users: [{ name: 'nobody' }],
    contexts: [{ name: 'x', cluster: c.name, user: 'nobody' }], currentContext: 'x',
  });
  const core = anonymous.makeApiClient(k8s.CoreV1Api);
  const err = await t.throwsAsync(core.listNamespace());
  t.true([401, 403].includes((err as unknown as { code: number }).code));
});
