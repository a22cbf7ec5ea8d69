// A repository laid out the way Flux's guides lay one out — clusters/ with Flux's own
// objects, infrastructure/ with a CRD and its custom resource in separate
// kustomizations, apps/ with a base and a production overlay — installed by Trellis
// as docs/migrating.md says: one GitRepository, one Package per Flux Kustomization,
// dependsOn where Flux had dependsOn.
import { randomBytes } from 'node:crypto';
import anyTest from 'ava';
import { stringify } from 'yaml';
import { withCluster } from '../../support/cluster.ts';
import { withServers } from '../../support/servers.ts';
import { conditionOf, getObject, isReadyAt, waitForPackage } from '../apply-controller/support.ts';
import { gitEstate, useEstateBed } from './support.ts';

const test = withServers(withCluster(anyTest));
const bed = useEstateBed(test);

/** The Flux repository: what `flux bootstrap` and the Flux guides would have committed. */
function fluxRepository(group: string): Record<string, string> {
  const fluxKustomization = (name: string, path: string, dependsOn?: string): object => ({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization',
    metadata: { name, namespace: 'flux-system' },
    spec: { interval: '10m', path, prune: true, sourceRef: { kind: 'GitRepository', name: 'flux-system' }, ...(dependsOn ? { dependsOn: [{ name: dependsOn }] } : {}) },
  });
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `widgets.${group}` },
    spec: {
      group, scope: 'Namespaced', names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  };
  return {
    'clusters/production/flux-system/gotk-sync.yaml': stringify({
      apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'flux-system', namespace: 'flux-system' },
      spec: { interval: '1m', url: 'https://git.example/fleet', ref: { branch: 'main' } },
    }),
    'clusters/production/infrastructure.yaml': [
      stringify(fluxKustomization('infra-crds', './infrastructure/crds')),
      stringify(fluxKustomization('infra-configs', './infrastructure/configs', 'infra-crds')),
    ].join('---\n'),
    'clusters/production/apps.yaml': stringify(fluxKustomization('apps', './apps/production', 'infra-configs')),
    'infrastructure/crds/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [widgets.yaml]\n',
    'infrastructure/crds/widgets.yaml': stringify(crd),
    'infrastructure/configs/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [default-widget.yaml]\n',
    'infrastructure/configs/default-widget.yaml': stringify({ apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'default' }, spec: { size: 3 } }),
    'apps/base/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment.yaml]\n',
    'apps/base/deployment.yaml': stringify({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'podinfo' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'podinfo' } }, template: { metadata: { labels: { app: 'podinfo' } }, spec: { containers: [{ name: 'podinfo', image: 'podinfo:6.5.0' }] } } },
    }),
    'apps/production/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../base]\npatches: [{path: replicas.yaml}]\n',
    'apps/production/replicas.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: podinfo}\nspec: {replicas: 2}\n',
  };
}

test('a Flux-style repository installs with a GitRepository, one Package per Flux Kustomization and dependsOn, in dependency order', async (t) => {
  const group = `estates-${randomBytes(3).toString('hex')}.example.com`;
  const estate = await gitEstate(t, bed(), fluxRepository(group));
  const { client, namespace } = estate;
  t.teardown(async () => {
    await client.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: `widgets.${group}` }).catch(() => undefined);
  });
  // Created in the opposite order on purpose: dependsOn, not creation order, decides.
  await estate.createPackage('apps', { path: './apps/production', prune: true, dependsOn: [{ name: 'infra-configs' }] });
  await estate.createPackage('infra-configs', { path: './infrastructure/configs', prune: true, dependsOn: [{ name: 'infra-crds' }] });
  await estate.createPackage('infra-crds', { path: './infrastructure/crds', prune: true });

  const readyAt: number[] = [];
  for (const name of ['infra-crds', 'infra-configs', 'apps']) {
    const pkg = await waitForPackage(client, namespace, name, (p) => isReadyAt(p), 90_000);
    readyAt.push(Date.parse(conditionOf(pkg, 'Ready')?.lastTransitionTime ?? ''));
  }
  t.true(readyAt[0]! <= readyAt[1]! && readyAt[1]! <= readyAt[2]!, `Ready in dependency order: ${readyAt.join(', ')}`);
  t.like(await getObject(client, `${group}/v1`, 'Widget', namespace, 'default'), { spec: { size: 3 } });
  t.like(await getObject(client, 'apps/v1', 'Deployment', namespace, 'podinfo'), { spec: { replicas: 2 } });
});
