// `trellis build`: a program bundle by default (the program compiled and rendered in
// the sandbox, test/unit/program/ covers the sandbox itself); with `prerendered` the
// package program runs in an isolated child process. The bundle passes the apply
// controller's validation, the tarball is byte-identical for the same sources
// wherever and whenever they are built, and every failure is typed.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { parse } from 'yaml';
import { builtinIsNamespaced, readBundle } from '../../../apply-controller/bundle/index.ts';
import { projectRoot } from '../../../hack/lib/system-tools.ts';
import { buildBundle } from '../../../packages-cdk8s/build/bundle.ts';
import { PackageBuildError } from '../../../packages-cdk8s/build/errors.ts';
import { extractTarGz } from '../../../runtime/archive.ts';
import { scratchDir } from '../../support/cluster.ts';
import { configMapPackage, copyExample, packageRoot, writePackage } from './packages.ts';

const run = promisify(execFile);
const sha256 = (file: string): string => `sha256:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;
const outDir = (): string => mkdtempSync(join(scratchDir('cdk8s-out'), 'o-'));

function touchAll(dir: string, when: Date): void {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isSymbolicLink()) utimesSync(join(entry.parentPath, entry.name), when, when);
  }
}

test('the same sources give a byte-identical tarball in other folders, at other times', async (t) => {
  const a = copyExample(packageRoot(), 'web');
  const b = copyExample(packageRoot(), 'web', 'copy-of-web');
  touchAll(a, new Date('2001-02-03T04:05:06Z'));
  touchAll(b, new Date());
  const first = await buildBundle(a, { out: join(outDir(), 'web.tgz') });
  const second = await buildBundle(b, { out: join(outDir(), 'other-name.tgz') });
  const original = await buildBundle(join(projectRoot, 'packages-cdk8s', 'examples', 'web'), { out: join(outDir(), 'web.tgz') });
  t.is(first.digest, second.digest);
  t.is(first.digest, original.digest);
  t.is(sha256(first.file), first.digest, 'the digest is the sha256 of the file');
  t.true(readFileSync(first.file).equals(readFileSync(second.file)));
  t.is(first.size, statSync(first.file).size);

  // A changed source changes the digest: the equality above is not a constant.
  const changed = copyExample(packageRoot(), 'web');
  const source = join(changed, 'package.ts');
  writeFileSync(source, readFileSync(source, 'utf8').replace("default: 2, minimum: 0", "default: 3, minimum: 0"));
  t.not((await buildBundle(changed, { out: join(outDir(), 'web.tgz') })).digest, first.digest);
});

test('the bundle holds package.yaml, the program and one manifest per object, and the apply controller renders it with values', async (t) => {
  const built = await buildBundle(join(projectRoot, 'packages-cdk8s', 'examples', 'web'), { out: join(outDir(), 'web.tgz') });
  const dir = join(outDir(), 'x');
  await extractTarGz(built.file, dir);
  t.deepEqual(readdirSync(dir, { recursive: true }).map(String).sort(), [
    'manifests', 'manifests/apps', 'manifests/apps/001-deployment-web.yaml', 'manifests/apps/002-service-web.yaml',
    'manifests/config', 'manifests/config/001-configmap-web-content.yaml', 'package.yaml', 'program.js',
  ]);
  t.like(parse(readFileSync(join(dir, 'package.yaml'), 'utf8')), { name: 'web', version: '1.0.0', phases: ['config', 'apps'] });
  const read = await readBundle(dir, {
    isNamespaced: builtinIsNamespaced, defaultNamespace: 'shop', values: { replicas: 4, message: 'Bonjour', ingress: { enabled: true } },
  });
  if (!read.ok) return t.fail(read.errors.map((e) => e.message).join('\n'));
  const deployment = read.objects.find((o) => o.object.kind === 'Deployment')!.object as unknown as { spec: { replicas: unknown }; metadata: { namespace?: string } };
  t.is(deployment.spec.replicas, 4);
  t.is(deployment.metadata.namespace, 'shop');
  const config = read.objects.find((o) => o.object.kind === 'ConfigMap')!.object as unknown as { data: Record<string, string> };
  t.is(config.data['index.html'], '<!doctype html>\n<h1>Bonjour</h1>\n');
  t.deepEqual([...new Set(read.phases.map((s) => s.phase))], ['config', 'apps']);
  t.true(read.objects.some((o) => o.object.kind === 'Ingress'), 'a branch on a value, taken at install time');
  const refused = await readBundle(dir, { isNamespaced: builtinIsNamespaced, defaultNamespace: 'shop', values: { replicas: 'four' } });
  t.false(refused.ok, 'install-time values are checked against the schema the build wrote');
});

test('the CRD example validates its custom resources against the CRD in the bundle', async (t) => {
  const built = await buildBundle(join(projectRoot, 'packages-cdk8s', 'examples', 'with-crd'), { out: join(outDir(), 'crd.tgz') });
  t.is(built.objects, 3);
  t.deepEqual(built.manifest.phases, ['crds', 'widgets']);
});

test('a bundle the apply controller would refuse is not written, and every problem is listed', async (t) => {
  const dir = writePackage(packageRoot(), 'bad', configMapPackage({
    body: `new k8s.KubeService(main, 'svc', { metadata: { name: 'Web_1' }, spec: { ports: [{ port: 80 }] } });
    new k8s.KubeConfigMap(main, 'owned', { metadata: { name: 'owned', ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u' }] } });`,
  }));
  const out = join(outDir(), 'bad.tgz');
  const err = await t.throwsAsync(buildBundle(dir, { out, prerendered: true }), { instanceOf: PackageBuildError });
  t.is(err.reason, 'InvalidBundle');
  t.deepEqual(err.problems.map((p) => p.reason).sort(), ['InvalidName', 'OwnerReferencesSet']);
  t.regex(err.message, /manifests\/main\/002-service-web-1\.yaml: .*Service Web_1/);
  t.false(existsSync(out));
  t.deepEqual(readdirSync(join(out, '..')), [], 'no partial file is left');
});

