// The source-controller process with its default flags: the built-in source-host
// policy refuses a GitRepository aimed at the cloud metadata address or at the
// apiserver the controller itself talks to (found from its kubeconfig), while a
// Git server on another loopback port stays usable; a Git bomb is refused and
// the process keeps serving.
import anyTest, { type ExecutionContext } from 'ava';
import { join } from 'node:path';
import { pushCommit, rawRepo } from '../../../hack/git-fixtures.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import type { GitRepository } from '../../../source-controller/api.ts';
import { eventually, scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { startController, withControllers, type RunningController } from '../../support/controllers.ts';
import { useGitServer, withServers } from '../../support/servers.ts';
import { conditionOf } from '../../integration/source-controller/support.ts';

const test = withControllers(withServers(withCluster(anyTest)));
const SOURCE_API = 'source.trellis.dev/v1alpha1';

interface Env {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly controller: RunningController;
  readonly apiserver: URL;
}

async function setup(t: ExecutionContext, extraArgs: readonly string[] = []): Promise<Env> {
  const cluster = await useCluster();
  const namespace = await testNamespace(t, cluster);
  const client = new KubeClient(cluster.kubeConfig, { qps: 0 });
  const controller = await startController({
    entry: 'source-controller/main.ts',
    args: [
      '--kubeconfig', cluster.kubeconfigPath, '--storage-path', join(scratchDir('source-storage'), 'data'),
      '--artifact-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--health-addr', '',
      '--watch-namespace', namespace, '--log-level', 'debug', ...extraArgs,
    ],
  });
  t.teardown(async () => {
    const list = await client.list({ apiVersion: SOURCE_API, kind: 'GitRepository', namespace });
    for (const item of list.items) await client.delete({ apiVersion: SOURCE_API, kind: 'GitRepository', namespace, name: item.metadata!.name! });
    await eventually(async () => (await client.list({ apiVersion: SOURCE_API, kind: 'GitRepository', namespace })).items.length === 0, 30_000);
    await controller.stop();
  });
  return { client, namespace, controller, apiserver: new URL(cluster.kubeConfig.getCurrentCluster()!.server) };
}

async function createGit(env: Env, name: string, spec: Record<string, unknown>): Promise<void> {
  await env.client.create({ apiVersion: SOURCE_API, kind: 'GitRepository', metadata: { name, namespace: env.namespace }, spec });
}

/** Waits for FetchFailed on `name` and returns the GitRepository. */
function fetchFailed(env: Env, name: string): Promise<GitRepository> {
  return eventually(async () => {
    const obj = await env.client.get<GitRepository>({ apiVersion: SOURCE_API, kind: 'GitRepository', namespace: env.namespace, name });
    return conditionOf(obj, 'FetchFailed')?.status === 'True' && obj;
  }, 60_000);
}

test('default flags: the metadata address and the controller\'s own apiserver are refused; a loopback Git server is not', async (t) => {
  const env = await setup(t);
  const server = await useGitServer();
  const repo = `hosts-${process.pid}`;
  await pushCommit(server, repo, { files: { 'a.yaml': 'a: 1\n' } });
  await createGit(env, 'metadata', { url: 'http://169.254.169.254/computeMetadata/v1.git', interval: '1m' });
  await createGit(env, 'apiserver', { url: `https://localhost:${env.apiserver.port}/api/v1/namespaces/kube-system/secrets.git`, interval: '1m' });
  await createGit(env, 'fine', { url: server.repoUrl(repo), interval: '1m' });

  for (const name of ['metadata', 'apiserver']) {
    const obj = await fetchFailed(env, name);
    t.is(conditionOf(obj, 'FetchFailed')?.reason, 'HostDenied', name);
    t.is(obj.status?.artifact, undefined, name);
  }
  t.regex(conditionOf(await fetchFailed(env, 'apiserver'), 'Ready')?.message ?? '', /deny rule (localhost|127\.0\.0\.0\/8):\d+/);
  const fine = await eventually(async () => {
    const obj = await env.client.get<GitRepository>({ apiVersion: SOURCE_API, kind: 'GitRepository', namespace: env.namespace, name: 'fine' });
    return conditionOf(obj, 'Ready')?.status === 'True' && obj;
  }, 60_000);
  t.truthy(fine.status?.artifact);
  t.true(env.controller.lines().some((l) => l.msg === 'source-host policy'));
});

test('a Git bomb is refused by the running controller, which keeps serving /healthz', async (t) => {
  const env = await setup(t, ['--max-unpacked-entries', '5000']);
  const server = await useGitServer();
  const repo = `bomb-${process.pid}`;
  const writer = await rawRepo(server, repo);
  let oid = await writer.blob('boom\n');
  let mode = '100644';
  for (let level = 0; level < 6; level++) {
    oid = await writer.tree(Array.from({ length: 10 }, (_, i) => ({ name: `d${i}`, mode, oid })));
    mode = '40000';
  }
  await writer.commit(oid);
  await createGit(env, 'bomb', { url: server.repoUrl(repo), interval: '1m' });
  const obj = await fetchFailed(env, 'bomb');
  t.is(conditionOf(obj, 'FetchFailed')?.reason, 'TooLarge');
  t.regex(conditionOf(obj, 'FetchFailed')?.message ?? '', /more than 5000 entries/);
  const line = await env.controller.waitForLine((l) => typeof l.msg === 'string' && l.msg.startsWith('serving /healthz'));
  const res = await fetch(`${String(line.url)}/healthz`);
  t.is(res.status, 200);
});
