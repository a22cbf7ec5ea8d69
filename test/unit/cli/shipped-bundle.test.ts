// What `npm run build:cli` ships: bundles of the two commands with the checkout-only
// modules replaced, nothing of hack/, the render sandbox inside (a build whose
// sandbox cannot render is refused), and the checkout's trellis still has up/build/dev.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import test from 'ava';
import { interpreterBinary } from '../../../apply-controller/program/sandbox-files.ts';
import { bundleCommand, checkEmbeddedSandbox, ShippedBundleError } from '../../../hack/build-cli.ts';
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

test('the shipped kubectl-package bundle is the package commands, with the render sandbox inside', async (t) => {
  const bundle = await bundleCommand('kubectl-package');
  const modules = modulesOf(bundle);
  t.true(modules.includes('cli/package/index.ts'));
  t.false(modules.some((m) => m.startsWith('hack/') || m === 'cli/trellis.ts'));
  // The Worker as a script and the QuickJS binary, not paths to files a single executable does not have.
  t.true(modules.includes('apply-controller/program/render.ts'));
  t.regex(bundle, /^(?:var|const) workerScript = (["']).*newQuickJSWASMModuleFromVariant.*\1;$/m);
  t.regex(bundle, /^(?:var|const) interpreterBase64 = "AGFzbQ[A-Za-z0-9+/=]{600000,}";$/m, 'the WebAssembly binary (it starts with \\0asm)');
  t.false(bundle.includes('"./worker.ts"'), 'no Worker file looked up next to the bundle');
});

test('a build whose sandbox cannot render a program is refused', async (t) => {
  const interpreter = await interpreterBinary();
  await t.throwsAsync(checkEmbeddedSandbox("throw new Error('no sandbox here')", interpreter),
    { instanceOf: ShippedBundleError, message: /does not render a program: .*no sandbox here/ });
  await t.throwsAsync(checkEmbeddedSandbox("require('node:worker_threads').parentPort.postMessage({ ok: true, output: 'null', logs: [] })", interpreter),
    { instanceOf: ShippedBundleError, message: /it returned null/ });
});

test('the checkout trellis still has up, build and dev', (t) => {
  const help = execFileSync(process.execPath, [join(projectRoot, 'cli', 'trellis.ts'), '--help'], { encoding: 'utf8' });
  for (const command of ['up', 'build', 'dev', 'push', 'package']) t.regex(help, new RegExp(`^\\s+${command}\\b`, 'm'));
});