test('prerendered: the program runs isolated: it cannot write files or start processes, and sees a fixed environment', async (t) => {
  const root = packageRoot();
  const writes = writePackage(root, 'writes', configMapPackage({
    imports: "import { writeFileSync } from 'node:fs';", body: `writeFileSync(${JSON.stringify(join(root, 'leak.txt'))}, 'x');`,
  }));
  const err = await t.throwsAsync(buildBundle(writes, { out: join(outDir(), 'w.tgz'), prerendered: true }), { instanceOf: PackageBuildError });
  t.is(err.reason, 'ProgramFailed');
  t.regex(err.message, /ERR_ACCESS_DENIED|Access to this API has been restricted/);
  t.false(existsSync(join(root, 'leak.txt')));

  const spawns = writePackage(root, 'spawns', configMapPackage({ imports: "import { execSync } from 'node:child_process';", body: "execSync('true');" }));
  t.is((await t.throwsAsync(buildBundle(spawns, { out: join(outDir(), 's.tgz'), prerendered: true }), { instanceOf: PackageBuildError })).reason, 'ProgramFailed');

  const env = writePackage(root, 'env', configMapPackage({
    body: "new k8s.KubeConfigMap(main, 'env', { metadata: { name: 'env' }, data: { keys: Object.keys(process.env).sort().join(',') } });",
  }));
  const built = await buildBundle(env, { out: join(outDir(), 'env.tgz'), prerendered: true });
  const dir = join(outDir(), 'x');
  await extractTarGz(built.file, dir);
  const manifest = parse(readFileSync(join(dir, 'manifests', 'main', '002-configmap-env.yaml'), 'utf8')) as { data: { keys: string } };
  t.is(manifest.data.keys, 'LANG,LC_ALL,PATH,TZ', 'no credentials or settings of the caller leak into the program');
});

