// The single-file executables of `npm run build:cli`: copied into a folder that is
// the whole PATH (no Node there), `kubectl package list` runs the kubectl-package
// executable through the real kubectl against the test apiserver, `kubectl package
// diff` renders a program bundle in the sandbox the executable carries, and
// `trellis` answers --help with the shipped commands only.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, copyFileSync, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import anyTest from 'ava';
import { buildCli } from '../../../hack/build-cli.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import { scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { PROGRAM_PACKAGE, publishProgramPackage, runCommand } from '../cli/program-package.ts';

const test = withCluster(anyTest);

/** The first executable `name` on this process's PATH. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

test('the single executables run without Node: kubectl package list and diff of a program through kubectl, trellis --help', async (t) => {
  t.timeout(8 * 60_000, 'building the executables copies and injects a 120 MB Node binary twice');
  const kubectl = onPath('kubectl');
  if (kubectl === undefined) {
    t.fail('kubectl is not on the PATH: this test runs the plugin through the real kubectl');
    return;
  }
  const { executables } = await buildCli({ npm: false, sea: true, log: (line) => t.log(line) });
  if (executables === undefined) throw new Error('buildCli built no executables');

  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = new KubeClient(cluster.kubeConfig);
  await client.create({
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package',
    metadata: { name: 'listed-by-sea', namespace: ns },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'nowhere' } },
  });

  const home = scratchDir('sea');
  const bin = join(home, 'bin');
  mkdirSync(bin);
  copyFileSync(executables['kubectl-package'], join(bin, 'kubectl-package'));
  copyFileSync(executables.trellis, join(bin, 'trellis'));
  const env = { PATH: bin, HOME: home, KUBECONFIG: cluster.kubeconfigPath };
  t.is(spawnSync('node', ['--version'], { env }).error?.message.includes('ENOENT'), true, 'no node on the PATH the executables run with');

  const list = spawnSync(kubectl, ['package', 'list', '-n', ns], { env, encoding: 'utf8' });
  t.is(list.status, 0, `kubectl package list failed:\n${list.stderr}`);
  t.regex(list.stdout, /^NAME\s+READY/m);
  t.regex(list.stdout, /^listed-by-sea\s/m);

  // The Ingress exists only when the program runs with ingress.enabled: the pre-rendered defaults have none.
  const revision = await publishProgramPackage(t, client, ns);
  const diff = await runCommand(kubectl, ['package', 'diff', PROGRAM_PACKAGE, '-n', ns, '--set', 'ingress.enabled=true'], { env });
  t.is(diff.status, 1, `kubectl package diff of a program bundle (exit 1: changes):\n${diff.stderr}`);
  t.regex(diff.stdout, new RegExp(`^\\+ Ingress/${ns}/web$`, 'm'));
  t.regex(diff.stdout, new RegExp(`^\\+ Deployment/${ns}/web$`, 'm'));
  t.regex(diff.stdout, new RegExp(`^4 to create, 0 to change, 0 to delete \\(source ${revision.replace(/[.]/g, '\\.')}\\)$`, 'm'));

  const help = spawnSync('trellis', ['--help'], { env, encoding: 'utf8' });
  t.is(help.status, 0, help.stderr);
  t.regex(help.stdout, /^\s+package\b/m);
  t.regex(help.stdout, /^\s+push\b/m);
  t.notRegex(help.stdout, /^\s+(up|dev|build)\b/m, 'the local-environment and package-building commands are not shipped');

  const unknown = spawnSync('trellis', ['up'], { env, encoding: 'utf8' });
  t.not(unknown.status, 0);
  t.regex(unknown.stderr, /unknown command 'up'/);
});
