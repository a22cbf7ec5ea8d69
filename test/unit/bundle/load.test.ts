// loadBundle: a plain folder or a Trellis bundle from an artifact directory, in a
// stable order, every object remembering where it came from.
import test from 'ava';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBundle, type LoadedBundle } from '../../../apply-controller/bundle/load.ts';
import { FAST_PATH_MIN_LENGTH, parseManifests } from '../../../apply-controller/bundle/parse.ts';

const fixtures = fileURLToPath(new URL('../../fixtures/bundles', import.meta.url));

/** `file#document[.item] Kind name` for each object, in load order. */
function listing(bundle: LoadedBundle): string[] {
  return bundle.objects.map(({ object, source }) => {
    const name = (object.metadata as { name?: string } | undefined)?.name;
    return `${source.file}#${source.document}${source.item === undefined ? '' : `.${source.item}`} ${String(object.kind)} ${name}`;
  });
}

async function scratch(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'trellis-bundle-load-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a plain folder is read recursively: files in sorted path order, then document order, Lists flattened', async (t) => {
  const bundle = await loadBundle(fixtures, { path: 'plain' });
  t.is(bundle.format, 'plain');
  t.is(bundle.manifest, undefined);
  t.is(bundle.manifestsDir, 'plain');
  t.deepEqual(bundle.errors, []);
  t.deepEqual(listing(bundle), [
    'plain/apps/web.yaml#0 Deployment web',
    'plain/apps/web.yaml#1 Service web',
    'plain/apps/web.yaml#3 ConfigMap web-config',
    'plain/apps/worker/worker.yml#0 Deployment worker',
    'plain/base/namespace.yaml#0 Namespace shop',
    'plain/base/rbac-list.yaml#0.0 ServiceAccount web',
    'plain/base/rbac-list.yaml#0.1 Role web-reader',
    'plain/base/rbac-list.yaml#0.2 RoleBinding web-reader',
    // "-" sorts before "." in code-unit order: the same on every machine and locale.
    'plain/crds/widget-sample.yaml#0 Widget sample',
    'plain/crds/widget.json#0 CustomResourceDefinition widgets.example.com',
  ]);
});

test('hidden files and folders and non-manifest files are not read', async (t) => {
  const bundle = await loadBundle(fixtures, { path: 'plain' });
  const files = new Set(bundle.objects.map((o) => o.source.file));
  t.false([...files].some((f) => f.includes('/.') || f.endsWith('.md') || f.endsWith('.txt')));
  // Read, .github/ci.yaml would be a kind-less object and .hidden.yaml a ConfigMap;
  // the first test also shows no problem was reported for either.
  t.false(bundle.objects.some((o) => (o.object.metadata as { name?: string } | undefined)?.name === 'hidden-must-not-load'));
});

