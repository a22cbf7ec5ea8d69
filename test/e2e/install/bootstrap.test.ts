// `trellis bootstrap` against the local registry and a private cluster: it
// pushes Trellis's own package, installs it, and creates the OCIRepository and
// Package through which Trellis manages itself. Pushing a new version (a new
// image) then upgrades the controllers' Deployments through that Package.
// No kubelet runs the in-cluster controllers' containers (the simulated node
// only reports their Pods Ready), so the reconciling controllers are processes
// started here, watching the Trellis namespace: the same reconcile the
// in-cluster ones would run.
import anyTest from 'ava';
import { join } from 'node:path';
import { runBootstrap } from '../../../cli/install/bootstrap.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, scratchDir } from '../../support/cluster.ts';
import { startController, withControllers, type RunningController } from '../../support/controllers.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { captureIO, startPrivateCluster, type PrivateCluster } from '../../integration/install/support.ts';

const test = withControllers(withServers(anyTest));
const NS = 'trellis-system';

let pc: PrivateCluster | undefined;
test.before(async () => { pc = await startPrivateCluster('bootstrap-cluster'); });
test.after.always(async () => { await pc?.cluster.stop(); });

interface Pkg extends KubeObject {
  status?: { lastAppliedRevision?: string; conditions?: { type: string; status: string; message?: string }[] };
}
type Deployment = KubeObject & { spec: { template: { spec: { containers: { image: string }[] } } } };

test('bootstrap: Trellis installs itself from the registry, and a pushed version upgrades it', async (t) => {
  const { admin } = pc!;
  const kubeconfig = pc!.cluster.kubeconfigPath;
  const registry = await useRegistry();
  const repo = `oci://${registry.host}/platform/trellis`;

  const io = captureIO();
  await runBootstrap(`${repo}:1.0.0`, { image: 'registry.example/trellis:1.0.0', insecure: true, interval: '2s', kubeconfig }, io);
  t.log(io.term.stdout());
  t.regex(io.term.stdout(), /Trellis now manages itself/);

  await startController({
    entry: 'source-controller/main.ts', name: 'bootstrap-source',
    args: ['--kubeconfig', kubeconfig, '--storage-path', join(scratchDir('bootstrap-source'), 'data'), '--artifact-addr', '127.0.0.1:0',
      '--metrics-addr', '', '--health-addr', '', '--watch-namespace', NS],
  });
  const apply: RunningController = await startController({
    entry: 'apply-controller/main.ts', name: 'bootstrap-apply',
    args: ['--kubeconfig', kubeconfig, '--artifact-cache-dir', scratchDir('bootstrap-apply-cache'), '--metrics-addr', '', '--health-addr', '',
      '--watch-namespace', NS],
  });
  const applied = async (version: string): Promise<Pkg> => {
    let last: Pkg | undefined;
    return eventually(async () => {
      last = await admin.get<Pkg>({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: NS, name: 'trellis' });
      const ready = last?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      return ready && last?.status?.lastAppliedRevision?.startsWith(`${version}@sha256:`) ? last : undefined;
    }, 150_000, 500).catch((err: unknown) => {
      throw new Error(`trellis Package not Ready at ${version}: ${JSON.stringify(last?.status)}\n${apply?.lines().slice(-8).map((l) => JSON.stringify(l)).join('\n')}\n${String(err)}`);
    });
  };
  await applied('1.0.0');
  const image = async (): Promise<string | undefined> => (await admin.get<Deployment>(
    { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'apply-controller' }))?.spec.template.spec.containers[0]?.image;
  t.is(await image(), 'registry.example/trellis:1.0.0');

  const push = captureIO();
  await runBootstrap(`${repo}:1.1.0`, { image: 'registry.example/trellis:1.1.0', insecure: true, pushOnly: true }, push);
  t.regex(push.term.stdout(), /pushed trellis 1\.1\.0/);
  await applied('1.1.0');
  t.is(await image(), 'registry.example/trellis:1.1.0', 'the Package upgraded the Deployment to the new image');
});
