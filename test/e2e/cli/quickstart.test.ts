// The README Quickstart, word for word: `trellis up` (what `npm start` runs) as a
// process with its own folder, then every line of the second terminal's blocks in
// bash after sourcing the env file it wrote — push, install, a changed value, a
// new version, history and rollback — with the cluster checked after the steps
// that change it. Then Ctrl-C, and a second `trellis up` that finds the same
// state at the same registry address.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest, { type ExecutionContext } from 'ava';
import * as k8s from '@kubernetes/client-node';
import type { Package } from '../../../apply-controller/api.ts';
import { shellQuote } from '../../../cli/up/state.ts';
import { isAlive, startProcess, waitFor, type ManagedProcess } from '../../../hack/lib/processes.ts';
import { projectRoot } from '../../../hack/lib/system-tools.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { scratchDir } from '../../support/cluster.ts';
import { readQuickstart } from './quickstart.ts';

const test = anyTest.serial;
const dir = join(scratchDir('quickstart'), 'trellis');
let upProcess: ManagedProcess | undefined;

anyTest.after.always(async () => { await upProcess?.stop(30_000); });

/** Starts `trellis up --dir <dir>` the way `npm start` does (same entry, Node 24) and waits until it says it runs. */
async function startUp(name: string): Promise<ManagedProcess> {
  const logFile = join(dir, '..', `${name}.log`);
  const proc = startProcess(name, process.execPath, [join(projectRoot, 'cli/trellis.ts'), 'up', '--dir', dir, '--log-format', 'json'],
    { logFile, cwd: projectRoot });
  await waitFor('trellis up to say it is running', () => Promise.resolve(existsSync(logFile) && readFileSync(logFile, 'utf8').includes('Trellis is running')),
    { timeoutMs: 8 * 60_000, intervalMs: 500, process: proc });
  return proc;
}

/** Runs one Quickstart line in bash after sourcing the env file, from the project folder (where the README's paths point). */
function runLine(line: string): Promise<{ code: number | null; out: string }> {
  const env = { ...process.env };
  for (const key of ['KUBECONFIG', 'TRELLIS_REGISTRY', 'NO_COLOR']) delete env[key];
  const script = `set -e\nsource ${shellQuote(join(dir, 'env'))}\n${line}\n`;
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    child.on('close', (code) => resolve({ code, out }));
  });
}

function client(): KubeClient {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(join(dir, 'kubeconfig'));
  return new KubeClient(kc);
}

interface Web { replicas?: number; ready?: number; page?: string; pkg?: Package }

async function web(kube: KubeClient): Promise<Web> {
  const deploy = await kube.get<KubeObject & { spec?: { replicas?: number }; status?: { readyReplicas?: number } }>(
    { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'web' });
  const cm = await kube.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'web-content' });
  const pkg = await kube.get<Package>({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: 'default', name: 'web' });
  return { replicas: deploy?.spec?.replicas, ready: deploy?.status?.readyReplicas, page: cm?.data?.['index.html'], ...(pkg ? { pkg } : {}) };
}

type Check = (t: ExecutionContext, out: string, kube: KubeClient) => Promise<void>;

