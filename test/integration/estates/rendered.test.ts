// Manifests rendered in CI, pushed with `trellis push` and installed by the real
// controllers: `helm template` output on standard input (the chart's name and version
// carried into the artifact's annotations), and a Kustomize overlay folder rendered by
// the real kustomize at push time, byte for byte what `kustomize build` prints.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import anyTest from 'ava';
import { parseAllDocuments } from 'yaml';
import type { OCIRepository } from '../../../source-controller/api.ts';
import { runPush, type CommandOutput } from '../../../cli/push.ts';
import { pushCommit } from '../../../hack/git-fixtures.ts';
import { bundleRendered, chartOf } from '../../../packages-cdk8s/build/rendered.ts';
import { extractTarGz } from '../../../runtime/archive.ts';
import { scratchDir, withCluster } from '../../support/cluster.ts';
import { useGitServer, useRegistry, withServers } from '../../support/servers.ts';
import { createPackage, getObject, isReadyAt, releasePackagesOnTeardown, waitForPackage } from '../apply-controller/support.ts';
import { useSourceHarness } from '../source-controller/support.ts';
import { useEstateBed } from './support.ts';
import { statusInventory } from '../../../apply-controller/api.ts';

const test = withServers(withCluster(anyTest));
const bed = useEstateBed(test);
const run = promisify(execFile);
const HELM_OUTPUT = readFileSync(fileURLToPath(new URL('../../fixtures/estates/helm-template-web.yaml', import.meta.url)), 'utf8');

function quiet(): CommandOutput {
  return { stdout: { write: () => true }, stderr: { write: () => true, isTTY: false } };
}

test('helm template output pushed from standard input installs, and the artifact names the chart', async (t) => {
  t.deepEqual(chartOf(HELM_OUTPUT), { name: 'web', version: '0.4.2' });
  const registry = await useRegistry();
  const target = `oci://${registry.host}/charts/web:0.4.2`;
  await runPush('-', target, { insecure: true, reproducible: true }, quiet(), Readable.from([Buffer.from(HELM_OUTPUT)]));

  const h = await useSourceHarness(t);
  const { client, namespace } = h;
  releasePackagesOnTeardown(t, client, namespace);
  await h.createOci('web', { url: `oci://${registry.host}/charts/web`, insecure: true, ref: { semver: '0.4.x' } });
  t.is((await h.reconcile('OCIRepository', 'web')).kind, 'requeue');
  const artifact = (await h.get<OCIRepository>('OCIRepository', 'web'))?.status?.artifact;
  t.like(artifact?.metadata, {
    'dev.trellis.helm.chart.name': 'web', 'dev.trellis.helm.chart.version': '0.4.2', 'org.opencontainers.image.version': '0.4.2',
  });

  await createPackage(client, namespace, 'web', bed().label, { sourceRef: { kind: 'OCIRepository', name: 'web' } });
  const pkg = await waitForPackage(client, namespace, 'web', (p) => isReadyAt(p));
  t.deepEqual(statusInventory(pkg.status).map((e) => e.id), [
    `${namespace}_release-web__ServiceAccount`, `${namespace}_release-web-settings__ConfigMap`, `${namespace}_release-web__Service`,
    `${namespace}_release-web_apps_Deployment`,
  ]);
  t.like(await getObject(client, 'apps/v1', 'Deployment', namespace, 'release-web'), { spec: { replicas: 2 } });
});

test('broken rendered input is refused before anything is pushed, naming the document', async (t) => {
  const registry = await useRegistry();
  const input = `${HELM_OUTPUT}---\n# Source: web/templates/extra.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Name\n`;
  const error = await t.throwsAsync(runPush('-', `oci://${registry.host}/charts/web:0.4.2`, { insecure: true }, quiet(), Readable.from([input])));
  t.regex(error?.message ?? '', /InvalidName: manifests\/rendered\.yaml \(document 5\): ConfigMap Not_A_Name/);
  const plain = await t.throwsAsync(runPush('-', `oci://${registry.host}/plain/x:1.0.0`, { insecure: true }, quiet(), Readable.from(['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n'])));
  t.regex(plain?.message ?? '', /give --name and --package-version/);
});

test('trellis push of an overlay folder renders it with kustomize: the bundle holds what kustomize build prints', async (t) => {
  const files = {
    'base/kustomization.yaml': 'resources: [cm.yaml]\n',
    'base/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {a: "1"}\n',
    'prod/kustomization.yaml': 'resources: [../base]\nnameSuffix: -prod\ncommonLabels: {env: prod}\nconfigMapGenerator: [{name: extra, literals: [b=2]}]\n',
  };
  // The overlay comes from a real clone, as CI would have it.
  const git = await useGitServer();
  await pushCommit(git, 'overlay', { files });
  const checkout = join(scratchDir('overlay-clone'), 'repo');
  await run('git', ['clone', '--quiet', git.repoUrl('overlay'), checkout]);
  const bundle = await bundleRendered({ dir: join(checkout, 'prod') }, { name: 'app', version: '1.0.0', out: join(scratchDir('rendered'), 'b.tgz') });
  const unpacked = scratchDir('rendered-unpacked');
  await extractTarGz(bundle.file, unpacked);
  const inBundle = parseAllDocuments(readFileSync(join(unpacked, 'manifests', 'rendered.yaml'), 'utf8')).map((d) => d.toJS() as unknown);
  const { stdout } = await run(bed().kustomize, ['build', join(checkout, 'prod')]);
  t.deepEqual(inBundle, parseAllDocuments(stdout).map((d) => d.toJS() as unknown));
  t.is(bundle.objects, 2);
});
