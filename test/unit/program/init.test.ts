// trellis init: the scaffold builds into a program bundle and its own test passes,
// as written, in a folder outside the repository.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { initPackage } from '../../../cli/init.ts';
import { buildBundle } from '../../../packages-cdk8s/build/bundle.ts';
import { scratchDir } from '../../support/cluster.ts';

const run = promisify(execFile);

test('the scaffold builds, and its test (node --test) passes as written', async (t) => {
  const dir = join(scratchDir('init'), 'shop');
  await initPackage('shop', dir);
  t.deepEqual(readdirSync(dir).sort(), ['README.md', 'package.json', 'package.test.ts', 'package.ts']);
  const built = await buildBundle(dir, { out: join(dir, 'shop.tgz') });
  t.is(built.manifest.name, 'shop');
  t.truthy(built.manifest.program);
  t.deepEqual(built.files.map((f) => f.kind), ['Deployment', 'Service']);
  const tested = await run(process.execPath, ['--test', 'package.test.ts'], { cwd: dir });
  t.regex(tested.stdout, /pass 3/);
  await t.throwsAsync(initPackage('shop', dir), { message: /not empty/ });
  await t.throwsAsync(initPackage('Shop', join(scratchDir('init'), 'x')), { message: /DNS-1123/ });
});

test('trellis build type-checks the package: a type error fails the build with its file, line and column', async (t) => {
  const dir = join(scratchDir('typecheck'), 'bad');
  await initPackage('bad', dir);
  const { readFileSync, writeFileSync } = await import('node:fs');
  const file = join(dir, 'package.ts');
  writeFileSync(file, readFileSync(file, 'utf8').replace('replicas: values.replicas,', 'replicas: values.image,'));
  const err = await t.throwsAsync(buildBundle(dir, { out: join(dir, 'bad.tgz'), typecheck: true }));
  t.regex(err?.message ?? '', /package\.ts:\d+:\d+: Type 'string' is not assignable to type 'number'/);
  // esbuild alone compiles it: the type check is what catches it.
  await t.notThrowsAsync(buildBundle(dir, { out: join(dir, 'bad.tgz') }));
});
