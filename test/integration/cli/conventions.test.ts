// The CLI conventions against the real apiserver, the real registry (with
// tags written by trellis push and by the real oras) and the real bash: -l/-w/-o on list and get, diff's three exit codes, install
// without a version (tags read from the registry), version with the
// controllers' versions, errors that name the unreachable server, and bash
// completion calling the real CLI back for Package names.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import anyTest, { type ExecutionContext } from 'ava';
import type { CommandIO } from '../../../cli/package/context.ts';
import { runPackageCli } from '../../../cli/package/index.ts';
import { captureTerminal, type CapturedTerminal } from '../../../cli/package/output.ts';
import { runPush } from '../../../cli/push.ts';
import { ensurePeerTools } from '../../../hack/peer-tools.ts';
import { buildBundle } from '../../../packages-cdk8s/build/bundle.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import type { OCIRepository } from '../../../source-controller/api.ts';
import { eventually, scratchDir, testNamespace, useCluster, withCluster, type TestCluster } from '../../support/cluster.ts';
import { useRegistry, withServers } from '../../support/servers.ts';

const test = withServers(withCluster(anyTest));

const PKG = { apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package' };
const OCI = { apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository' };
const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const ready = (status: string, message: string) => ({ type: 'Ready', status, reason: status === 'True' ? 'Succeeded' : 'Failed', message, lastTransitionTime: now() });

interface Run { code: number; out: string; err: string }
interface Ctx {
  ns: string;
  cluster: TestCluster;
  client: KubeClient;
  run(...argv: string[]): Promise<Run>;
  /** Starts a command that runs until `stop()`; `term` shows what it printed so far. */
  start(...argv: string[]): { term: CapturedTerminal; stop(): Promise<Run> };
}

async function setup(t: ExecutionContext): Promise<Ctx> {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = new KubeClient(cluster.kubeConfig);
  const home = scratchDir('home');
  const io = (term: CapturedTerminal, signal?: AbortSignal): CommandIO => ({
    term, env: { KUBECONFIG: cluster.kubeconfigPath, HOME: home }, now: () => new Date(), exit: () => undefined, signal,
  });
  return {
    ns, cluster, client,
    async run(...argv) {
      const term = captureTerminal();
      const code = await runPackageCli([...argv, '-n', ns], io(term));
      return { code, out: term.stdout(), err: term.stderr() };
    },
    start(...argv) {
      const term = captureTerminal();
      const abort = new AbortController();
      const done = runPackageCli([...argv, '-n', ns], io(term, abort.signal));
      return {
        term,
        async stop() {
          abort.abort();
          const code = await done;
          return { code, out: term.stdout(), err: term.stderr() };
        },
      };
    },
  };
}

async function installed(c: Ctx, name: string, labels: Record<string, string> = {}): Promise<void> {
  const r = await c.run('install', name, `oci://127.0.0.1:5999/examples/${name}`, '--version', '^1');
  if (r.code !== 0) throw new Error(r.err);
  if (Object.keys(labels).length > 0) await c.client.patch({ ...PKG, namespace: c.ns, name }, { metadata: { labels } });
}

test('list -l selects by label; a bad selector is refused; -o wide, name and jsonpath; get without a name lists', async (t) => {
  const c = await setup(t);
  await installed(c, 'web', { team: 'shop' });
  await installed(c, 'api', { team: 'core' });
  await c.client.patchStatus({ ...PKG, namespace: c.ns, name: 'web' }, { conditions: [ready('True', 'Applied revision 1.0.0')], currentRevision: 3 });

  const selected = await c.run('list', '-l', 'team=shop');
  t.is(selected.code, 0, selected.err);
  t.deepEqual(selected.out.trimEnd().split('\n').slice(1).map((l) => l.split(/ +/)[0]), ['web']);
  t.regex((await c.run('list', '-l', 'team notin (shop)', '-o', 'name')).out, /^package\.apply\.trellis\.dev\/api\n$/);
  const none = await c.run('list', '-l', 'team=nobody');
  t.is(none.code, 0);
  t.is(none.err, `No packages found in ${c.ns} namespace matching team=nobody.\n`);

  const bad = await c.run('list', '-l', 'team in shop');
  t.is(bad.code, 1);
  t.regex(bad.err, /option '-l, --selector <selector>' argument 'team in shop' is invalid\. "team in shop" is not a label requirement/);

  const wide = await c.run('list', '-o', 'wide');
  const lines = wide.out.trimEnd().split('\n');
  t.regex(lines[0] ?? '', /^NAME +READY +REVISION +AGE +SOURCE +CURRENT +SUSPENDED +MESSAGE$/);
  t.regex(lines[2] ?? '', /^web +True +\d+s +OCIRepository\/web +3 +False +Applied revision 1\.0\.0$/);

  t.is((await c.run('list', '-o', 'name')).out, 'package.apply.trellis.dev/api\npackage.apply.trellis.dev/web\n');
  t.is((await c.run('list', '-o', 'jsonpath={range .items[*]}{.metadata.name}:{.metadata.labels.team}{"\\n"}{end}')).out, 'api:core\nweb:shop\n');
  t.is((await c.run('get', 'web', '-o', 'jsonpath={.status.currentRevision}')).out, '3');
  t.deepEqual((await c.run('get', '-l', 'team=core')).out.trimEnd().split('\n').slice(1).map((l) => l.split(/ +/)[0]), ['api']);
  const both = await c.run('get', 'web', '-l', 'team=shop');
  t.is(both.code, 1);
  t.regex(both.err, /a name or a selector/);
});

test('list -w and get -w print each change until stopped', async (t) => {
  const c = await setup(t);
  await installed(c, 'web');
  const listing = c.start('list', '-w');
  const single = c.start('get', 'web', '-w', '-o', 'jsonpath={.metadata.name}={.status.conditions[0].status}{"\\n"}');
  await eventually(() => Promise.resolve(listing.term.stdout().includes('Unknown') && single.term.stdout() === 'web=\n'));

  await c.client.patchStatus({ ...PKG, namespace: c.ns, name: 'web' }, { conditions: [ready('False', 'Deployment web not ready')] });
  await eventually(() => Promise.resolve(/^web +False +\d+s +Deployment web not ready$/m.test(listing.term.stdout())));
  await installed(c, 'api');
  await eventually(() => Promise.resolve(/^api +Unknown/m.test(listing.term.stdout())));
  await eventually(() => Promise.resolve(single.term.stdout().includes('web=False\n')));

  const listed = await listing.stop();
  const got = await single.stop();
  t.is(listed.code, 0, listed.err);
  t.is(got.code, 0, got.err);
  t.regex(listed.out, /^NAME +READY/, 'the header once, at the top');
  t.is(listed.out.match(/^NAME /gm)?.length, 1);
  t.false(got.out.includes('api'), 'get NAME -w shows that Package only');
});

/** Serves `bytes` over HTTP on loopback, like the source controller's artifact server. */
async function serve(t: ExecutionContext, bytes: Buffer): Promise<string> {
  const server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/gzip' }); res.end(bytes); });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  t.teardown(() => { server.close(); });
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/plain.tgz`;
}

test('diff exits 0 when nothing would change, 1 when something would, 2 when it cannot tell', async (t) => {
  const c = await setup(t);
  await installed(c, 'cm');
  const dir = scratchDir('plain');
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'cm.yaml'), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${c.ns}\ndata:\n  color: blue\n`);
  const tar = spawnSync('tar', ['-czf', join(dir, 'plain.tgz'), '-C', join(dir, 'src'), 'cm.yaml'], { encoding: 'utf8' });
  t.is(tar.status, 0, tar.stderr);
  const bytes = readFileSync(join(dir, 'plain.tgz'));
  await c.client.patchStatus({ ...OCI, namespace: c.ns, name: 'cm' }, {
    artifact: { url: await serve(t, bytes), revision: `1.0.0@sha256:${'a'.repeat(64)}`, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length, lastUpdateTime: now() },
  });

  const changes = await c.run('diff', 'cm', '-o', 'name');
  t.is(changes.code, 1, changes.err);
  t.is(changes.out, `ConfigMap/${c.ns}/settings\n`);

  // What the controller would have written, as it would have written it.
  await c.client.apply({
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: c.ns, labels: { 'apply.trellis.dev/package': 'cm', 'apply.trellis.dev/package-namespace': c.ns } },
    data: { color: 'blue' },
  }, { fieldManager: 'trellis' });
  const same = await c.run('diff', 'cm');
  t.is(same.code, 0, `${same.out}${same.err}`);
  t.regex(same.out, /^0 to create, 0 to change, 0 to delete/m);

  const missing = await c.run('diff', 'nope');
  t.is(missing.code, 2);
  t.is(missing.err, `error: package "nope" not found in namespace ${c.ns}\n`);
});

