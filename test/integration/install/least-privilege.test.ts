// `trellis install`, `check` and `uninstall` on a private cluster, with the
// controllers authenticating as their OWN service accounts (their tokens) and
// holding exactly the RBAC the installation ships: no cluster-admin binding.
// Through them: a Package without serviceAccountName (allowed by an admin's
// ClusterRole aggregated into trellis-apply-packages), drift corrected through
// the watch cache (the Package's interval is an hour), and a tenant Package
// applied as its own service account. The in-cluster Deployments' Pods are
// "run" by the simulated node (they become Ready but execute nothing), so the
// reconciling controllers are processes started here.
import anyTest from 'ava';
import { join } from 'node:path';
import { runCheck } from '../../../cli/install/check.ts';
import { runInstall } from '../../../cli/install/install.ts';
import { runUninstall } from '../../../cli/install/uninstall.ts';
import { runPush } from '../../../cli/push.ts';
import { APPLY_PACKAGES_LABEL } from '../../../packages-cdk8s/trellis/rbac.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, scratchDir } from '../../support/cluster.ts';
import { startController, withControllers, type RunningController } from '../../support/controllers.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { configMapPackage, packageRoot, writePackage } from '../cdk8s/packages.ts';
import { captureIO, serviceAccountKubeconfig, startPrivateCluster, type PrivateCluster } from './support.ts';

const test = withControllers(withServers(anyTest));
const NS = 'trellis-system';
const silent = { stdout: { write: () => true }, stderr: { write: () => true } };

let pc: PrivateCluster | undefined;
let registry: { host: string } | undefined;
let apply: RunningController | undefined;
const ns = 'least-privilege';
test.before(async () => { pc = await startPrivateCluster('install-cluster'); });
test.after.always(async () => { await pc?.cluster.stop(); });

interface ConfigMap extends KubeObject { data?: Record<string, string> }
interface Pkg extends KubeObject { status?: { conditions?: { type: string; status: string; message?: string }[] } }

const kubeconfig = (): string => pc!.cluster.kubeconfigPath;

test.serial('check --pre passes for an admin; check fails before install, naming what is missing', async (t) => {
  const pre = captureIO();
  await runCheck({ pre: true, kubeconfig: kubeconfig() }, pre).catch(() => undefined);
  t.log(pre.term.stdout());
  t.regex(pre.term.stdout(), /all checks passed/);
  const io = captureIO();
  await t.throwsAsync(runCheck({ kubeconfig: kubeconfig() }, io));
  t.regex(io.term.stdout(), /✗ crd packages\.apply\.trellis\.dev\s+not installed/);
  t.regex(io.term.stdout(), /✗ deployment source-controller\s+not found/);
});

test.serial('install --wait says clearly that the controllers are not ready when their Pods cannot run', async (t) => {
  // A cordoned node: the scheduler places no Pod, so no replica ever becomes available.
  const node = { apiVersion: 'v1', kind: 'Node', name: pc!.cluster.nodeName };
  await pc!.admin.patch(node, { spec: { unschedulable: true } }, { type: 'merge' });
  try {
    const io = captureIO();
    const err = await t.throwsAsync(runInstall({ kubeconfig: kubeconfig(), image: 'registry.example/trellis:1.0.0', wait: true, timeout: 3_000 }, io));
    t.regex(err?.message ?? '', /the controllers are not ready after 3 s \(source-controller: 0\/1 replicas available; apply-controller: 0\/1 replicas available\)/);
    t.regex(io.term.stdout(), /CustomResourceDefinition packages\.apply\.trellis\.dev created/, 'everything was applied before waiting');
  } finally {
    await pc!.admin.patch(node, { spec: { unschedulable: false } }, { type: 'merge' });
  }
});

