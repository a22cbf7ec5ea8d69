// `trellis up --kubeconfig`: both controllers against an existing cluster (the
// test run's), limited to one namespace, with no local cluster or registry of its
// own; a package installed with kubectl package becomes Ready through them; a
// second `up` on the same folder is refused; SIGTERM stops both controllers.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest from 'ava';
import type { CommandIO } from '../../../cli/package/context.ts';
import { runPackageCli } from '../../../cli/package/index.ts';
import { captureTerminal } from '../../../cli/package/output.ts';
import { runPush } from '../../../cli/push.ts';
import { isAlive, startProcess, waitFor, type ManagedProcess } from '../../../hack/lib/processes.ts';
import { projectRoot } from '../../../hack/lib/system-tools.ts';
import { scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { useRegistry, withServers } from '../../support/servers.ts';

const test = withServers(withCluster(anyTest));
const started: ManagedProcess[] = [];
anyTest.after.always(async () => { await Promise.all(started.map((p) => p.stop(30_000))); });

function startUp(dir: string, kubeconfig: string, namespace: string, name: string): ManagedProcess {
  const proc = startProcess(name, process.execPath, [join(projectRoot, 'cli/trellis.ts'), 'up', '--dir', dir, '--kubeconfig', kubeconfig,
    '--watch-namespace', namespace, '--log-format', 'json'], { logFile: join(dir, '..', `${name}.log`), cwd: projectRoot });
  started.push(proc);
  return proc;
}

test('trellis up --kubeconfig runs both controllers against an existing cluster', async (t) => {
  t.timeout(10 * 60_000);
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const base = scratchDir('up-existing');
  const dir = join(base, 'trellis');
  const log = join(base, 'up.log');
  const up = startUp(dir, cluster.kubeconfigPath, ns, 'up');
  await waitFor('trellis up to run', () => Promise.resolve(existsSync(log) && readFileSync(log, 'utf8').includes('Trellis is running')),
    { timeoutMs: 5 * 60_000, intervalMs: 300, process: up });

  const env = readFileSync(join(dir, 'env'), 'utf8');
  t.true(env.includes(`export KUBECONFIG='${cluster.kubeconfigPath}'`));
  t.false(env.includes('TRELLIS_REGISTRY='), 'no registry of its own');
  t.false(existsSync(join(dir, 'cluster')), 'no cluster of its own');
  t.true(existsSync(join(dir, 'bin', 'kubectl-package')));
  const text = readFileSync(log, 'utf8');
  const jsonLines = text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { name?: string; msg?: string });
  t.true(jsonLines.some((l) => l.name === 'source-controller' && l.msg === 'controllers running'));
  t.true(jsonLines.some((l) => l.name === 'apply-controller' && l.msg === 'controllers running'));

  const second = startUp(dir, cluster.kubeconfigPath, ns, 'up-second');
  t.is(await second.exited, 1, 'a second up on the same folder is refused');
  t.regex(second.tail(), /^\[trellis\] trellis up is already running for .* \(pid \d+\); stop it with Ctrl-C, or use another --dir$/m);
  t.false(second.tail().includes('    at '), 'a message, not a stack trace');

  // The controllers work: a package installed with kubectl package becomes Ready.
  const registry = await useRegistry();
  const sink = { write: () => true };
  await runPush('packages-cdk8s/examples/web', `oci://${registry.host}/examples/web:1.0.0`, { insecure: true }, { stdout: sink, stderr: sink });
  const term = captureTerminal();
  const io: CommandIO = { term, env: { KUBECONFIG: cluster.kubeconfigPath, HOME: base }, now: () => new Date(), exit: () => undefined };
  const code = await runPackageCli(['install', 'web', `oci://${registry.host}/examples/web`, '--version', '^1', '--set', 'replicas=1',
    '--wait', '--timeout', '3m', '-n', ns], io);
  t.is(code, 0, `${term.stderr()}\n${up.tail(30)}`);
  t.regex(term.stdout(), /Package .*\/web is Ready: Applied revision 1/);

  const lock = JSON.parse(readFileSync(join(dir, 'up.json'), 'utf8')) as { controllers: number[] };
  process.kill(up.pid, 'SIGTERM');
  t.is(await up.exited, 0);
  for (const pid of lock.controllers) t.false(isAlive(pid), `controller ${pid} stopped with up`);
});
