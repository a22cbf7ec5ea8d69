// `trellis build` of a package that reads files: `ConfigMap.addFile`,
// `addDirectory`, `fs.readFileSync` and cdk8s' `Include` of a local YAML file.
// The files are embedded in the program bundle, and the bundle renders them in
// the real sandbox through the apply controller's own bundle reader — with the
// package folder gone. The output is the text an in-process synthesis (with the
// real files) gives, and two builds are the same bytes. Escaping paths, missing
// files, too many bytes and URLs fail with a message that says why, and no
// bundle is written.
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { builtinIsNamespaced, readBundle } from '../../../apply-controller/bundle/index.ts';
import { buildBundle } from '../../../packages-cdk8s/build/bundle.ts';
import { MAX_EMBEDDED_BYTES } from '../../../packages-cdk8s/build/embedded-files.ts';
import { PackageBuildError } from '../../../packages-cdk8s/build/errors.ts';
import { isPackageDefinition, render, synth } from '../../../packages-cdk8s/kit/index.ts';
import { extractTarGz } from '../../../runtime/archive.ts';
import { scratchDir } from '../../support/cluster.ts';

const test = anyTest.serial as unknown as TestFn;
const KIT = fileURLToPath(new URL('../../../packages-cdk8s/kit/index.ts', import.meta.url));
const NODE_MODULES = fileURLToPath(new URL('../../../node_modules', import.meta.url));

type Obj = { kind: string; metadata: { name: string; namespace?: string }; data?: Record<string, string>; binaryData?: Record<string, string> };

const NGINX_CONF = 'server { listen 8080; } # ünïcode ✓\n';

const INCLUDED = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: included-sa
---
# YAML 1.1, as cdk8s reads it: 0775 is a string here because it is quoted
apiVersion: v1
kind: ConfigMap
metadata:
  name: included-cm
data:
  mode: "0775"
`;

/** A package folder: package.ts with `files` and `build`, and the files it reads. */
function packageFolder(files: string, build: string, extra: (dir: string) => void = () => undefined): string {
  const dir = scratchDir('files-bundle');
  // Node's own resolution for the in-process synthesis; esbuild finds the kit's packages anyway.
  symlinkSync(NODE_MODULES, join(dir, 'node_modules'));
  writeFileSync(join(dir, 'package.json'), '{"type": "module"}\n');
  mkdirSync(join(dir, 'conf.d'));
  mkdirSync(join(dir, 'manifests'));
  writeFileSync(join(dir, 'nginx.conf'), NGINX_CONF);
  writeFileSync(join(dir, 'conf.d', 'b.conf'), 'b=2\n');
  writeFileSync(join(dir, 'conf.d', 'a.conf'), 'a=1\n');
  writeFileSync(join(dir, 'logo.bin'), Buffer.from([0, 1, 0xff, 0xfe, 0x80]));
  writeFileSync(join(dir, 'manifests', 'extra.yaml'), INCLUDED);
  writeFileSync(join(dir, 'package.ts'), `