/** What must be true after the Quickstart lines that change something. Each must match a line. */
const CHECKS: readonly (readonly [RegExp, string, Check])[] = [
  [/^kubectl package install web \S+ --version '\^1' --wait$/, 'the first install is applied and healthy', async (t, _out, kube) => {
    const w = await web(kube);
    t.is(w.replicas, 2, 'the default replicas');
    t.is(w.ready, 2, 'the simulated node made the Pods ready');
    t.regex(w.page ?? '', /Hello from Trellis/);
    t.regex(w.pkg?.status?.lastAppliedRevision ?? '', /^1\.0\.0@sha256:/);
  }],
  [/^kubectl get packages$/, 'kubectl lists the Package as Ready', (t, out) => {
    t.regex(out, /^web +1\.[01]\.0@sha256:[0-9a-f]+ +True /m);
    return Promise.resolve();
  }],
  [/--set replicas=3 --set message='Hello again' --wait$/, 'the changed values are applied, typed', async (t, _out, kube) => {
    const w = await web(kube);
    t.is(w.replicas, 3);
    t.is(w.ready, 3);
    t.regex(w.page ?? '', /Hello again/);
    t.deepEqual(w.pkg?.spec.values, { replicas: 3, message: 'Hello again' });
  }],
  [/^kubectl package reconcile web --with-source --wait$/, 'the new version is applied', async (t, _out, kube) => {
    const w = await web(kube);
    t.regex(w.pkg?.status?.lastAppliedRevision ?? '', /^1\.1\.0@sha256:/);
    t.is(w.replicas, 3, 'the values stay');
  }],
  [/^kubectl package history web$/, 'history lists the three revisions, the last one current', (t, out) => {
    t.regex(out, /^1 +1\.0\.0@sha256:\S+ +Superseded/m);
    t.regex(out, /^2 +1\.0\.0@sha256:\S+ +Superseded/m);
    t.regex(out, /^3 +1\.1\.0@sha256:\S+ +Available \(current\)/m);
    return Promise.resolve();
  }],
  [/^kubectl package rollback web --to 1 --wait$/, 'revision 1\'s objects are back', async (t, _out, kube) => {
    const w = await web(kube);
    t.is(w.pkg?.status?.currentRevision, 1);
    t.is(w.replicas, 2);
    t.regex(w.page ?? '', /Hello from Trellis/);
  }],
];

test('the README Quickstart works word for word', async (t) => {
  t.timeout(20 * 60_000);
  const quickstart = readQuickstart();
  t.deepEqual(quickstart.server, ['npm start']);
  const scripts = (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  t.is(scripts.start, 'node hack/bootstrap.mjs cli/trellis.ts up', 'npm start is trellis up, which this test runs with its own --dir');
  const [first, ...lines] = quickstart.commands;
  t.is(first, 'source .trellis/env', 'the second terminal starts by sourcing the env file (here: the test folder\'s)');

  upProcess = await startUp('trellis-up-1');
  const kube = client();
  const checked = new Set<string>();
  for (const line of lines) {
    const { code, out } = await runLine(line);
    t.log(`$ ${line}\n${out.trimEnd()}`);
    if (code !== 0) {
      t.fail(`"${line}" exited ${code}:\n${out}\n--- trellis up (last lines) ---\n${upProcess.tail(40)}`);
      return;
    }
    for (const [pattern, what, check] of CHECKS) {
      if (!pattern.test(line)) continue;
      checked.add(what);
      await check(t, out, kube);
    }
  }
  t.deepEqual([...checked].sort(), CHECKS.map(([, what]) => what).sort(), 'every check found its Quickstart line');
});

test('Ctrl-C stops everything; npm start again finds the same state at the same registry address', async (t) => {
  t.timeout(15 * 60_000);
  const running = upProcess;
  if (!running) return t.fail('the Quickstart did not start trellis up');
  const lock = JSON.parse(readFileSync(join(dir, 'up.json'), 'utf8')) as { pid: number; controllers: number[] };
  t.is(lock.controllers.length, 2);
  const registryBefore = /TRELLIS_REGISTRY='([^']+)'/.exec(readFileSync(join(dir, 'env'), 'utf8'))?.[1];

  process.kill(running.pid, 'SIGINT');
  t.is(await running.exited, 0, 'a clean stop');
  upProcess = undefined;
  t.regex(running.tail(5), /stopped; the state stays in/);
  t.false(existsSync(join(dir, 'up.json')), 'the lock is released');
  for (const pid of lock.controllers) t.false(isAlive(pid), `controller ${pid} stopped`);

  upProcess = await startUp('trellis-up-2');
  const registryAfter = /TRELLIS_REGISTRY='([^']+)'/.exec(readFileSync(join(dir, 'env'), 'utf8'))?.[1];
  t.truthy(registryBefore);
  t.is(registryAfter, registryBefore, 'TRELLIS_REGISTRY did not change');
  const { code, out } = await runLine('kubectl package list && kubectl package history web');
  t.is(code, 0, out);
  t.regex(out, /^web +True /m, 'the Package is still there and Ready');
  t.regex(out, /^3 +1\.1\.0@sha256:/m, 'its history too');
  // The registry behind the stable address still has the pushed versions.
  const tags = await runLine('curl -sf "http://$TRELLIS_REGISTRY/v2/examples/web/tags/list"');
  t.regex(tags.out, /"1\.0\.0"/);
  t.regex(tags.out, /"1\.1\.0"/);
});