test.serial('install applies the whole package without a cluster-admin binding; again it changes nothing; a new image and an older CRD schema are upgraded', async (t) => {
  const io = captureIO();
  await runInstall({ kubeconfig: kubeconfig(), image: 'registry.example/trellis:1.0.0', wait: true, timeout: 120_000 }, io);
  t.log(io.term.stdout());
  t.regex(io.term.stdout(), /controllers ready: source-controller 1\/1 replicas available/);
  const bindings = await pc!.admin.list<KubeObject & { roleRef: { name: string } }>({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding' });
  const ours = bindings.items.filter((b) => b.metadata?.labels?.['app.kubernetes.io/part-of'] === 'trellis');
  t.true(ours.length >= 4);
  t.false(ours.some((b) => b.roleRef.name === 'cluster-admin'), 'no controller is bound to cluster-admin');

  const again = captureIO();
  await runInstall({ kubeconfig: kubeconfig(), image: 'registry.example/trellis:1.0.0' }, again);
  t.notRegex(again.term.stdout(), / (created|configured)\n/, 'a second install is a no-op');

  // An older Trellis's Package CRD: one field fewer in the schema, written by another manager.
  type Crd = KubeObject & { spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, unknown> } } } } }[] } };
  const crdRef = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: 'packages.apply.trellis.dev' };
  const current = (await pc!.admin.get<Crd>(crdRef))!;
  const older = structuredClone(current);
  delete older.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.drift;
  await pc!.admin.update(older);
  // Something an older version installed and this one has not.
  await pc!.admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',
    metadata: { name: 'trellis-retired-role', labels: { 'app.kubernetes.io/part-of': 'trellis', 'app.kubernetes.io/managed-by': 'trellis' } }, rules: [],
  } as KubeObject);
  const upgrade = captureIO();
  await runInstall({ kubeconfig: kubeconfig(), image: 'registry.example/trellis:1.1.0' }, upgrade);
  t.regex(upgrade.term.stdout(), /Deployment trellis-system\/apply-controller configured/);
  t.regex(upgrade.term.stdout(), /CustomResourceDefinition packages\.apply\.trellis\.dev configured/);
  t.regex(upgrade.term.stdout(), /ClusterRole trellis-retired-role deleted \(not in this version\)/);
  t.notRegex(upgrade.term.stdout(), /ClusterRole trellis-apply-watch deleted/);
  const upgraded = await pc!.admin.get<Crd>(crdRef);
  t.truthy(upgraded?.spec.versions[0]?.schema.openAPIV3Schema.properties.spec.properties.drift, 'the schema change is installed');
  const d = await pc!.admin.get<KubeObject & { spec: { template: { spec: { containers: { image: string }[] } } } }>(
    { apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'apply-controller' });
  t.is(d?.spec.template.spec.containers[0]?.image, 'registry.example/trellis:1.1.0');
});

test.serial('the controllers as their own service accounts: a Package without serviceAccountName, drift through the watch cache, check', async (t) => {
  const { admin } = pc!;
  registry = await useRegistry();
  await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const root = packageRoot();
  await runPush(writePackage(root, 'plain', configMapPackage({ name: 'plain', greeting: 'hello' })), `oci://${registry.host}/lp/plain:1.0.0`, { insecure: true }, silent);
  await runPush(writePackage(root, 'tenant', configMapPackage({ name: 'tenant', greeting: 'tenant' }).replace("name: 'greeting'", "name: 'tenant-greeting'")),
    `oci://${registry.host}/lp/tenant:1.0.0`, { insecure: true }, silent);

  const sourceConfig = await serviceAccountKubeconfig(pc!, NS, 'source-controller');
  const applyConfig = await serviceAccountKubeconfig(pc!, NS, 'apply-controller');
  // The local source controller stands in for the Deployment's (simulated) Pod: as leader it labels that Pod, which the artifact Service selects.
  const pods = await admin.list({ apiVersion: 'v1', kind: 'Pod', namespace: NS }, { labelSelector: 'app.kubernetes.io/name=source-controller' });
  const podName = pods.items[0]?.metadata?.name ?? '';
  t.truthy(podName, 'the simulated node runs a source-controller Pod');
  await startController({
    entry: 'source-controller/main.ts', name: 'lp-source', env: { POD_NAME: podName },
    args: ['--kubeconfig', sourceConfig, '--storage-path', join(scratchDir('lp-source'), 'data'), '--artifact-addr', '127.0.0.1:0',
      '--metrics-addr', '', '--health-addr', '', '--watch-namespace', ns, '--leader-elect'],
  });
  apply = await startController({
    entry: 'apply-controller/main.ts', name: 'lp-apply',
    args: ['--kubeconfig', applyConfig, '--artifact-cache-dir', scratchDir('lp-apply-cache'), '--metrics-addr', '', '--health-addr', '',
      '--watch-namespace', ns, '--leader-elect'],
  });

  // An admin allows Packages without serviceAccountName to manage ConfigMaps: a ClusterRole aggregated into trellis-apply-packages.
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',
    metadata: { name: 'lp-packages-configmaps', labels: { [APPLY_PACKAGES_LABEL]: 'true' } },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'] }],
  } as KubeObject);
  // The tenant's own account, allowed ConfigMaps in its namespace only.
  await admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'tenant', namespace: ns } });
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'tenant', namespace: ns },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'] }],
  } as KubeObject);
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'tenant', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tenant' },
    subjects: [{ kind: 'ServiceAccount', name: 'tenant', namespace: ns }],
  } as KubeObject);

  await createPackage('plain', {});
  await ready('plain');
  const cm = (name: string) => admin.get<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name });
  t.is((await cm('greeting'))?.data?.greeting, 'hello');

  // Drift: the interval is an hour, so only the watch can bring the value back.
  await admin.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'greeting' }, { data: { greeting: 'tampered' } }, { type: 'merge' });
  await eventually(async () => (await cm('greeting'))?.data?.greeting === 'hello', 60_000, 250);
  t.pass('drift corrected through the watch cache');
  const check = captureIO();
  await runCheck({ kubeconfig: kubeconfig() }, check).catch(() => undefined);
  t.log(check.term.stdout());
  t.regex(check.term.stdout(), /✔ leader apply-controller\s+\S+/);
  t.regex(check.term.stdout(), /✔ rbac apply-controller: impersonate serviceaccounts\s+allowed/);
  t.regex(check.term.stdout(), new RegExp(`✔ artifact server\\s+http://source-controller\\.trellis-system\\.svc routes to ${podName}`));
  t.regex(check.term.stdout(), /all checks passed\n/, 'no failure and no warning');
});

