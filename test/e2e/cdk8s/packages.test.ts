// The cdk8s packages end to end: `trellis push` to a real registry, both
// controllers as processes, an OCIRepository and a Package with install-time
// values, and the objects the cluster ends up with. Also `trellis dev` against
// the real controllers: an edit is applied, a bad one is reported.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest from 'ava';
import { statusInventory, type Package } from '../../../apply-controller/api.ts';
import { PHASE_ANNOTATION } from '../../../apply-controller/bundle/index.ts';
import { runPush } from '../../../cli/push.ts';
import { projectRoot } from '../../../hack/lib/system-tools.ts';
import { runDevLoop, type DevEvent } from '../../../packages-cdk8s/build/dev.ts';
import type { DevOutcome } from '../../../packages-cdk8s/build/dev-cluster.ts';
import { synth } from '../../../packages-cdk8s/kit/index.ts';
import trellis, { TRELLIS_NAMESPACE } from '../../../packages-cdk8s/trellis/package.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject, ObjectRef } from '../../../runtime/object.ts';
import { OciClient } from '../../../source-controller/oci/index.ts';
import { eventually, scratchDir, useCluster, withCluster, type TestCluster } from '../../support/cluster.ts';
import { startController, withControllers } from '../../support/controllers.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { copyExample, packageRoot, withTrellisInstallLock } from '../../integration/cdk8s/packages.ts';

const test = withControllers(withServers(withCluster(anyTest)));
const EXAMPLES = join(projectRoot, 'packages-cdk8s');
const silent = { stdout: { write: () => true }, stderr: { write: () => true } };

interface Env {
  cluster: TestCluster;
  kube: KubeClient;
  namespace: string;
  registry: string;
}

let env: Env | undefined;

// One namespace and one pair of controllers (watching only it) for the whole file.
test.before(async () => {
  const cluster = await useCluster();
  const kube = new KubeClient(cluster.kubeConfig);
  const namespace = `e2e-cdk8s-${randomBytes(3).toString('hex')}`;
  await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'trellis.dev/test': 'true' } } });
  const registry = await useRegistry();
  await startController({
    entry: 'source-controller/main.ts', name: 'e2e-cdk8s-source',
    args: ['--kubeconfig', cluster.kubeconfigPath, '--storage-path', join(scratchDir('cdk8s-source'), 'data'),
      '--artifact-addr', '127.0.0.1:0', '--metrics-addr', '', '--health-addr', '', '--watch-namespace', namespace],
  });
  await startController({
    entry: 'apply-controller/main.ts', name: 'e2e-cdk8s-apply',
    // The example packages install a CRD as the controller: a single-tenant controller.
    args: ['--kubeconfig', cluster.kubeconfigPath, '--artifact-cache-dir', scratchDir('cdk8s-apply-cache'), '--metrics-addr', '',
      '--health-addr', '', '--watch-namespace', namespace, '--allow-cross-namespace-refs'],
  });
  env = { cluster, kube, namespace, registry: registry.host };
});

test.after.always(async () => {
  if (env) await env.kube.delete({ apiVersion: 'v1', kind: 'Namespace', name: env.namespace }).catch(() => undefined);
});

const packageRef = (name: string): ObjectRef => ({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: env!.namespace, name });

/** Creates the OCIRepository and Package `kubectl package install` would. */
async function install(name: string, repository: string, tag: string, spec: Record<string, unknown>): Promise<void> {
  const { kube, namespace, registry } = env!;
  await kube.create({
    apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', metadata: { name, namespace },
    spec: { url: `oci://${registry}/${repository}`, ref: { tag }, interval: '2s', insecure: true },
  } as KubeObject);
  await kube.create({
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name, namespace },
    spec: { sourceRef: { kind: 'OCIRepository', name }, interval: '1m', timeout: '90s', ...spec },
  } as KubeObject);
}

