// What `npm run build:cli` ships: bundles of the two commands with the checkout-only
// modules replaced, nothing of hack/, and the checkout's trellis still has up/build/dev.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import test from 'ava';
import { bundleCommand } from '../../../hack/build-cli.ts';
import { projectRoot } from '../../../hack/lib/system-tools.ts';

/** The modules of a bundle, from the `// path` comment esbuild writes before each. */
function modulesOf(bundle: string): string[] {
  return [...bundle.matchAll(/^\/\/ ((?:cli|hack|runtime|apply-controller|source-controller|packages-cdk8s)\/\S+\.ts)$/gm)].map((m) => m[1] ?? '');
}

test('the shipped trellis bundle has no local-environment modules and none of hack/', async (t) => {
  const modules = modulesOf(await bundleCommand('trellis'));
  t.true(modules.includes('cli/bin/shipped-commands.ts'));
  t.true(modules.includes('cli/bin/without-package-programs.ts'));
  t.deepEqual(modules.filter((m) => /^hack\/|^cli\/up(\.ts|\/)|^cli\/dev\.ts$|^cli\/bin\/checkout-commands\.ts$|^packages-cdk8s\/build\/(program|dev)\.ts$/.test(m)), []);
});

test('the shipped kubectl-package bundle is the package commands', async (t) => {
  const modules = modulesOf(await bundleCommand('kubectl-package'));
  t.true(modules.includes('cli/package/index.ts'));
  t.false(modules.some((m) => m.startsWith('hack/') || m === 'cli/trellis.ts'));
});

test('the checkout trellis still has up, build and dev', (t) => {
  const help = execFileSync(process.execPath, [join(projectRoot, 'cli', 'trellis.ts'), '--help'], { encoding: 'utf8' });
  for (const command of ['up', 'build', 'dev', 'push', 'package']) t.regex(help, new RegExp(`^\\s+${command}\\b`, 'm'));
});
