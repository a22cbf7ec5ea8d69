// The checks made before kustomize runs on a kustomization nobody vetted: remote
// bases, plugins, Helm and paths out of the artifact are refused, naming the
// kustomization and the entry; a missing binary is a clear problem, not a crash.
import test from 'ava';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadBundle } from '../../../apply-controller/bundle/load.ts';
import { checkKustomization } from '../../../apply-controller/kustomize/preflight.ts';
import { renderKustomization } from '../../../apply-controller/kustomize/render.ts';
import { defaultKustomizeSettings } from '../../../apply-controller/kustomize/settings.ts';

async function tree(t: { teardown(fn: () => Promise<void>): void }, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'trellis-kustomize-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

const limits = { maxKustomizations: 50 };
const base = {
  'base/kustomization.yaml': 'resources: [cm.yaml]\n',
  'base/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n',
};

test('a local overlay with bases, patches, generators and built-in plugins passes', async (t) => {
  const dir = await tree(t, {
    ...base,
    'overlay/kustomization.yaml': [
      'resources: [../base, extra.yaml]', 'components: [../component]',
      'patches: [{path: patch.yaml}, {patch: "[]", target: {kind: ConfigMap}}]',
      'patchesStrategicMerge: [patch.yaml, "{apiVersion: v1, kind: ConfigMap, metadata: {name: a}}"]',
      'configMapGenerator: [{name: g, files: [key=data.txt], envs: [vars.env]}]',
      'transformers: [labels.yaml]', '',
    ].join('\n'),
    'overlay/extra.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n',
    'overlay/patch.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: y}\n',
    'overlay/data.txt': 'hello', 'overlay/vars.env': 'A=1\n',
    'overlay/labels.yaml': 'apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: l}\nlabels: {team: shop}\nfieldSpecs: [{path: metadata/labels, create: true}]\n',
    'component/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n',
  });
  t.deepEqual(await checkKustomization(dir, 'overlay', limits), []);
});

test('remote bases and resources are refused without being fetched, in every spelling', async (t) => {
  const dir = await tree(t, {
    'k/kustomization.yaml': [
      'resources:',
      '  - https://github.com/example/repo//base?ref=v1',
      '  - github.com/example/repo/base',
      '  - git@github.com:example/repo.git/base',
      '  - ssh://git@example.com/repo.git',
      '  - example.com/some/base',
      'bases: [http://example.com/base.yaml]',
      'components: [https://example.com/c]', '',
    ].join('\n'),
  });
  const problems = await checkKustomization(dir, 'k', limits);
  t.is(problems.length, 7);
  t.true(problems.every((p) => p.reason === 'KustomizeRefused' && p.file === 'k/kustomization.yaml' && p.message.startsWith('k/kustomization.yaml: ')));
  t.true(problems.every((p) => /never fetched/.test(p.message)), problems.map((p) => p.message).join('\n'));
});

test('exec, container and Go plugins are refused, inline or from a file; Helm inflation too', async (t) => {
  const dir = await tree(t, {
    'k/kustomization.yaml': [
      'generators: [gen.yaml]',
      'transformers:',
      '  - |',
      '    apiVersion: builtin',
      '    kind: PrefixTransformer',
      '    metadata:',
      '      name: p',
      '      annotations: {config.kubernetes.io/function: "exec: {path: /bin/sh}"}',
      'validators: [dir]',
      'helmCharts: [{name: x, repo: https://charts.example.com}]', '',
    ].join('\n'),
    'k/gen.yaml': 'apiVersion: example.com/v1\nkind: Generator\nmetadata: {name: g}\n',
    'k/dir/kustomization.yaml': 'resources: []\n',
  });
  const messages = (await checkKustomization(dir, 'k', limits)).map((p) => p.message);
  t.is(messages.length, 4, messages.join('\n'));
  t.true(messages.some((m) => /helmCharts: Helm charts are not inflated/.test(m)));
  t.true(messages.some((m) => /generators: plugin Generator g \(apiVersion example.com\/v1\) is not one of kustomize's built-in plugins/.test(m)));
  t.true(messages.some((m) => /transformers: plugin PrefixTransformer p/.test(m)));
  t.true(messages.some((m) => /validators: "dir" is a folder/.test(m)));
});

test('paths out of the artifact are refused, through ../, absolute paths or a link, in a base too', async (t) => {
  const dir = await tree(t, {
    'a/k/kustomization.yaml': 'resources: [../../../outside, /etc, ../../b]\nconfigMapGenerator: [{name: x, files: [pw=../../../../etc/passwd]}]\n',
    'b/kustomization.yaml': 'resources: [link]\npatches: [{path: ../../x.yaml}]\n',
  });
  await symlink('/etc', join(dir, 'b', 'link'));
  const messages = (await checkKustomization(dir, 'a/k', limits)).map((p) => p.message);
  t.deepEqual(messages, [
    'a/k/kustomization.yaml: resources: "../../../outside" leads outside the artifact',
    'a/k/kustomization.yaml: resources: "/etc" is an absolute path; only paths inside the artifact are read',
    'a/k/kustomization.yaml: configMapGenerator: "../../../../etc/passwd" leads outside the artifact',
    'b/kustomization.yaml: resources: "link" is a symbolic link; links are not followed',
    'b/kustomization.yaml: patches: "../../x.yaml" leads outside the artifact',
  ]);
});

test('a cycle of bases ends; too many kustomizations are refused', async (t) => {
  const dir = await tree(t, {
    'a/kustomization.yaml': 'resources: [../b]\n',
    'b/kustomization.yaml': 'resources: [../a]\n',
  });
  t.deepEqual(await checkKustomization(dir, 'a', limits), []);
  const refused = await checkKustomization(dir, 'a', { maxKustomizations: 1 });
  t.regex(refused[0]?.message ?? '', /more than 1 kustomizations/);
});

test('a missing kustomize binary is a clear problem naming the kustomization and the flag', async (t) => {
  const dir = await tree(t, { ...base });
  const settings = { ...defaultKustomizeSettings({}), binary: join(dir, 'no-such-kustomize') };
  const result = await renderKustomization(dir, 'base', 'base/kustomization.yaml', { settings });
  t.false(result.ok);
  const problem = result.ok ? undefined : result.problems[0];
  t.is(problem?.reason, 'KustomizeNotAvailable');
  t.regex(problem?.message ?? '', /^base\/kustomization\.yaml: .*cannot be run \(ENOENT\).*--kustomize-path/);
  // Through the loader: the path's kustomization is rendered or refused, never read file by file.
  const bundle = await loadBundle(dir, { path: 'base', kustomize: settings });
  t.deepEqual(bundle.objects, []);
  t.deepEqual(bundle.errors.map((e) => e.reason), ['KustomizeNotAvailable']);
});

test('the settings default to TRELLIS_KUSTOMIZE, else kustomize on the PATH', (t) => {
  t.is(defaultKustomizeSettings({}).binary, 'kustomize');
  t.is(defaultKustomizeSettings({ TRELLIS_KUSTOMIZE: '/opt/kustomize' }).binary, '/opt/kustomize');
});

test('a kustomization or plugin configuration that is an alias bomb or too large is refused, not expanded', async (t) => {
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n');
  const dir = await tree(t, {
    'k/kustomization.yaml': `${bomb}\nresources: []\n`,
    'p/kustomization.yaml': 'transformers: [big.yaml]\n',
    'p/big.yaml': `apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: x}\nlabels: {a: "${'x'.repeat(1024 * 1024)}"}\n`,
  });
  const bombed = await checkKustomization(dir, 'k', limits);
  t.is(bombed[0]?.reason, 'InvalidYAML');
  t.regex(bombed[0]?.message ?? '', /^k\/kustomization\.yaml: .*alias/i);
  const big = await checkKustomization(dir, 'p', limits);
  t.regex(big[0]?.message ?? '', /transformers: "big\.yaml" cannot be read: the file is \d+ bytes, more than the limit of 1048576/);
});