test('install without --version follows the major version of the highest version tag and says so', async (t) => {
  const c = await setup(t);
  const registry = await useRegistry();
  const built = await buildBundle('packages-cdk8s/examples/web', { out: join(scratchDir('bundle'), 'web.tgz') });
  const sink = { write: () => true };
  const repo = `oci://${registry.host}/conventions-${c.ns}`;
  for (const tag of ['1.0.0', '1.2.0', '0.9.0', '2.0.0-rc.1']) await runPush(built.file, `${repo}/web:${tag}`, { insecure: true }, { stdout: sink, stderr: sink });

  const r = await c.run('install', 'web', `${repo}/web`);
  t.is(r.code, 0, r.err);
  t.is(r.err, `note: no --version given: the highest version in ${repo}/web is 1.2.0; web follows ^1 (new 1.x releases are applied; --version changes this)\n`);
  t.deepEqual((await c.client.get<OCIRepository>({ ...OCI, namespace: c.ns, name: 'web' }))?.spec.ref, { semver: '^1' });

  // Tags other tools write: the real oras pushing `latest` and a branch name.
  const { oras } = ensurePeerTools(() => undefined);
  const work = scratchDir('oras');
  writeFileSync(join(work, 'notes.txt'), 'not a Trellis bundle\n');
  const orasPush = (ref: string): void => {
    const r = spawnSync(oras, ['push', '--plain-http', ref.replace(/^oci:\/\//, ''), 'notes.txt:text/plain'], { cwd: work, encoding: 'utf8', env: { ...process.env, HOME: work, DOCKER_CONFIG: work } });
    if (r.status !== 0) throw new Error(r.stderr);
  };
  orasPush(`${repo}/nightly:latest`);
  const latest = await c.run('install', 'nightly', `${repo}/nightly`, '--dry-run');
  t.is(latest.code, 0, latest.err);
  t.regex(latest.err, /has no version tags: following its "latest" tag/);
  t.regex(latest.out, /ref:\n {4}tag: latest/);

  orasPush(`${repo}/branchy:main`);
  const noVersions = await c.run('install', 'branchy', `${repo}/branchy`);
  t.is(noVersions.code, 1);
  t.is(noVersions.err, `error: ${repo}/branchy has no tag that is a semantic version (tags: main); give --tag or --digest\n`);
  t.is(await c.client.get({ ...PKG, namespace: c.ns, name: 'branchy' }), undefined, 'nothing written');
});

test('version: the client, the Kubernetes server and the controllers\' versions; an unreachable cluster is named', async (t) => {
  const c = await setup(t);
  const deployment = (name: string, image: string) => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: c.ns },
    spec: {
      replicas: 0, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'manager', image }] } },
    },
  });
  await c.client.create(deployment('apply-controller', 'registry.example/trellis:0.4.2'));
  const r = await c.run('version');
  t.is(r.code, 0, r.err);
  t.regex(r.out, /^Kubernetes: +v1\.\d+\.\d+\S* at https:\/\/127\.0\.0\.1:\d+$/m);
  t.regex(r.out, /^apply-controller +0\.4\.2 +0\/0 +registry\.example\/trellis:0\.4\.2$/m);
  t.regex(r.out, new RegExp(`^source-controller +- +- +not installed in ${c.ns}$`, 'm'));
  const json = JSON.parse((await c.run('version', '-o', 'json')).out) as { server: { controllers: { name: string; version?: string }[] } };
  t.deepEqual(json.server.controllers.map((x) => x.version), [undefined, '0.4.2']);

  const kubeconfig = join(scratchDir('unreachable'), 'kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: gone',
    'clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1"}}]',
    'users: [{name: u, user: {token: t}}]', 'contexts: [{name: gone, context: {cluster: gone, user: u}}]', '',
  ].join('\n'));
  const down = await c.run('version', '--kubeconfig', kubeconfig);
  t.is(down.code, 1);
  t.regex(down.out, /^Client: +trellis /, 'the client version is printed all the same');
  t.regex(down.err, /^error: cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
  const client = await c.run('version', '--client', '--kubeconfig', kubeconfig);
  t.is(client.code, 0, client.err);
  const list = await c.run('list', '--kubeconfig', kubeconfig);
  t.is(list.code, 1);
  t.regex(list.err, /^error: cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:1/);
});