import { readFileSync } from 'node:fs';
import { Include } from 'cdk8s';
import { ConfigMap } from 'cdk8s-plus-33';
import { definePackage, value } from ${JSON.stringify(KIT)};
export default definePackage({
  name: 'files', version: '0.1.0',
  files: ${files},
  values: { included: value.boolean({ default: true }) },
  build(app, values) {
    const chart = app.phase('app');
    ${build}
  },
});
`);
  extra(dir);
  return dir;
}

const READS_FILES = `
    const config = new ConfigMap(chart, 'nginx', { metadata: { name: 'nginx' } });
    config.addFile('./nginx.conf');
    config.addDirectory('conf.d', { keyPrefix: 'd-' });
    config.addBinaryData('logo.bin', readFileSync('logo.bin', 'base64'));
    if (values.included) new Include(chart, 'extra', { url: 'manifests/extra.yaml' });`;

test('addFile, addDirectory, readFileSync and Include render from the bundle alone, as the files read in-process', async (t) => {
  const dir = packageFolder(`['nginx.conf', 'conf.d', 'logo.bin', 'manifests/*.yaml']`, READS_FILES);
  const work = scratchDir('files-bundle-out');
  const built = await buildBundle(dir, { out: join(work, 'files.tgz'), workDir: work });
  t.deepEqual(built.files.map((f) => `${f.kind}/${f.name}`), ['ConfigMap/nginx', 'ServiceAccount/included-sa', 'ConfigMap/included-cm']);

  // The same sources, built again: the same bytes.
  const again = await buildBundle(dir, { out: join(work, 'again.tgz'), workDir: work });
  t.is(again.digest, built.digest);

  // Nativeness check first (it needs the folder), then the folder goes: the bundle must not need it.
  const sandboxed = await render(join(dir, 'package.ts'));
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const def: unknown = (await import(pathToFileURL(join(dir, 'package.ts')).href) as { default: unknown }).default;
    t.true(isPackageDefinition(def));
    if (isPackageDefinition(def)) t.is(JSON.stringify(sandboxed), JSON.stringify(synth(def)));
  } finally {
    process.chdir(cwd);
  }
  rmSync(dir, { recursive: true, force: true });

  const unpacked = join(work, 'unpacked');
  await extractTarGz(built.file, unpacked);
  const read = await readBundle(unpacked, { isNamespaced: builtinIsNamespaced, defaultNamespace: 'shop', values: { included: true } });
  t.true(read.ok, read.ok ? '' : read.errors.map((e) => e.message).join('\n'));
  const objects = (read.ok ? read.objects.map((o) => o.object) : []) as Obj[];
  t.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), ['ConfigMap/nginx', 'ServiceAccount/included-sa', 'ConfigMap/included-cm']);
  const nginx = objects[0]!;
  t.deepEqual(nginx.data, { 'd-a.conf': 'a=1\n', 'd-b.conf': 'b=2\n', 'nginx.conf': NGINX_CONF });
  t.deepEqual(nginx.binaryData, { 'logo.bin': Buffer.from([0, 1, 0xff, 0xfe, 0x80]).toString('base64') });
  t.deepEqual(objects[2]!.data, { mode: '0775' });
  t.is(objects[1]!.metadata.namespace, 'shop');

  // Values still decide: without the Include, its objects are gone.
  const without = await readBundle(unpacked, { isNamespaced: builtinIsNamespaced, defaultNamespace: 'shop', values: { included: false } });
  t.deepEqual(without.ok && without.objects.map((o) => (o.object as Obj).metadata.name), ['nginx']);
});

/** Builds `dir` expecting a failure; checks that no tarball was written and returns the error. */
async function buildFails(t: ExecutionContext, dir: string): Promise<PackageBuildError | undefined> {
  const work = scratchDir('files-bundle-out');
  const out = join(work, 'files.tgz');
  const err = await t.throwsAsync(buildBundle(dir, { out, workDir: work }), { instanceOf: PackageBuildError });
  t.false(existsSync(out), 'no bundle is written');
  return err;
}

test('a declared path that leaves the package folder is refused before anything is read', async (t) => {
  const escaping = await buildFails(t, packageFolder(`['nginx.conf', '../secret.env']`, READS_FILES));
  t.regex(escaping?.message ?? '', /files: "\.\.\/secret\.env" leaves the package folder/);

  const outside = scratchDir('files-outside');
  writeFileSync(join(outside, 'secret.env'), 'TOKEN=hunter2');
  const linked = await buildFails(t, packageFolder(`['nginx.conf', 'secret.env']`, READS_FILES,
    (dir) => symlinkSync(join(outside, 'secret.env'), join(dir, 'secret.env'))));
  t.is(linked?.reason, 'InvalidFiles');
  t.regex(linked?.message ?? '', /secret\.env .*symbolic link that leads outside the package folder/);
  t.notRegex(linked?.message ?? '', /hunter2/);
});

test('a missing file, an undeclared one and too many bytes fail with the file named', async (t) => {
  const missing = await buildFails(t, packageFolder(`['nginx.conf', 'crds/*.yaml']`, READS_FILES));
  t.is(missing?.reason, 'InvalidFiles');
  t.regex(missing?.message ?? '', /the pattern "crds\/\*\.yaml" matches no file in the package folder/);

  // Declared nothing: the read in build() fails in the sandbox, saying what to do.
  const undeclared = await buildFails(t, packageFolder('[]', READS_FILES));
  t.is(undeclared?.reason, 'ProgramFailed');
  t.regex(undeclared?.message ?? '', /fs\.readFileSync\("\.\/nginx\.conf"\): not one of the files embedded in this program.*definePackage\(\{ files: \[\.\.\.\] \}\)/);

  const large = await buildFails(t, packageFolder(`['nginx.conf', 'big.txt']`, READS_FILES,
    (dir) => writeFileSync(join(dir, 'big.txt'), Buffer.alloc(MAX_EMBEDDED_BYTES, 'x'))));
  t.is(large?.reason, 'InvalidFiles');
  t.regex(large?.message ?? '', new RegExp(`files are ${MAX_EMBEDDED_BYTES + Buffer.byteLength(NGINX_CONF)} bytes together, more than the ${MAX_EMBEDDED_BYTES} a program may embed; the largest: big\\.txt`));
});

test('Include of a URL fails in the sandbox: a program has no network', async (t) => {
  const err = await buildFails(t, packageFolder('[]', `new Include(chart, 'remote', { url: 'https://example.com/crds.yaml' });`));
  t.is(err?.reason, 'ProgramFailed');
  t.regex(err?.message ?? '', /Include of https:\/\/example\.com\/crds\.yaml: a Trellis program has no network; download the file into the package folder/);
});
