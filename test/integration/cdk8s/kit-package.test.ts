// The kit as an npm package (`npm run build:kit`), used the way a package outside
// this repository uses it: `trellis init --kit package` scaffolds a package that
// depends on @trellis/cdk8s-kit by version; the tarball of `npm pack` is installed
// with real npm, offline (the other dependencies come from npm's cache at the
// checkout's versions); `tsc` type-checks the package against the kit's
// declarations, and refuses a wrong one; the kit's test helper renders the package
// in the QuickJS sandbox that the installed package carries; and `trellis build`
// from the checkout compiles the package with the installed kit.
import { execFile } from 'node:child_process';
import { readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { initPackage, KIT_PACKAGE } from '../../../cli/init.ts';
import { buildKitPackage, packKitPackage } from '../../../hack/build-kit.ts';
import { projectRoot } from '../../../hack/lib/system-tools.ts';
import { buildBundle } from '../../../packages-cdk8s/build/bundle.ts';
import { scratchDir } from '../../support/cluster.ts';
import { offlineInstallFiles } from './offline-lockfile.ts';

const run = promisify(execFile);

/** The exit status and output of a command that may fail. */
async function outcome(file: string, args: readonly string[], cwd: string): Promise<{ status: number; output: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, maxBuffer: 16 * 1024 * 1024 });
    return { status: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Renders the scaffold with the installed kit's `render` (the sandbox) and `synth` (in process); prints JSON. */
const RENDER_CHECK = `import { render, synth } from '${KIT_PACKAGE}';
import shop from './package.ts';

const values = { replicas: 3, ingress: { enabled: true, host: 'shop.test' }, config: { app: { 'app.conf': 'x=1' } } };
const rendered = await render(new URL('./package.ts', import.meta.url), values);
const refused = await render(new URL('./package.ts', import.meta.url), { replicas: -1 }).then(() => 'accepted', (e) => String(e));
const escaped = await render(new URL('./escape.ts', import.meta.url)).then(() => 'rendered', (e) => String(e));
process.stdout.write(JSON.stringify({ kit: import.meta.resolve('${KIT_PACKAGE}'), rendered, synthesized: synth(shop, values), refused, escaped }));
`;

/** A package that reads a file while it builds: Node would let it, the sandbox does not. */
const ESCAPE = `import { readFileSync } from 'node:fs';
import { definePackage } from '${KIT_PACKAGE}';

export default definePackage({
  name: 'escape', version: '1.0.0', values: {},
  build(app) {
    app.phase('apps').node.addMetadata('host', readFileSync('/etc/hostname', 'utf8'));
  },
});
`;

/** A package whose code gives a number where a string is wanted. */
const WRONG = `import { definePackage, value } from '${KIT_PACKAGE}';

export default definePackage({
  name: 'wrong', version: '1.0.0',
  values: { replicas: value.integer({ default: 2 }) },
  build(app, values) {
    const name: string = values.replicas;
    app.phase(name);
  },
});
`;

interface Rendered {
  readonly kit: string;
  readonly rendered: Record<string, unknown>[];
  readonly synthesized: Record<string, unknown>[];
  readonly refused: string;
  readonly escaped: string;
}

test('installed from its tarball outside the checkout, the kit type-checks a package and renders it in the sandbox', async (t) => {
  t.timeout(4 * 60_000);
  const work = scratchDir('kit-package');
  t.true(relative(projectRoot, realpathSync(work)).startsWith('..'), 'the consumer lives outside the checkout');

  const built = await buildKitPackage(join(work, 'kit'));
  const { manifest } = built;
  t.is(manifest.name, KIT_PACKAGE);
  t.like(manifest, { type: 'module', exports: { '.': { types: './types/packages-cdk8s/kit/index.d.ts', node: './packages-cdk8s/lib/index.js' } } });
  t.deepEqual(Object.keys(manifest.peerDependencies).sort(), ['cdk8s', 'cdk8s-plus-33', 'constructs']);
  for (const name of ['quickjs-emscripten', '@jitl/quickjs-wasmfile-release-sync', 'esbuild']) t.truthy(manifest.dependencies[name], `${name} is a dependency`);
  t.false(JSON.stringify(manifest).includes(projectRoot), 'nothing points into the checkout');
  t.deepEqual(built.files.filter((f) => /^(hack|test|bench)\//.test(f)), []);
  for (const file of ['packages-cdk8s/lib/index.js', 'packages-cdk8s/lib/worker.js', 'packages-cdk8s/kit/sandbox/kit.ts', 'types/packages-cdk8s/kit/index.d.ts']) {
    t.true(built.files.includes(file), `the package has ${file}`);
  }

  const dir = join(work, 'shop');
  await initPackage('shop', dir, 'package');
  const scaffolded = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  t.is(scaffolded.dependencies[KIT_PACKAGE], `^${manifest.version}`, 'the scaffold depends on the kit by version');
  t.regex(readFileSync(join(dir, 'package.ts'), 'utf8'), /from '@trellis\/cdk8s-kit'/);

  // npm installs the tarball as `npm install <tarball>` would, and nothing from the network.
  const tarball = await packKitPackage(built.dir, dir);
  const files = offlineInstallFiles(join(projectRoot, 'package-lock.json'), readFileSync(join(dir, 'package.json'), 'utf8'), [{ file: tarball, manifest }]);
  writeFileSync(join(dir, 'package.json'), files.packageJson);
  writeFileSync(join(dir, 'package-lock.json'), files.lockfile);
  const installed = await outcome('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], dir);
  t.is(installed.status, 0, `npm ci --offline failed:\n${installed.output}`);

  const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
  const typed = await outcome(process.execPath, [tsc, '-p', dir], dir);
  t.is(typed.status, 0, `the scaffold does not type-check against the kit's declarations:\n${typed.output}`);
  writeFileSync(join(dir, 'wrong.ts'), WRONG);
  const wrong = await outcome(process.execPath, [tsc, '-p', dir], dir);
  t.not(wrong.status, 0);
  t.regex(wrong.output, /^wrong\.ts\(7,11\): error TS2322: Type 'number' is not assignable to type 'string'\.$/m);
  t.deepEqual(wrong.output.trim().split('\n').filter((line) => /error TS/.test(line) && !line.startsWith('wrong.ts')), [], 'only the wrong program fails');
  rmSync(join(dir, 'wrong.ts'));

  // The scaffold's own test, as written: it renders through the installed kit's sandbox.
  const own = await outcome(process.execPath, ['--test', 'package.test.ts'], dir);
  t.is(own.status, 0, own.output);
  t.regex(own.output, /pass 3/);

  // `trellis build` from this checkout takes the installed kit too (type-checked, as the CLI does).
  const bundle = await buildBundle(dir, { out: join(work, 'shop.tgz'), typecheck: true });
  t.is(bundle.manifest.name, 'shop');
  t.truthy(bundle.manifest.program);
  t.deepEqual(bundle.files.map((f) => f.kind), ['Deployment', 'Service']);

  writeFileSync(join(dir, 'escape.ts'), ESCAPE);
  writeFileSync(join(dir, 'render-check.ts'), RENDER_CHECK);
  const checked = await outcome(process.execPath, ['render-check.ts'], dir);
  t.is(checked.status, 0, checked.output);
  const result = JSON.parse(checked.output) as Rendered;
  t.true(result.kit.startsWith(`file://${realpathSync(dir)}/node_modules/@trellis/cdk8s-kit/`), `the kit came from ${result.kit}`);
  const meta = (o: Record<string, unknown>): Record<string, unknown> => o.metadata as Record<string, unknown>;
  t.deepEqual(result.rendered.map((o) => [o.kind, meta(o).name]), [['ConfigMap', 'shop-app'], ['Deployment', 'shop'], ['Service', 'shop'], ['Ingress', 'shop']]);
  t.like(result.rendered[0], { data: { 'app.conf': 'x=1' } });
  t.like(result.rendered[1], { spec: { replicas: 3 } });
  t.like(result.rendered[3], { spec: { rules: [{ host: 'shop.test' }] } });
  t.deepEqual(result.rendered, result.synthesized, 'the sandbox and Node render the same objects');
  t.regex(result.refused, /InvalidValuesError.*replicas/s);
  t.regex(result.escaped, /fs is not available in a Trellis program/);
});