test('prerendered: failures are typed: no entry, not a package, a throwing program, a program that never finishes', async (t) => {
  const root = packageRoot();
  const missing = await t.throwsAsync(buildBundle(join(root, 'nothing'), { prerendered: true }), { instanceOf: PackageBuildError });
  t.is(missing.reason, 'EntryNotFound');
  const notPackage = writePackage(root, 'not-a-package', 'export default { name: "x" };\n');
  t.is((await t.throwsAsync(buildBundle(notPackage, { prerendered: true }), { instanceOf: PackageBuildError })).reason, 'NotAPackage');
  const throws = writePackage(root, 'throws', configMapPackage({ body: "throw new Error('no database configured');" }));
  const thrown = await t.throwsAsync(buildBundle(throws, { prerendered: true }), { instanceOf: PackageBuildError });
  t.is(thrown.reason, 'ProgramFailed');
  t.regex(thrown.message, /no database configured \(at .*throws\/package\.ts:\d+:\d+\)/);
  const syntax = writePackage(root, 'syntax', 'export default definePackage({\n');
  t.is((await t.throwsAsync(buildBundle(syntax, { prerendered: true }), { instanceOf: PackageBuildError })).reason, 'ProgramFailed');
  const hangs = writePackage(root, 'hangs', 'for (;;) { /* never returns */ }\n');
  const timeout = await t.throwsAsync(buildBundle(hangs, { timeoutMs: 1500, prerendered: true }), { instanceOf: PackageBuildError });
  t.is(timeout.reason, 'Timeout');
});

test('prerendered: a value used in a computation fails the build, naming the file, object and value', async (t) => {
  const dir = writePackage(packageRoot(), 'computed', configMapPackage({
    body: "new k8s.KubeConfigMap(main, 'loud', { metadata: { name: 'loud' }, data: { loud: values.greeting.toUpperCase() } });",
  }));
  const err = await t.throwsAsync(buildBundle(dir, { out: join(outDir(), 'c.tgz'), prerendered: true }), { instanceOf: PackageBuildError });
  t.is(err.reason, 'ValuesNotPlaceable');
  t.regex(err.message, /manifests\/main\/002-configmap-loud\.yaml: ConfigMap loud at \/data\/loud: .*value \/greeting/);
});

test('prerendered: the program\'s own output is passed on line by line and stays out of the bundle', async (t) => {
  const dir = writePackage(packageRoot(), 'chatty', configMapPackage({ body: "console.log('building greeting'); console.error('careful');" }));
  const lines: string[] = [];
  const built = await buildBundle(dir, { out: join(outDir(), 'chatty.tgz'), prerendered: true, onOutput: (line, stream) => lines.push(`${stream}: ${line}`) });
  t.true(lines.includes('stdout: building greeting'));
  t.true(lines.includes('stderr: careful'));
  t.is(built.objects, 1);
});

test('the trellis build command prints the digest on stdout and fails with a readable error', async (t) => {
  const cli = join(projectRoot, 'cli', 'trellis.ts');
  const out = join(outDir(), 'web.tgz');
  const ok = await run(process.execPath, [cli, 'build', join(projectRoot, 'packages-cdk8s', 'examples', 'web'), '-o', out], { cwd: outDir() });
  t.is(ok.stdout.trim(), sha256(out));
  t.regex(ok.stderr, /built web 1\.0\.0: 3 objects in 2 phases, a program -> /);
  const failed = await t.throwsAsync<Error & { code: number; stderr: string }>(run(process.execPath, [cli, 'build', join(outDir(), 'empty')], { cwd: outDir() }));
  t.is(failed?.code, 1);
  t.regex(failed?.stderr ?? '', /^error: .*package\.ts does not exist/m);
  t.notRegex(failed.stderr, /at .*\.ts:\d+/, 'no stack trace');
});