test.serial('the controllers as their own service accounts: a tenant Package applied as its serviceAccountName', async (t) => {
  await createPackage('tenant', { serviceAccountName: 'tenant' });
  await ready('tenant');
  const live = await pc!.admin.get<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'tenant-greeting' });
  t.is(live?.data?.greeting, 'tenant');
});

/** The OCIRepository and Package of one pushed test package. */
async function createPackage(name: string, extra: Record<string, unknown>): Promise<void> {
  const { admin } = pc!;
  await admin.create({
    apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', metadata: { name, namespace: ns },
    spec: { url: `oci://${registry!.host}/lp/${name}`, ref: { tag: '1.0.0' }, interval: '1h', insecure: true },
  } as KubeObject);
  await admin.create({
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name, namespace: ns },
    spec: { sourceRef: { kind: 'OCIRepository', name }, interval: '1h', timeout: '60s', ...extra },
  } as KubeObject);
}

/** Waits until the Package is Ready; fails with its conditions and the controller's last log lines. */
async function ready(name: string): Promise<void> {
  const { admin } = pc!;
  let last: Pkg | undefined;
  await eventually(async () => {
    last = await admin.get<Pkg>({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name });
    return last?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  }, 90_000, 250).catch((err: unknown) => {
    throw new Error(`Package ${name} not Ready: ${JSON.stringify(last?.status?.conditions)}\n${apply!.lines().slice(-8).map((l) => JSON.stringify(l)).join('\n')}\n${String(err)}`);
  });
}

test.serial('uninstall removes Trellis and leaves what Packages installed', async (t) => {
  const { admin } = pc!;
  const io = captureIO();
  const report = await runUninstall({ kubeconfig: kubeconfig() }, io);
  t.log(io.term.stderr());
  t.is(report.packages, 2);
  t.regex(io.term.stdout(), /still in the cluster/);
  const cm = await admin.get<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'least-privilege', name: 'greeting' });
  t.is(cm?.data?.greeting, 'hello', 'the Package\'s ConfigMap is still there');
  // A CRD goes once the apiserver has removed its objects (its cleanup finalizer).
  await eventually(async () => (await admin.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: 'packages.apply.trellis.dev' })) === undefined, 60_000, 250);
  t.is(await admin.get({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'trellis-apply-watch' }), undefined);
  await eventually(async () => (await admin.get({ apiVersion: 'v1', kind: 'Namespace', name: NS })) === undefined, 120_000, 500);
});