test('a JSON manifest is read like YAML, keeping its types', async (t) => {
  const bundle = await loadBundle(fixtures, { path: 'plain' });
  const crd = bundle.objects.find((o) => o.source.file === 'plain/crds/widget.json');
  t.truthy(crd);
  t.deepEqual((crd?.object.spec as { names: unknown }).names, { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' });
});

test('a package.yaml makes a Trellis bundle: its manifest is validated and only its manifests folder is read', async (t) => {
  const bundle = await loadBundle(fixtures, { path: 'trellis' });
  t.deepEqual(bundle.errors, []);
  t.is(bundle.format, 'trellis');
  t.is(bundle.manifest?.name, 'web');
  t.is(bundle.manifest?.version, '1.4.0');
  t.deepEqual(bundle.manifest?.phases, ['crds', 'config', 'apps']);
  t.is(bundle.manifestsDir, 'trellis/manifests');
  t.deepEqual(listing(bundle), [
    'trellis/manifests/apps/web.yaml#0 Service web',
    'trellis/manifests/apps/web.yaml#1 Deployment web',
    'trellis/manifests/apps/widget.yaml#0 Widget sample',
    'trellis/manifests/config.yaml#0 ConfigMap web-config',
    'trellis/manifests/config.yaml#1 Secret web-token',
    'trellis/manifests/crds/widget.yaml#0 CustomResourceDefinition widgets.example.com',
    'trellis/manifests/unphased.yaml#0 ServiceAccount web-bot',
    'trellis/manifests/unphased.yaml#1 ClusterRole web-viewer',
  ]);
});

test('spec.path is normalized, and a path that leaves the artifact or does not exist is refused', async (t) => {
  const reference = listing(await loadBundle(fixtures, { path: 'plain' }));
  for (const path of ['./plain', 'plain/', '/plain', 'plain/apps/..']) {
    t.deepEqual(listing(await loadBundle(fixtures, { path })), reference, path);
  }
  for (const [path, message] of [
    ['../bundles/plain', 'path "../bundles/plain" is outside the artifact'],
    ['plain/../../x', 'path "plain/../../x" is outside the artifact'],
    ['no-such-folder', 'path "no-such-folder" is not a folder in the artifact'],
    ['plain/README.md', 'path "plain/README.md" is not a folder in the artifact'],
  ] as const) {
    const bundle = await loadBundle(fixtures, { path });
    t.deepEqual(bundle.objects, [], path);
    t.deepEqual(bundle.errors.map((p) => [p.reason, p.message]), [['PathNotFound', message]], path);
  }
});

test('symbolic links are never followed: a linked manifest and a linked path out of the artifact are refused', async (t) => {
  const outside = await scratch(t);
  await writeFile(join(outside, 'secret.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: outside}\n');
  const artifact = await scratch(t);
  await mkdir(join(artifact, 'app'));
  await writeFile(join(artifact, 'app', 'real.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: real}\n');
  await symlink(join(outside, 'secret.yaml'), join(artifact, 'app', 'linked.yaml'));
  await symlink(outside, join(artifact, 'escape'));

  const bundle = await loadBundle(artifact, { path: 'app' });
  t.deepEqual(listing(bundle), ['app/real.yaml#0 ConfigMap real']);
  t.deepEqual(bundle.errors.map((p) => p.message), ['app/linked.yaml: manifest files must not be symbolic links']);

  const escaped = await loadBundle(artifact, { path: 'escape' });
  t.deepEqual(escaped.objects, []);
  t.is(escaped.errors[0]?.reason, 'PathNotFound');
});

test('a manifest larger than maxFileBytes is reported and not parsed', async (t) => {
  const bundle = await loadBundle(fixtures, { path: 'plain', maxFileBytes: 200 });
  const tooLarge = bundle.errors.filter((p) => p.reason === 'FileTooLarge').map((p) => p.file);
  t.true(tooLarge.includes('plain/apps/web.yaml'));
  t.false(bundle.objects.some((o) => o.source.file === 'plain/apps/web.yaml'));
  t.true(bundle.objects.some((o) => o.source.file === 'plain/base/namespace.yaml'), 'small files are still read');
});

test('a Trellis bundle whose manifests folder is missing is reported', async (t) => {
  const dir = await scratch(t);
  await writeFile(join(dir, 'package.yaml'), 'apiVersion: apply.trellis.dev/v1alpha1\nkind: PackageManifest\nname: x\nversion: 1.0.0\nmanifests: out\n');
  const bundle = await loadBundle(dir);
  t.is(bundle.format, 'trellis');
  t.deepEqual(bundle.errors.map((p) => p.message), ['package.yaml: the manifests folder "out" does not exist']);
});

test('an invalid package.yaml is reported and the manifests are still read, so all problems come out in one pass', async (t) => {
  const bundle = await loadBundle(fixtures, { path: 'bad-manifest' });
  t.is(bundle.format, 'trellis');
  t.is(bundle.manifest, undefined);
  t.true(bundle.errors.length > 0);
  t.true(bundle.errors.every((p) => p.reason === 'InvalidPackageManifest' && p.file === 'bad-manifest/package.yaml'));
  t.deepEqual(listing(bundle), ['bad-manifest/manifests/app.yaml#0 ConfigMap app']);
});

test('package.yaml with a YAML error is reported with its position', async (t) => {
  const dir = await scratch(t);
  await writeFile(join(dir, 'package.yaml'), 'apiVersion: apply.trellis.dev/v1alpha1\nkind: PackageManifest\nname: x\nname: y\n');
  await mkdir(join(dir, 'manifests'));
  const bundle = await loadBundle(dir);
  t.deepEqual(bundle.errors.map((p) => p.message), ['package.yaml: line 4, column 1: Map keys must be unique']);
});

test('manifests: "." reads the bundle root itself, without taking package.yaml for a manifest', async (t) => {
  const dir = await scratch(t);
  await writeFile(join(dir, 'package.yaml'), 'apiVersion: apply.trellis.dev/v1alpha1\nkind: PackageManifest\nname: x\nversion: 1.0.0\nmanifests: .\n');
  await writeFile(join(dir, 'config.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
  const bundle = await loadBundle(dir);
  t.deepEqual(bundle.errors, []);
  t.is(bundle.manifestsDir, '.');
  t.deepEqual(listing(bundle), ['config.yaml#0 ConfigMap c']);
});

test('a package of many small files (read ahead, and by the fast parser once they add up): the objects, sources and problems of file-by-file yaml parsing', async (t) => {
  const dir = await scratch(t);
  const expected: { objects: unknown[]; errors: unknown[] } = { objects: [], errors: [] };
  const files: [string, string][] = [];
  for (let i = 0; i < 120; i++) {
    const name = `cm-${String(i).padStart(3, '0')}`;
    files.push([`apps/${name}.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  config: |\n${'    line of text\n'.repeat(60)}`]);
  }
  // What the fast parser declines (an alias, a stray document end, a syntax error) takes the yaml path as before.
  files.push(['apps/alias.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: alias\ndata: &d\n  a: "1"\nbinaryData: *d\n']);
  files.push(['apps/ended.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ended\n...\n']);
  files.push(['apps/broken.yaml', 'apiVersion: v1\nkind: [ConfigMap\n']);
  for (const [file, text] of files) {
    await mkdir(join(dir, file, '..'), { recursive: true });
    await writeFile(join(dir, file), text);
  }
  t.true(files.reduce((n, [, text]) => n + text.length, 0) > FAST_PATH_MIN_LENGTH, 'the files add up to the fast path\'s threshold');
  for (const [file, text] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    t.true(text.length < FAST_PATH_MIN_LENGTH);
    const parsed = parseManifests(text, file, {}, false);
    expected.objects.push(...parsed.objects);
    expected.errors.push(...parsed.errors);
  }
  const bundle = await loadBundle(dir);
  t.deepEqual(bundle.objects, expected.objects);
  t.deepEqual(bundle.errors, expected.errors);
  t.true(bundle.errors.some((e) => e.file === 'apps/broken.yaml'), 'the broken file is reported with its position');
});
