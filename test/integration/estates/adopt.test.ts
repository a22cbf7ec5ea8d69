// Objects a team applied with `kubectl apply` (client-side, the real kubectl) taken over
// by a Package with `kubectl package adopt`: the Deployment keeps its UID and its Pods,
// and a field later removed from the package is removed from the object. Without the
// takeover, kubectl's client-side apply keeps owning that field and it stays.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import anyTest, { type ExecutionContext } from 'ava';
import { stringify } from 'yaml';
import type { CommandIO } from '../../../cli/package/context.ts';
import { runPackageCli } from '../../../cli/package/index.ts';
import { captureTerminal } from '../../../cli/package/output.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, scratchDir, testNamespace, useCluster, withCluster, type TestCluster } from '../../support/cluster.ts';
import { withServers } from '../../support/servers.ts';
import {
  adminClient, ArtifactPublisher, createPackage, createSource, getObject, isReadyAt, releasePackagesOnTeardown, setArtifact, waitForPackage,
} from '../apply-controller/support.ts';
import { useEstateBed } from './support.ts';

const test = withServers(withCluster(anyTest));
const bed = useEstateBed(test);
const run = promisify(execFile);

function deployment(name: string, annotations: Record<string, string>): object {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, annotations },
    spec: {
      replicas: 2, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'nginx:1.25' }] } },
    },
  };
}

/** Applies `object` the way a team did before Trellis: client-side `kubectl apply`. */
async function kubectlApply(cluster: TestCluster, namespace: string, object: object): Promise<void> {
  const file = join(scratchDir('kubectl-apply'), 'object.yaml');
  writeFileSync(file, stringify(object));
  await run('kubectl', ['apply', '-f', file, '-n', namespace, '--kubeconfig', cluster.kubeconfigPath]);
}

/** The UIDs of the Pods of `app`, once there are two. */
async function podUids(client: KubeClient, namespace: string, app: string): Promise<string[]> {
  return eventually(async () => {
    const { items } = await client.list<KubeObject>({ apiVersion: 'v1', kind: 'Pod', namespace }, { labelSelector: `app=${app}` });
    return items.length === 2 ? items.map((p) => p.metadata?.uid ?? '').sort() : undefined;
  }, 60_000);
}

async function adopt(t: ExecutionContext, cluster: TestCluster, argv: string[]): Promise<string> {
  const term = captureTerminal();
  const io: CommandIO = { term, env: { KUBECONFIG: cluster.kubeconfigPath }, now: () => new Date(), exit: () => undefined };
  const code = await runPackageCli(['adopt', ...argv], io);
  t.is(code, 0, term.stderr());
  return term.stdout();
}

test('an adopted kubectl-applied Deployment keeps its Pods, and a field removed from the package is removed from it', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const namespace = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, namespace);
  const publisher = await ArtifactPublisher.start();
  t.teardown(() => publisher.stop());
  const before = { web: deployment('web', { team: 'shop', tier: 'front' }), legacy: deployment('legacy', { team: 'shop', tier: 'front' }) };
  for (const object of Object.values(before)) await kubectlApply(cluster, namespace, object);
  const pods = { web: await podUids(client, namespace, 'web'), legacy: await podUids(client, namespace, 'legacy') };
  const uid = (await getObject(client, 'apps/v1', 'Deployment', namespace, 'web'))?.metadata?.uid;

  // Adopt web (legacy is left to collisionProtection: IfNoOwner alone, for contrast).
  const dir = scratchDir('adopt');
  mkdirSync(join(dir, 'web'), { recursive: true });
  writeFileSync(join(dir, 'web', 'web.yaml'), stringify(before.web));
  writeFileSync(join(dir, 'web', 'README.md'), 'not a manifest\n');
  const dry = await adopt(t, cluster, ['web', '-f', join(dir, 'web'), '-n', namespace, '--dry-run']);
  t.is(dry, `deployment.apps/web would be adopted by Package ${namespace}/web, fields of kubectl-client-side-apply moved to trellis\n`);
  t.truthy((await getObject(client, 'apps/v1', 'Deployment', namespace, 'web'))?.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration']);
  t.is(await adopt(t, cluster, ['web', '-f', join(dir, 'web'), '-n', namespace]),
    `deployment.apps/web adopted by Package ${namespace}/web, fields of kubectl-client-side-apply moved to trellis\n`);
  const adopted = await getObject(client, 'apps/v1', 'Deployment', namespace, 'web');
  t.is(adopted?.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], undefined);
  const managers = ((adopted?.metadata?.managedFields ?? []) as { manager: string; operation: string }[]).map((m) => `${m.manager}/${m.operation}`);
  t.false(managers.includes('kubectl-client-side-apply/Update'), managers.join(', '));
  t.true(managers.includes('trellis/Apply'), managers.join(', '));

  // The Packages apply the same manifests, then a revision without the `team` annotation.
  for (const name of ['web', 'legacy'] as const) {
    await createSource(client, namespace, name, await publisher.publish(namespace, name, { [`${name}.yaml`]: [before[name]] }));
    await createPackage(client, namespace, name, bed().label, { sourceRef: { kind: 'OCIRepository', name }, collisionProtection: 'IfNoOwner' });
    await waitForPackage(client, namespace, name, (p) => isReadyAt(p));
  }
  for (const name of ['web', 'legacy'] as const) {
    const next = await publisher.publish(namespace, name, { [`${name}.yaml`]: [deployment(name, { tier: 'front' })] });
    await setArtifact(client, namespace, name, next);
    await waitForPackage(client, namespace, name, (p) => isReadyAt(p, next.revision));
  }
  const web = await getObject(client, 'apps/v1', 'Deployment', namespace, 'web');
  t.is(web?.metadata?.uid, uid, 'the same Deployment, never recreated');
  t.deepEqual(await podUids(client, namespace, 'web'), pods.web, 'the same Pods');
  t.deepEqual(web?.metadata?.annotations, { 'deployment.kubernetes.io/revision': '1', tier: 'front' });
  const legacy = await getObject(client, 'apps/v1', 'Deployment', namespace, 'legacy');
  t.deepEqual(await podUids(client, namespace, 'legacy'), pods.legacy);
  t.is(legacy?.metadata?.annotations?.team, 'shop', 'without adopt, kubectl\'s client-side apply still owns the field');
});

test('adopt refuses, before writing anything, objects of another Package or controlled by another object', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const namespace = await testNamespace(t, cluster);
  await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mine', namespace }, data: {} });
  await client.create({
    apiVersion: 'v1', kind: 'ConfigMap', data: {},
    metadata: { name: 'theirs', namespace, labels: { 'apply.trellis.dev/package': 'other', 'apply.trellis.dev/package-namespace': namespace } },
  });
  const dir = scratchDir('adopt-refused');
  writeFileSync(join(dir, 'all.yaml'), ['mine', 'theirs'].map((name) => stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: {} })).join('---\n'));
  const term = captureTerminal();
  const code = await runPackageCli(['adopt', 'web', '-f', dir, '-n', namespace],
    { term, env: { KUBECONFIG: cluster.kubeconfigPath }, now: () => new Date(), exit: () => undefined });
  t.is(code, 1);
  t.is(term.stderr(), `error: nothing adopted: configmap/theirs: it belongs to the Package ${namespace}/other\n`);
  t.is((await getObject(client, 'v1', 'ConfigMap', namespace, 'mine'))?.metadata?.labels, undefined);
});
