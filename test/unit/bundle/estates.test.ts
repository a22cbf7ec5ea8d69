// Plain folders as repositories hold them: Kubernetes manifests beside package.json,
// Helm values and charts, CI workflows and tsconfig files. The others are skipped
// with a reason, a broken manifest still fails naming its file, and .sourceignore and
// spec.path narrow what is read.
import test from 'ava';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { classifyFile } from '../../../apply-controller/bundle/classify.ts';
import { loadBundle } from '../../../apply-controller/bundle/load.ts';
import { skippedFilesNote } from '../../../apply-controller/bundle/notes.ts';

async function tree(t: { teardown(fn: () => Promise<void>): void }, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'trellis-estates-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

const configMap = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata: {a: b}\n`;

/** The files of an application repository besides its manifests. */
const repositoryClutter: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'web', version: '1.0.0', scripts: { test: 'ava' } }, null, 2),
  'tsconfig.json': '{\n  // comments make this invalid JSON\n  "compilerOptions": {"strict": true}\n}\n',
  'values.yaml': 'replicaCount: 2\nkind: Deployment\nimage:\n  repository: nginx\n',
  'Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.2.3\n',
  'templates/deployment.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.x }}\n  labels: {}\n{{- end }}\n',
  '.github/workflows/ci.yml': 'name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n',
  'docker-compose.yml': 'services:\n  web:\n    image: nginx\n',
  'renovate.json': '{"extends": ["config:base"]}',
  'notes.yaml': 'todo: [unclosed\n',
};

test('a repository folder installs its manifests and skips the rest, saying why', async (t) => {
  const dir = await tree(t, { ...repositoryClutter, 'deploy/web.yaml': configMap('web'), 'deploy/more.json': JSON.stringify(JSON.parse(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'more' } }))) });
  const bundle = await loadBundle(dir);
  t.deepEqual(bundle.errors, []);
  t.deepEqual(bundle.objects.map((o) => `${o.source.file} ${String((o.object.metadata as { name: string }).name)}`), ['deploy/more.json more', 'deploy/web.yaml web']);
  t.deepEqual(bundle.skipped.map((s) => s.file), ['Chart.yaml', 'docker-compose.yml', 'notes.yaml', 'package.json', 'renovate.json', 'templates/', 'tsconfig.json', 'values.yaml']);
  t.regex(bundle.skipped.find((s) => s.file === 'templates/')?.why ?? '', /Helm chart/);
  t.regex(bundle.skipped.find((s) => s.file === 'notes.yaml')?.why ?? '', /not YAML or JSON that parses/);
  t.regex(bundle.skipped.find((s) => s.file === 'values.yaml')?.why ?? '', /no document has apiVersion and kind/);
});

test('a broken manifest still fails, naming its file: bad YAML with apiVersion and kind, or a missing kind', async (t) => {
  const dir = await tree(t, {
    'bad-yaml.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: oops\n',
    'no-kind.yaml': 'apiVersion: v1\nmetadata:\n  name: y\n',
    'ok.yaml': configMap('ok'),
  });
  const bundle = await loadBundle(dir);
  t.deepEqual(bundle.errors.map((e) => `${e.reason} ${e.file}`), ['InvalidYAML bad-yaml.yaml']);
  // The kind-less object is read, and validation (readBundle) reports MissingKind for it.
  t.true(bundle.objects.some((o) => o.source.file === 'no-kind.yaml'));
  t.deepEqual(bundle.skipped, []);
});

test('.sourceignore at the root and in sub-folders leaves files out, gitignore style, each relative to its folder', async (t) => {
  const dir = await tree(t, {
    '.sourceignore': 'scratch/\n*.local.yaml\n',
    'apps/.sourceignore': '/old.yaml\n',
    'apps/web.yaml': configMap('web'),
    'apps/old.yaml': 'broken: [\n',
    'apps/nested/old.yaml': configMap('nested-old'),
    'apps/dev.local.yaml': configMap('dev'),
    'scratch/broken.yaml': 'apiVersion: v1\nkind: ConfigMap\n  : nope\n',
  });
  const whole = await loadBundle(dir);
  t.deepEqual(whole.errors, []);
  t.deepEqual(whole.objects.map((o) => o.source.file), ['apps/nested/old.yaml', 'apps/web.yaml']);
  t.deepEqual(whole.skipped.map((s) => `${s.file}: ${s.why}`), [
    'apps/dev.local.yaml: named in .sourceignore', 'apps/old.yaml: named in .sourceignore', 'scratch/: named in .sourceignore',
  ]);
  // spec.path narrows it further, and the root's ignore file still applies below it.
  const apps = await loadBundle(dir, { path: 'apps' });
  t.deepEqual(apps.objects.map((o) => o.source.file), ['apps/nested/old.yaml', 'apps/web.yaml']);
});

test('node_modules is skipped as a whole, with one note', async (t) => {
  const dir = await tree(t, { 'node_modules/x/package.json': '{}', 'node_modules/x/k.yaml': configMap('k'), 'a.yaml': configMap('a') });
  const bundle = await loadBundle(dir);
  t.deepEqual(bundle.objects.map((o) => o.source.file), ['a.yaml']);
  t.deepEqual(bundle.skipped, [{ file: 'node_modules/', why: 'npm dependencies' }]);
});

test('classifyFile: what counts as a manifest', (t) => {
  t.true(classifyFile(configMap('a'), 'a.yaml').manifest);
  t.true(classifyFile('kind: List\napiVersion: v1\nitems: []\n', 'l.yaml').manifest);
  t.true(classifyFile('apiVersion: v1\nkind: List\nitems: [just-a-string]\n', 'l.yaml').manifest, 'a List with a bad item fails, it is not skipped');
  t.true(classifyFile('---\n# only a comment\n---\n' + configMap('a'), 'a.yaml').manifest, 'an empty document before the object');
  t.true(classifyFile('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},}', 'x.json').manifest, 'broken JSON with both keys');
  t.true(classifyFile('kind: Deployment\nmetadata: {name: x}\n', 'd.yaml').manifest, 'metadata with kind: a manifest missing apiVersion');
  t.false(classifyFile('apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n', 'kustomization.yaml').manifest);
  t.false(classifyFile('apiVersion: v2\nname: chart\n', 'Chart.yaml').manifest);
  t.false(classifyFile('- a\n- b\n', 'list.yaml').manifest);
  t.false(classifyFile('', 'empty.yaml').manifest);
  const template = classifyFile('metadata:\n  name: {{ .Values.name }}\n  {{- include "x" . }}\n', 't.yaml');
  t.false(template.manifest);
  t.regex(template.manifest ? '' : template.why, /template/);
});

test('the Event note names skipped files, at most ten, with how many more', (t) => {
  t.is(skippedFilesNote({ skipped: [] }), undefined);
  t.is(skippedFilesNote({ skipped: [{ file: 'package.json', why: 'no document has apiVersion and kind' }] }),
    '1 file or folder skipped as not Kubernetes objects: package.json (no document has apiVersion and kind)');
  const many = Array.from({ length: 12 }, (_, i) => ({ file: `f${i}.yaml`, why: 'w' }));
  t.regex(skippedFilesNote({ skipped: many }) ?? '', /^12 files or folders skipped .*f9\.yaml \(w\); and 2 more$/);
});
