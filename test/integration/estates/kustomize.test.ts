// Existing estates from the real Git server, applied by the real Package controller:
// a repository whose manifests sit beside package.json, Helm files and CI workflows;
// a Kustomize overlay rendered by the real kustomize binary, installing exactly what
// `kustomize build` prints; and overlays that ask for the network, a plugin or a file
// outside the repository, refused before anything is written.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import anyTest from 'ava';
import { parseAllDocuments } from 'yaml';
import { builtinIsNamespaced, readBundle } from '../../../apply-controller/bundle/index.ts';
import { statusInventory, planPackage, type Package } from '../../../apply-controller/index.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { withServers } from '../../support/servers.ts';
import { adminClient, conditionOf, eventsAbout, getObject, isReadyAt, isStalled, waitForPackage } from '../apply-controller/support.ts';
import { gitEstate, isSubset, useEstateBed } from './support.ts';

const test = withServers(withCluster(anyTest));
const bed = useEstateBed(test);
const run = promisify(execFile);

const configMap = (name: string, data: Record<string, string> = { from: 'git' }): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n${Object.entries(data).map(([k, v]) => `  ${k}: "${v}"`).join('\n')}\n`;

test('a repository with manifests beside package.json, values.yaml, CI workflows and a Chart.yaml installs; the rest is announced as skipped', async (t) => {
  const estate = await gitEstate(t, bed(), {
    '.sourceignore': 'drafts/\n',
    'app/package.json': '{"name": "shop", "version": "1.0.0", "private": true}\n',
    'app/tsconfig.json': '{\n  // strict, as always\n  "compilerOptions": {"strict": true}\n}\n',
    'app/values.yaml': 'replicaCount: 3\nimage:\n  tag: "1.27"\n',
    'app/Chart.yaml': 'apiVersion: v2\nname: shop\nversion: 0.1.0\n',
    'app/templates/configmap.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n',
    'app/.github/workflows/ci.yml': 'name: ci\non: [push]\njobs:\n  test: {runs-on: ubuntu-latest, steps: [{run: npm test}]}\n',
    'app/drafts/half-written.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n',
    'app/README.md': '# shop\n',
    'app/deploy/settings.yaml': configMap('settings'),
    'app/deploy/more/limits.json': JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'limits' }, data: { max: '3' } }),
    'broken/fine.yaml': configMap('fine'),
    'broken/bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n data: {}\n',
  });
  const { client, namespace } = estate;
  await estate.createPackage('shop', { path: './app' });
  await estate.createPackage('broken', { path: './broken' });

  const shop = await waitForPackage(client, namespace, 'shop', (p) => isReadyAt(p));
  t.deepEqual(statusInventory(shop.status).map((e) => e.id), [`${namespace}_limits__ConfigMap`, `${namespace}_settings__ConfigMap`]);
  t.like(await getObject(client, 'v1', 'ConfigMap', namespace, 'limits'), { data: { max: '3' } });
  const skipped = (await eventsAbout(client, namespace, 'shop')).find((e) => e.reason === 'FilesSkipped');
  t.is(skipped?.type, 'Normal');
  t.is(skipped?.note, '6 files or folders skipped as not Kubernetes objects: app/Chart.yaml (no document has apiVersion and kind); '
    + 'app/drafts/ (named in .sourceignore); app/package.json (no document has apiVersion and kind); '
    + 'app/templates/ (part of a Helm chart: render it with helm template in CI and push the output); '
    + 'app/tsconfig.json (no document has apiVersion and kind); app/values.yaml (no document has apiVersion and kind)');

  // A broken real manifest still fails the revision, naming the file, and nothing of it is written.
  const broken = await waitForPackage(client, namespace, 'broken', (p) => isStalled(p));
  t.is(conditionOf(broken, 'Stalled')?.reason, 'InvalidYAML');
  t.regex(conditionOf(broken, 'Ready')?.message ?? '', /broken\/bad\.yaml: line 5/);
  t.is(await getObject(client, 'v1', 'ConfigMap', namespace, 'fine'), undefined);
});

/** A base and a production overlay using each kind of Kustomize feature the issue names. */
const overlay: Record<string, string> = {
  'apps/base/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment.yaml, service.yaml]\n',
  'apps/base/deployment.yaml': [
    'apiVersion: apps/v1', 'kind: Deployment', 'metadata: {name: web}', 'spec:', '  replicas: 1', '  selector: {matchLabels: {app: web}}',
    '  template:', '    metadata: {labels: {app: web}}', '    spec:', '      containers:', '        - name: web', '          image: nginx:1.25',
    '          envFrom: [{configMapRef: {name: settings}}]', '',
  ].join('\n'),
  'apps/base/service.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80, protocol: TCP}]\n',
  'apps/production/kustomization.yaml': [
    'apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', 'namePrefix: prod-', 'resources: [../base]',
    'patches:', '  - path: replicas.yaml',
    '  - target: {kind: Service, name: web}', '    patch: |-', '      - op: add', '        path: /metadata/annotations',
    '        value: {team: shop}',
    'configMapGenerator:', '  - name: settings', '    literals: [MODE=production, LEVEL=3]',
    'images:', '  - name: nginx', '    newTag: "1.27"', '',
  ].join('\n'),
  'apps/production/replicas.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 2}\n',
};

/** What the real `kustomize build` prints for `path` of `files`. */
async function kustomizeBuild(binary: string, files: Record<string, string>, path: string): Promise<KubeObject[]> {
  const dir = scratchDir('kustomize-build');
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  const { stdout } = await run(binary, ['build', join(dir, path)]);
  return parseAllDocuments(stdout).map((d) => d.toJS() as KubeObject).filter((o) => o !== null);
}

test('a Kustomize overlay with a base, patches, a generator, images and namePrefix installs exactly what kustomize build prints', async (t) => {
  const estate = await gitEstate(t, bed(), overlay);
  const { client, namespace } = estate;
  const expected = await kustomizeBuild(bed().kustomize, overlay, 'apps/production');
  // The generator's name carries a hash of its content, and the Deployment refers to it by that name.
  t.deepEqual(expected.map((o) => `${o.kind}/${(o.metadata?.name ?? '').replace(/-[a-z0-9]{10}$/, '-<hash>')}`),
    ['ConfigMap/prod-settings-<hash>', 'Service/prod-web', 'Deployment/prod-web']);

  await estate.createPackage('web', { path: './apps/production' });
  const web = await waitForPackage(client, namespace, 'web', (p) => isReadyAt(p) || isStalled(p));
  t.true(isReadyAt(web), conditionOf(web, 'Ready')?.message);
  const groupOf = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.split('/')[0] ?? '' : '');
  t.deepEqual(statusInventory(web.status).map((e) => e.id).sort(),
    expected.map((o) => `${namespace}_${o.metadata?.name ?? ''}_${groupOf(o.apiVersion ?? '')}_${o.kind ?? ''}`).sort());
  for (const object of expected) {
    const live = await getObject(client, object.apiVersion ?? '', object.kind ?? '', namespace, object.metadata?.name ?? '');
    t.true(isSubset(object, live), `${object.kind}/${object.metadata?.name}: the live object holds every rendered field`);
  }
  const deployment = await getObject(client, 'apps/v1', 'Deployment', namespace, 'prod-web');
  t.like(deployment, { spec: { replicas: 2 } });
  t.is((deployment?.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]?.image, 'nginx:1.27');
});

test('an overlay asking for a remote base, an exec plugin or a file outside the repository is refused before anything is written', async (t) => {
  const local = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: local}\ndata: {a: b}\n';
  const estate = await gitEstate(t, bed(), {
    'remote/kustomization.yaml': 'resources:\n  - local.yaml\n  - https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.6.0\n',
    'remote/local.yaml': local,
    'plugin/kustomization.yaml': [
      'resources: [local.yaml]', 'generators:', '  - |-', '    apiVersion: example.com/v1', '    kind: Shell',
      '    metadata:', '      name: run', '      annotations:', '        config.kubernetes.io/function: |', '          exec:',
      '            path: /bin/sh', '',
    ].join('\n'),
    'plugin/local.yaml': local,
    'outside/kustomization.yaml': 'resources: [local.yaml, ../../../../../etc]\n',
    'outside/local.yaml': local,
    'failing/kustomization.yaml': 'resources: [local.yaml]\npatches: [{path: missing-target.yaml}]\n',
    'failing/local.yaml': local,
    'failing/missing-target.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: nowhere}\nspec: {replicas: 2}\n',
    'invalid/kustomization.yaml': 'resources: [local.yaml, bad.yaml]\nnamePrefix: x-\n',
    'invalid/local.yaml': local,
    'invalid/bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n',
  });
  const { client, namespace } = estate;
  for (const name of ['remote', 'plugin', 'outside']) await estate.createPackage(name, { path: `./${name}` });
  const messages: Record<string, string> = {};
  for (const name of ['remote', 'plugin', 'outside']) {
    const pkg = await waitForPackage(client, namespace, name, (p) => isStalled(p));
    t.is(conditionOf(pkg, 'Stalled')?.reason, 'KustomizeRefused', name);
    messages[name] = conditionOf(pkg, 'Ready')?.message ?? '';
    t.is(pkg.status?.currentRevision, undefined, `${name}: no revision was recorded`);
  }
  t.regex(messages.remote ?? '', /remote\/kustomization\.yaml: resources: "https:\/\/github\.com\/.*" is a remote location; remote bases and resources are never fetched/);
  t.regex(messages.plugin ?? '', /plugin\/kustomization\.yaml: generators: plugin Shell run \(apiVersion example\.com\/v1\) is not one of kustomize's built-in plugins/);
  t.regex(messages.outside ?? '', /outside\/kustomization\.yaml: resources: "\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc" leads outside the artifact/);
  // kustomize's own failure, and a rendered object that fails validation, name the kustomization (and the object).
  for (const name of ['failing', 'invalid']) await estate.createPackage(name, { path: `./${name}` });
  const failing = await waitForPackage(client, namespace, 'failing', (p) => isStalled(p));
  t.is(conditionOf(failing, 'Stalled')?.reason, 'KustomizeFailed');
  t.regex(conditionOf(failing, 'Ready')?.message ?? '', /^failing\/kustomization\.yaml: kustomize build failed: .*nowhere/);
  t.notRegex(conditionOf(failing, 'Ready')?.message ?? '', /\/tmp\/|apply-cache/, 'no absolute paths of the controller');
  const invalid = await waitForPackage(client, namespace, 'invalid', (p) => isStalled(p));
  t.is(conditionOf(invalid, 'Stalled')?.reason, 'InvalidName');
  t.regex(conditionOf(invalid, 'Ready')?.message ?? '', /^invalid\/kustomization\.yaml( \(document \d\))?: ConfigMap [^ ]*\/x-Bad_Name: metadata\.name "x-Bad_Name"/);
  const { items } = await client.list<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap', namespace });
  t.deepEqual(items.map((c) => c.metadata?.name).filter((n) => n !== 'kube-root-ca.crt'), []);
});

test('a package.yaml beside a kustomization: values land in the rendered objects and a patch can set phases', async (t) => {
  const dir = scratchDir('kustomize-package');
  const files: Record<string, string> = {
    'web/package.yaml': [
      'apiVersion: apply.trellis.dev/v1alpha1', 'kind: PackageManifest', 'name: web', 'version: 1.0.0', 'phases: [config]', 'manifests: .',
      'values:', '  schema:', '    type: object', '    properties: {greeting: {type: string, default: hello}}',
      '  placements:', '    - {value: /greeting, file: kustomization.yaml, object: {kind: ConfigMap, name: web-settings}, path: /data/greeting}', '',
    ].join('\n'),
    'web/kustomization.yaml': 'namePrefix: web-\nresources: [settings.yaml]\ncommonAnnotations: {apply.trellis.dev/phase: config}\n',
    'web/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {greeting: hello}\n',
  };
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  const read = await readBundle(dir, { path: 'web', isNamespaced: builtinIsNamespaced, defaultNamespace: 'shop', values: { greeting: 'hi' } });
  t.true(read.ok, read.ok ? '' : read.errors.map((e) => e.message).join('\n'));
  if (!read.ok) return;
  t.deepEqual(read.rendered, ['web/kustomization.yaml']);
  t.deepEqual(read.phases.map((s) => `${s.phase}: ${s.objects.map((o) => o.id).join(', ')}`), ['config: shop_web-settings__ConfigMap']);
  t.like(read.objects[0]?.object, { data: { greeting: 'hi' } });
});

test('kubectl package diff plans an overlay with the same rendering: what a Package of it would create', async (t) => {
  const cluster = await useCluster();
  const namespace = await testNamespace(t, cluster);
  const dir = scratchDir('kustomize-plan');
  for (const [file, text] of Object.entries(overlay)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  const pkg: Package = {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name: 'web', namespace },
    spec: { sourceRef: { kind: 'GitRepository', name: 'repo' }, path: './apps/production' } as Package['spec'],
  };
  const plan = await planPackage(pkg, { client: adminClient(cluster), source: { dir } });
  const expected = await kustomizeBuild(bed().kustomize, overlay, 'apps/production');
  t.deepEqual(plan.changes.map((c) => `${c.action} ${c.id}`).sort(),
    expected.map((o) => `create ${namespace}_${o.metadata?.name ?? ''}_${o.kind === 'Deployment' ? 'apps' : ''}_${o.kind ?? ''}`).sort());
});