// Serial: it runs the CLI with spawnSync, which blocks this worker's event loop (and so the other tests' requests).
test.serial('the trellis process: --version, diff\'s exit code 2 on a usage error, and bash completion calling it back for names', async (t) => {
  const c = await setup(t);
  await installed(c, 'web');
  await installed(c, 'worker');
  const bin = scratchDir('bin');
  const trellis = join(bin, 'trellis');
  writeFileSync(trellis, `#!/bin/sh\nexec "${process.execPath}" "${resolve('cli/trellis.ts')}" "$@"\n`);
  chmodSync(trellis, 0o755);
  const env = { PATH: `${bin}:/usr/bin:/bin`, KUBECONFIG: c.cluster.kubeconfigPath, HOME: scratchDir('home') };
  const script = spawnSync(trellis, ['completion', 'bash'], { encoding: 'utf8', env });
  t.is(script.status, 0, script.stderr);
  const complete = (...words: string[]): string[] => {
    const shell = `${script.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; __trellis_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['-c', shell], { encoding: 'utf8', env });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout.split('\n').filter((l) => l !== '');
  };
  // The process itself: --version, a subcommand's own --version flag, diff's usage-error exit code.
  const version = spawnSync(trellis, ['--version'], { encoding: 'utf8', env });
  t.is(version.status, 0);
  t.regex(version.stdout, /^trellis \d+\.\d+\.\d+ \(Node\.js v\d+/);
  const dryRun = spawnSync(trellis, ['package', 'install', 'web', 'oci://r.example/web', '--version', '^3', '--dry-run'], { encoding: 'utf8', env });
  t.is(dryRun.status, 0, dryRun.stderr);
  t.regex(dryRun.stdout, /semver: \^3/, 'install --version is install\'s flag, not the program\'s');
  const usage = spawnSync(trellis, ['package', 'diff', 'web', '--bogus'], { encoding: 'utf8', env });
  t.is(usage.status, 2, usage.stderr);
  t.regex(usage.stderr, /unknown option '--bogus'/);

  t.deepEqual(complete('trellis', 'pack'), ['package']);
  t.deepEqual(complete('trellis', 'package', 'st'), ['status']);
  t.deepEqual(complete('trellis', 'package', 'list', '-o', 'w'), ['wide']);
  t.deepEqual(complete('trellis', 'package', 'status', '-n', c.ns, 'w'), ['web', 'worker']);
  t.deepEqual(complete('trellis', 'package', 'diff', '-n', c.ns, 'wo'), ['worker']);
});

test('status shows each managed object with its health, read from the cluster', async (t) => {
  const c = await setup(t);
  await installed(c, 'web');
  await c.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-content', namespace: c.ns }, data: { a: 'b' } });
  await c.client.create({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: c.ns },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { nodeSelector: { 'trellis.dev/nowhere': 'true' }, containers: [{ name: 'web', image: 'nginx' }] } } },
  });
  await c.client.patchStatus({ ...PKG, namespace: c.ns, name: 'web' }, {
    objects: [`${c.ns}_web-content__ConfigMap v1`, `${c.ns}_web_apps_Deployment v1`, `${c.ns}_gone__Service v1`],
  });
  const r = await c.run('status', 'web');
  t.is(r.code, 0, r.err);
  t.regex(r.out, new RegExp(`^ +ConfigMap +${c.ns}/web-content +Current `, 'm'));
  t.regex(r.out, new RegExp(`^ +Deployment\\.apps +${c.ns}/web +InProgress +`, 'm'), 'a Deployment whose Pods cannot be scheduled is still rolling out');
  t.regex(r.out, new RegExp(`^ +Service +${c.ns}/gone +NotFound +`, 'm'));
  const json = JSON.parse((await c.run('status', 'web', '-o', 'json')).out) as { objects: { name: string; health: string }[] };
  t.deepEqual(json.objects.map((o) => `${o.name}=${o.health}`), ['web-content=Current', 'web=InProgress', 'gone=NotFound']);
});

test('logs reads the controllers\' Pods in the Trellis namespace, and says so when there are none', async (t) => {
  const c = await setup(t);
  await installed(c, 'web');
  const none = await c.run('logs', 'web', '--trellis-namespace', c.ns);
  t.is(none.code, 1);
  t.is(none.err, `error: no running source-controller or apply-controller Pod in namespace ${c.ns}: is Trellis installed there? (--trellis-namespace)\n`);
  const missing = await c.run('logs', 'nope', '--trellis-namespace', c.ns);
  t.is(missing.err, `error: package "nope" not found in namespace ${c.ns}\n`);
  const bad = await c.run('logs', 'web', '--tail', 'lots');
  t.regex(bad.err, /option '--tail <lines>' argument 'lots' is invalid/);
});
