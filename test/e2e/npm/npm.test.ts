// The npm package of `npm run build:cli`: `npm pack` makes a publishable tarball,
// `npm install --offline` installs it (the bundles carry every dependency), and its
// bins work against the test apiserver: `trellis --help`, `kubectl-package list`
// directly and as `kubectl package list`, and `kubectl-package diff` of a Package
// whose bundle is a program, rendered in the sandbox the bundle carries.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import anyTest from 'ava';
import { buildNpmPackage } from '../../../hack/build-cli.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import { scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { PROGRAM_PACKAGE, publishProgramPackage, runCommand } from '../cli/program-package.ts';

const test = withCluster(anyTest);

function ok(t: { is(a: unknown, b: unknown, m?: string): void }, result: SpawnSyncReturns<string>, what: string): string {
  if (result.error) throw new Error(`${what}: ${result.error.message}`);
  t.is(result.status, 0, `${what} failed:\n${result.stderr}`);
  return result.stdout;
}

test('npm pack, npm install --offline, and the installed bins work', async (t) => {
  t.timeout(6 * 60_000, 'bundling, npm install, and building the program bundle the diff renders');
  const work = scratchDir('npm');
  const packageDir = join(work, 'package');
  const manifest = JSON.parse(readFileSync(await buildNpmPackage(packageDir), 'utf8')) as Record<string, unknown>;
  t.is(manifest.private, undefined, 'publishable');
  t.deepEqual(manifest.bin, { 'trellis': 'bin/trellis.cjs', 'kubectl-package': 'bin/kubectl-package.cjs' });
  t.is(manifest.dependencies, undefined, 'everything is in the bundles');

  // npm itself runs on whatever Node the machine has; the bins on this Node (24).
  const env = { ...process.env, npm_config_cache: join(work, 'npm-cache'), npm_config_update_notifier: 'false' };
  const packed = JSON.parse(ok(t, spawnSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: packageDir, env, encoding: 'utf8' }), 'npm pack')) as
    { filename: string; files: { path: string }[] }[];
  const tarball = join(work, packed[0]?.filename ?? '');
  t.deepEqual(packed[0]?.files.map((f) => f.path).sort(), ['README.md', 'bin/kubectl-package.cjs', 'bin/trellis.cjs', 'package.json']);

  const prefix = join(work, 'prefix');
  ok(t, spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, tarball], { env, encoding: 'utf8' }), 'npm install --offline');
  const bin = join(prefix, 'node_modules', '.bin');

  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = new KubeClient(cluster.kubeConfig);
  await client.create({
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package',
    metadata: { name: 'listed-by-npm', namespace: ns },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'nowhere' } },
  });
  // Outside the checkout, with only the installed bins and Node on the PATH.
  const runEnv = { PATH: [bin, dirname(process.execPath), '/usr/bin', '/bin'].join(':'), HOME: work, KUBECONFIG: cluster.kubeconfigPath };
  const cwd = work;

  const help = ok(t, spawnSync(join(bin, 'trellis'), ['--help'], { env: runEnv, cwd, encoding: 'utf8' }), 'trellis --help');
  t.regex(help, /^\s+package\b/m);
  t.notRegex(help, /^\s+(up|dev|build)\b/m, 'the local-environment and package-building commands are not shipped');

  const list = ok(t, spawnSync(join(bin, 'kubectl-package'), ['list', '-n', ns], { env: runEnv, cwd, encoding: 'utf8' }), 'kubectl-package list');
  t.regex(list, /^listed-by-npm\s/m);

  const viaKubectl = spawnSync('kubectl', ['package', 'list', '-n', ns], { env: runEnv, cwd, encoding: 'utf8' });
  if (viaKubectl.error === undefined) t.regex(ok(t, viaKubectl, 'kubectl package list'), /^listed-by-npm\s/m);
  else t.log(`kubectl not found (${viaKubectl.error.message}): the plugin was run directly only`);

  // The Ingress exists only when the program runs with ingress.enabled: the pre-rendered defaults have none.
  const revision = await publishProgramPackage(t, client, ns);
  const diff = await runCommand(join(bin, 'kubectl-package'), ['diff', PROGRAM_PACKAGE, '-n', ns, '--set', 'ingress.enabled=true'], { env: runEnv, cwd });
  t.is(diff.status, 1, `kubectl-package diff of a program bundle (exit 1: changes):\n${diff.stderr}`);
  t.regex(diff.stdout, new RegExp(`^\\+ Ingress/${ns}/web$`, 'm'));
  t.regex(diff.stdout, new RegExp(`^\\+ Deployment/${ns}/web$`, 'm'));
  t.regex(diff.stdout, new RegExp(`^4 to create, 0 to change, 0 to delete \\(source ${revision.replace(/[.]/g, '\\.')}\\)$`, 'm'));
});