/** Waits until the Package is Ready with a revision of `tag`; fails with its conditions otherwise. */
async function readyPackage(name: string, tag: string): Promise<Package> {
  let last: Package | undefined;
  try {
    return await eventually(async () => {
      last = await env!.kube.get<Package>(packageRef(name));
      const ready = last?.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' && last?.status?.lastAppliedRevision?.startsWith(`${tag}@sha256:`) ? last : undefined;
    }, 150_000, 250);
  } catch (err) {
    throw new Error(`Package ${name} not Ready: ${JSON.stringify(last?.status?.conditions ?? [])} (${(err as Error).message})`);
  }
}

/** Deletes the Package and waits until it is gone (its finalizer pruned its objects, unless prune is off). */
async function uninstall(name: string): Promise<void> {
  const { kube } = env!;
  await kube.delete(packageRef(name));
  await eventually(async () => (await kube.get(packageRef(name))) === undefined, 90_000, 250);
  await kube.delete({ apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', namespace: env!.namespace, name });
}

const get = <T extends object = object>(apiVersion: string, kind: string, name: string, namespace: string | undefined = env!.namespace) =>
  env!.kube.get<KubeObject & T & { metadata: { annotations?: Record<string, string> } }>({ apiVersion, kind, name, ...(namespace ? { namespace } : {}) });

test.serial('web: pushed by trellis push and applied by OCIRepository + Package with install-time values', async (t) => {
  await runPush(join(EXAMPLES, 'examples', 'web'), `oci://${env!.registry}/examples/web:1.0.0`, { insecure: true }, silent);
  await install('web', 'examples/web', '1.0.0', { values: { replicas: 3, message: 'Hello from e2e' } });
  const pkg = await readyPackage('web', '1.0.0');
  t.is(statusInventory(pkg.status).length, 3);
  const deployment = await get<{ spec: { replicas: unknown; template: { spec: { containers: { image: string }[] } } } }>('apps/v1', 'Deployment', 'web');
  t.is(deployment?.spec.replicas, 3, 'an integer value stays an integer');
  t.is(deployment?.spec.template.spec.containers[0]?.image, 'nginx:1.25.3', 'an unset value keeps its default');
  t.is(deployment?.metadata.annotations?.[PHASE_ANNOTATION], 'apps');
  const config = await get<{ data: Record<string, string> }>('v1', 'ConfigMap', 'web-content');
  t.is(config?.data['index.html'], '<!doctype html>\n<h1>Hello from e2e</h1>\n', 'a value inside a string went through its template');
  t.truthy(await get('v1', 'Service', 'web'));
  await uninstall('web');
  t.is(await get('apps/v1', 'Deployment', 'web'), undefined);
});

test.serial('with-crd: the CRD is applied in the first phase and its Widgets, with values, in the second', async (t) => {
  await runPush(join(EXAMPLES, 'examples', 'with-crd'), `oci://${env!.registry}/examples/with-crd:1.0.0`, { insecure: true }, silent);
  await install('with-crd', 'examples/with-crd', '1.0.0', { values: { size: 42, color: 'red' } });
  await readyPackage('with-crd', '1.0.0');
  const crd = await get<{ status?: { conditions?: { type: string; status: string }[] } }>(
    'apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.examples.trellis.dev', undefined);
  t.true(crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'));
  const large = await get<{ spec: { size: unknown; color: string } }>('examples.trellis.dev/v1', 'Widget', 'large');
  const small = await get<{ spec: { size: unknown; color: string } }>('examples.trellis.dev/v1', 'Widget', 'small');
  t.deepEqual(large?.spec, { size: 42, color: 'red' });
  t.deepEqual(small?.spec, { size: 1, color: 'red' });
  await uninstall('with-crd');
  // The prune deletes it; the apiserver removes it once its Widgets are cleaned up (the CRD's own finalizer).
  t.true(await eventually(async () => (await get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.examples.trellis.dev', undefined)) === undefined,
    60_000, 250), 'uninstalling prunes the CRD too');
});

test.serial('trellis: its own installation is applied by OCIRepository + Package, controllers healthy', async (t) => {
  const { kube } = env!;
  await runPush(join(EXAMPLES, 'trellis'), `oci://${env!.registry}/trellis:0.1.0`, { insecure: true }, silent);
  await withTrellisInstallLock(async () => {
    try {
      // prune: false, so deleting the Package leaves the CRDs every other test uses. The CRDs exist already (the test
      // environment installed them, as `trellis install` would): the Package adopts them, as nobody else owns them.
      await install('trellis', 'trellis', '0.1.0', { prune: false, collisionProtection: 'IfNoOwner', values: { applyController: { replicas: 2 } } });
      const pkg = await readyPackage('trellis', '0.1.0');
      t.is(statusInventory(pkg.status).length, synth(trellis).length);
      const apply = await get<{ spec: { replicas: unknown }; status?: { availableReplicas?: number } }>('apps/v1', 'Deployment', 'apply-controller', TRELLIS_NAMESPACE);
      t.is(apply?.spec.replicas, 2);
      t.is(apply?.status?.availableReplicas, 2, 'the simulated node ran the Pods; the Package waited for them');
      t.truthy(await get('networking.k8s.io/v1', 'NetworkPolicy', 'source-controller-ingress', TRELLIS_NAMESPACE));
    } finally {
      await uninstall('trellis').catch(() => undefined);
      for (const o of [...synth(trellis)].reverse() as unknown as (KubeObject & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } })[]) {
        if (o.kind === 'CustomResourceDefinition') continue;
        await kube.delete({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) })
          .catch(() => undefined);
      }
      await eventually(async () => (await kube.get({ apiVersion: 'v1', kind: 'Namespace', name: TRELLIS_NAMESPACE })) === undefined, 120_000, 500);
    }
  });
});

test.serial('trellis dev: an edit is applied by the controllers, and a change the apiserver refuses is reported with its file and object', async (t) => {
  await install('web-dev', 'dev/web', 'dev', {});
  const dir = copyExample(packageRoot(), 'web');
  const oci = new OciClient({ insecure: true });
  const stop = new AbortController();
  t.teardown(() => { stop.abort(); oci.close(); });
  const outcomes: DevOutcome[] = [];
  const events: DevEvent[] = [];
  const loop = runDevLoop({
    dir, oci, kube: env!.kube, namespace: env!.namespace, packageName: 'web-dev', debounceMs: 200, outcomeTimeoutMs: 150_000, signal: stop.signal,
    report: (e) => { events.push(e); if (e.type === 'outcome') outcomes.push(e.outcome); },
  });
  const nextOutcome = (n: number): Promise<DevOutcome> => eventually(() => Promise.resolve(outcomes[n]), 180_000, 200);

  const first = await nextOutcome(0);
  if (first.kind !== 'applied') return t.fail(JSON.stringify(first));
  t.regex(first.changes ?? '', /3 created/);

  const source = join(dir, 'package.ts');
  writeFileSync(source, readFileSync(source, 'utf8').replace("default: 'Hello from Trellis'", "default: 'Edited live'"));
  const second = await nextOutcome(1);
  t.like(second, { kind: 'applied', packageRevision: (first.packageRevision ?? 0) + 1, changes: '1 configured' });
  const config = await get<{ data: Record<string, string> }>('v1', 'ConfigMap', 'web-content');
  t.is(config?.data['index.html'], '<!doctype html>\n<h1>Edited live</h1>\n');

  // Valid for the build, refused by the apiserver: a Service port out of range.
  writeFileSync(source, readFileSync(source, 'utf8').replace("ports: [{ name: 'http', port: 80,", "ports: [{ name: 'http', port: 99999,"));
  const third = await nextOutcome(2);
  t.log(`trellis dev printed outcomes: ${outcomes.map((o) => JSON.stringify(o)).join('\n')}`);
  t.is(third.kind, 'failed', JSON.stringify(third));
  if (third.kind === 'failed') {
    t.regex(third.message, /Service.*web.*spec\.ports\[0\]\.port/);
    t.is(third.file, 'manifests/apps/002-service-web.yaml', 'the file of the refused object is named');
  }
  stop.abort();
  await loop;
  t.false(events.some((e) => e.type === 'build-failed' || e.type === 'push-failed'));
  await uninstall('web-dev');
});
