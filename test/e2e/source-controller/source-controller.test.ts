// The source-controller as a process (node source-controller/main.ts) against the
// test cluster, a real registry fed by the real `oras` CLI and a real Git server:
// sources become Ready, artifacts are served with the advertised digest, new tags
// and commits are picked up on the next interval, polls with nothing new cost one
// cheap request and no download, `kubectl get` tells the story, secrets stay out of
// the log, and SIGTERM stops it cleanly.
import anyTest, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pushCommit } from '../../../hack/git-fixtures.ts';
import type { GitServer } from '../../../hack/git-server.ts';
import { ensurePeerTools } from '../../../hack/peer-tools.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import type { GitRepository, OCIRepository } from '../../../source-controller/api.ts';
import {
  FLUX_CONFIG_MEDIA_TYPE, FLUX_CONTENT_MEDIA_TYPE, TRELLIS_ARTIFACT_TYPE, TRELLIS_CONTENT_MEDIA_TYPE,
} from '../../../source-controller/oci/index.ts';
import { eventually, scratchDir, testNamespace, useCluster, withCluster, type TestCluster } from '../../support/cluster.ts';
import { startController, withControllers, type RunningController } from '../../support/controllers.ts';
import { useGitServer, useRegistry, withServers } from '../../support/servers.ts';
import { startTokenAuthProxy } from '../../support/token-auth-proxy.ts';
import { craftTarGz } from '../../unit/archive/craft.ts';
import {
  conditionOf, download, readTreeFile, sha256, unpackArtifact, type EventObject,
} from '../../integration/source-controller/support.ts';

const test = withControllers(withServers(withCluster(anyTest)));
const run = promisify(execFile);
const SOURCE_API = 'source.trellis.dev/v1alpha1';

interface Env {
  readonly cluster: TestCluster;
  readonly client: KubeClient;
  readonly namespace: string;
  readonly controller: RunningController;
}

/**
 * A namespace and a source-controller process watching only it. When the test
 * ends the sources are deleted first (the running controller releases their
 * finalizers), then the controller is stopped, then the namespace goes.
 */
async function setup(t: ExecutionContext): Promise<Env> {
  const cluster = await useCluster();
  const namespace = await testNamespace(t, cluster);
  const client = new KubeClient(cluster.kubeConfig, { qps: 0 });
  const controller = await startController({
    entry: 'source-controller/main.ts',
    args: [
      '--kubeconfig', cluster.kubeconfigPath, '--storage-path', join(scratchDir('source-storage'), 'data'),
      '--artifact-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--health-addr', '',
      '--watch-namespace', namespace, '--log-level', 'debug', '--concurrent', '2',
    ],
  });
  t.teardown(async () => {
    for (const kind of ['GitRepository', 'OCIRepository']) {
      const list = await client.list({ apiVersion: SOURCE_API, kind, namespace });
      for (const item of list.items) await client.delete({ apiVersion: SOURCE_API, kind, namespace, name: item.metadata!.name! });
    }
    await eventually(async () => {
      const left = await Promise.all(['GitRepository', 'OCIRepository'].map((kind) => client.list({ apiVersion: SOURCE_API, kind, namespace })));
      return left.every((l) => l.items.length === 0);
    }, 30_000);
    await controller.stop();
  });
  return { cluster, client, namespace, controller };
}

async function create<T>(env: Env, kind: 'GitRepository' | 'OCIRepository', name: string, spec: Record<string, unknown>): Promise<T> {
  return env.client.create({ apiVersion: SOURCE_API, kind, metadata: { name, namespace: env.namespace }, spec }) as Promise<T>;
}

async function get<T extends GitRepository | OCIRepository>(env: Env, kind: string, name: string): Promise<T | undefined> {
  return env.client.get<T>({ apiVersion: SOURCE_API, kind, namespace: env.namespace, name });
}

/** Waits until the source is Ready with a revision `accept` likes; returns it. */
async function readyWith<T extends GitRepository | OCIRepository>(env: Env, kind: string, name: string,
  accept: (revision: string) => boolean = () => true, timeoutMs = 30_000): Promise<T> {
  return eventually(async () => {
    const obj = await get<T>(env, kind, name);
    const revision = obj?.status?.artifact?.revision;
    return conditionOf(obj, 'Ready')?.status === 'True' && revision !== undefined && accept(revision) && obj;
  }, timeoutMs);
}

/** Runs oras with a private HOME (no docker config of the machine is read or written). */
async function oras(cwd: string, args: readonly string[]): Promise<string> {
  const { oras: binary } = ensurePeerTools(() => undefined);
  const home = join(cwd, '.home');
  mkdirSync(home, { recursive: true });
  const { stdout } = await run(binary, args, { cwd, env: { ...process.env, HOME: home, DOCKER_CONFIG: home } });
  return stdout;
}

/** A folder with `content.tgz` holding `files`, ready for `oras push`. */
function orasDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(scratchDir('oras'), 'w-'));
  writeFileSync(join(dir, 'content.tgz'), craftTarGz(Object.entries(files).map(([path, body]) => ({ path, body }))));
  writeFileSync(join(dir, 'config.json'), '{}');
  return dir;
}

const orasDigest = (out: string): string => /Digest: (sha256:[a-f0-9]{64})/.exec(out)![1]!;

/** Request lines the Git server logged. */
function gitRequests(server: GitServer): string[] {
  const file = join(server.dir, 'git-server.log');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => /^(GET|POST) /.test(l)) : [];
}

/** The controller's debug lines saying a poll of `key` found nothing new. */
function quietPolls(controller: RunningController, key: string): number {
  return controller.lines().filter((l) => l.key === key && typeof l.msg === 'string' && l.msg.startsWith('revision unchanged')).length;
}

test('artifacts pushed by oras (Trellis and Flux media types) become Ready and are served with the advertised digest; kubectl get shows them', async (t) => {
  const env = await setup(t);
  const registry = await useRegistry();
  const trellis = orasDir({ 'manifests/app.yaml': 'kind: ConfigMap\n' });
  const trellisDigest = orasDigest(await oras(trellis, [
    'push', '--plain-http', `${registry.host}/team/app:1.0.0`, '--artifact-type', TRELLIS_ARTIFACT_TYPE,
    '--annotation', 'org.opencontainers.image.version=1.0.0', `content.tgz:${TRELLIS_CONTENT_MEDIA_TYPE}`,
  ]));
  const flux = orasDir({ 'flux.yaml': 'flux: true\n' });
  const fluxDigest = orasDigest(await oras(flux, [
    'push', '--plain-http', `${registry.host}/team/flux:latest`, '--config', `config.json:${FLUX_CONFIG_MEDIA_TYPE}`,
    `content.tgz:${FLUX_CONTENT_MEDIA_TYPE}`,
  ]));
  await create(env, 'OCIRepository', 'app', { url: `oci://${registry.host}/team/app`, insecure: true, interval: '2s', ref: { tag: '1.0.0' } });
  await create(env, 'OCIRepository', 'flux', { url: `oci://${registry.host}/team/flux`, insecure: true, interval: '2s' });

  const app = await readyWith<OCIRepository>(env, 'OCIRepository', 'app');
  t.is(app.status!.artifact!.revision, `1.0.0@${trellisDigest}`);
  t.is(app.status!.artifact!.metadata?.['org.opencontainers.image.version'], '1.0.0');
  const bytes = await download(app.status!.artifact!.url);
  t.is(sha256(bytes), app.status!.artifact!.digest, 'the served artifact hashes to status.artifact.digest');
  t.is(await readTreeFile(await unpackArtifact(app.status!.artifact!.url), 'manifests/app.yaml'), 'kind: ConfigMap\n');
  const fluxObj = await readyWith<OCIRepository>(env, 'OCIRepository', 'flux');
  t.is(fluxObj.status!.artifact!.revision, `latest@${fluxDigest}`);
  t.is(await readTreeFile(await unpackArtifact(fluxObj.status!.artifact!.url), 'flux.yaml'), 'flux: true\n');
  const served = env.controller.lines().find((l) => l.msg === 'serving artifacts');
  t.true(app.status!.artifact!.url.startsWith(String(served?.advertisedUrl)), 'URLs use the advertised address the controller logged');

  const server = await useGitServer();
  const sha = await pushCommit(server, 'kubectl', { files: { 'a.yaml': 'a\n' } });
  await create(env, 'GitRepository', 'repo', { url: server.repoUrl('kubectl'), interval: '2s' });
  await readyWith(env, 'GitRepository', 'repo');
  const { stdout } = await run('kubectl', ['--kubeconfig', env.cluster.kubeconfigPath, '-n', env.namespace, 'get', 'gitrepositories,ocirepositories']);
  t.log(stdout);
  const rows = stdout.split('\n').filter((l) => /^(gitrepository|ocirepository)/.test(l));
  t.is(rows.length, 3);
  t.true(rows.every((r) => /\sTrue\s/.test(r)), 'READY True everywhere');
  t.true(rows.some((r) => r.includes(`main@sha1:${sha}`)));
  t.true(rows.some((r) => r.includes(`1.0.0@${trellisDigest}`)));
  t.true(rows.some((r) => r.includes(`latest@${fluxDigest}`)));
});

test('a semver range picks the highest of several oras tags, and a new tag is picked up on the next interval', async (t) => {
  const env = await setup(t);
  const registry = await useRegistry();
  const digests = new Map<string, string>();
  for (const tag of ['1.0.0', '1.3.0', '1.10.1', '2.0.0', '1.11.0-rc.1']) {
    const dir = orasDir({ 'version.txt': tag });
    digests.set(tag, orasDigest(await oras(dir, ['push', '--plain-http', `${registry.host}/team/versions:${tag}`, `content.tgz:${TRELLIS_CONTENT_MEDIA_TYPE}`])));
  }
  await create(env, 'OCIRepository', 'versions', { url: `oci://${registry.host}/team/versions`, insecure: true, interval: '2s', ref: { semver: '^1.0.0' } });
  const first = await readyWith<OCIRepository>(env, 'OCIRepository', 'versions');
  t.is(first.status!.artifact!.revision, `1.10.1@${digests.get('1.10.1')}`);
  const dir = orasDir({ 'version.txt': '1.12.0' });
  const newest = orasDigest(await oras(dir, ['push', '--plain-http', `${registry.host}/team/versions:1.12.0`, `content.tgz:${TRELLIS_CONTENT_MEDIA_TYPE}`]));
  const next = await readyWith<OCIRepository>(env, 'OCIRepository', 'versions', (r) => r.startsWith('1.12.0@'));
  t.is(next.status!.artifact!.revision, `1.12.0@${newest}`);
  t.is(await readTreeFile(await unpackArtifact(next.status!.artifact!.url), 'version.txt'), '1.12.0');
});

test('polls with nothing new make one cheap request per source and download nothing; a new commit is picked up on the next interval', async (t) => {
  const env = await setup(t);
  const server = await useGitServer();
  const registry = await useRegistry();
  const proxy = await startTokenAuthProxy({ upstream: registry, auth: 'none' });
  t.teardown(() => proxy.stop());
  await pushCommit(server, 'polled', { files: { 'a.yaml': '1\n' } });
  await oras(orasDir({ 'a.txt': 'a' }), ['push', '--plain-http', `${proxy.host}/team/polled:1.0.0`, `content.tgz:${TRELLIS_CONTENT_MEDIA_TYPE}`]);
  await create(env, 'GitRepository', 'git', { url: server.repoUrl('polled'), interval: '2s' });
  await create(env, 'OCIRepository', 'oci', { url: `oci://${proxy.host}/team/polled`, insecure: true, interval: '2s', ref: { tag: '1.0.0' } });
  await readyWith(env, 'GitRepository', 'git');
  await readyWith(env, 'OCIRepository', 'oci');

  const gitKey = `${env.namespace}/git`;
  const ociKey = `${env.namespace}/oci`;
  await eventually(() => Promise.resolve(quietPolls(env.controller, gitKey) >= 1 && quietPolls(env.controller, ociKey) >= 1));
  const mark = { git: gitRequests(server).length, oci: proxy.requests.length, gitPolls: quietPolls(env.controller, gitKey), ociPolls: quietPolls(env.controller, ociKey) };
  const versions = async (): Promise<unknown[]> => [(await get(env, 'GitRepository', 'git'))?.metadata.resourceVersion, (await get(env, 'OCIRepository', 'oci'))?.metadata.resourceVersion];
  const versionsBefore = await versions();
  await eventually(() => Promise.resolve(
    quietPolls(env.controller, gitKey) >= mark.gitPolls + 3 && quietPolls(env.controller, ociKey) >= mark.ociPolls + 3), 30_000);
  const gitWindow = gitRequests(server).slice(mark.git);
  const ociWindow = proxy.requests.slice(mark.oci).map((r) => `${r.method} ${r.path} ${r.status}`);
  const gitPolls = quietPolls(env.controller, gitKey) - mark.gitPolls;
  const ociPolls = quietPolls(env.controller, ociKey) - mark.ociPolls;
  t.log({ gitPolls, gitRequests: gitWindow.length, ociPolls, ociRequests: ociWindow.length });
  t.true(gitWindow.every((l) => l === 'GET /polled.git/info/refs?service=git-upload-pack 200'), 'git: only ref listings, no upload-pack');
  t.true(ociWindow.every((l) => l === 'HEAD /v2/team/polled/manifests/1.0.0 200'), 'oci: only manifest HEADs, no blob');
  // A poll may be between its request and its log line at either end of the window.
  t.true(Math.abs(gitWindow.length - gitPolls) <= 1, `${gitWindow.length} git requests for ${gitPolls} polls`);
  t.true(Math.abs(ociWindow.length - ociPolls) <= 1, `${ociWindow.length} registry requests for ${ociPolls} polls`);
  t.deepEqual(await versions(), versionsBefore, 'quiet polls write nothing to the apiserver');
  const durations = (key: string): number[] => env.controller.lines()
    .filter((l) => l.key === key && l.msg === 'reconciled; requeued' && typeof l.durationMs === 'number').map((l) => l.durationMs as number);
  t.log({ quietPollMs: { git: durations(gitKey).slice(-3), oci: durations(ociKey).slice(-3) } });

  const sha = await pushCommit(server, 'polled', { files: { 'a.yaml': '2\n' } });
  const next = await readyWith<GitRepository>(env, 'GitRepository', 'git', (r) => r === `main@sha1:${sha}`, 15_000);
  t.is(await readTreeFile(await unpackArtifact(next.status!.artifact!.url), 'a.yaml'), '2\n');
});

test('wrong credentials: AuthenticationFailed in status and an Event, and no secret in the log, status or events; SIGTERM stops cleanly', async (t) => {
  const env = await setup(t);
  const server = await useGitServer({ auth: true });
  const { username, password } = server.auth!;
  await pushCommit(server, 'private', { files: { 'a.yaml': 'a\n' } });
  const secret = (pw: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: env.namespace }, stringData: { username, password: pw } });
  await env.client.apply(secret(password), { fieldManager: 'trellis-tests', force: true });
  await create(env, 'GitRepository', 'private', { url: server.repoUrl('private'), interval: '2s', secretRef: { name: 'creds' } });
  const good = await readyWith<GitRepository>(env, 'GitRepository', 'private');

  const wrong = `wrong-${randomBytes(16).toString('hex')}`;
  await env.client.apply(secret(wrong), { fieldManager: 'trellis-tests', force: true });
  const failed = await eventually(async () => {
    const obj = await get<GitRepository>(env, 'GitRepository', 'private');
    return conditionOf(obj, 'FetchFailed')?.reason === 'AuthenticationFailed' && obj;
  });
  t.deepEqual(failed.status?.artifact, good.status?.artifact, 'the last good artifact stays published');
  const events = await eventually(async () => {
    const list = await env.client.list<EventObject>({ apiVersion: 'events.k8s.io/v1', kind: 'Event', namespace: env.namespace });
    const items = list.items.filter((e) => e.regarding?.name === 'private');
    return items.some((e) => e.reason === 'AuthenticationFailed') && items;
  });
  await env.controller.waitForLine((l) => l.reason === 'AuthenticationFailed');

  const log = readFileSync(env.controller.logFile, 'utf8');
  const everything = [log, JSON.stringify(failed), JSON.stringify(events)].join('\n');
  t.true(log.includes('AuthenticationFailed'), 'the failure is in the log');
  for (const leak of [password, wrong, Buffer.from(`${username}:${password}`).toString('base64'), Buffer.from(`${username}:${wrong}`).toString('base64')]) {
    t.false(everything.includes(leak), 'no credential in the log, status or events');
  }

  const metricsUrl = String(env.controller.lines().find((l) => l.msg === 'serving /healthz, /readyz and /metrics')?.url);
  const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
  t.regex(metrics, /trellis_reconcile_total\{kind="GitRepository",result="(requeue|waiting)"\} \d+/);
  t.is((await fetch(`${metricsUrl}/readyz`)).status, 200);

  // Graceful stop (the sources are gone first, so nothing waits on a finalizer).
  await env.client.delete({ apiVersion: SOURCE_API, kind: 'GitRepository', namespace: env.namespace, name: 'private' });
  await eventually(async () => (await get(env, 'GitRepository', 'private')) === undefined);
  t.is(await env.controller.stop(), 0, 'exit code 0 after SIGTERM');
  t.true(env.controller.lines().some((l) => l.msg === 'source-controller stopped'));
});

test('a restart on the same storage downloads nothing and republishes the URLs; a standby replica takes over when the leader stops', async (t) => {
  const env = await setup(t);
  const server = await useGitServer();
  await pushCommit(server, 'restart', { files: { 'a.yaml': '1\n' } });
  await create(env, 'GitRepository', 'restart', { url: server.repoUrl('restart'), interval: '2s' });
  const before = await readyWith<GitRepository>(env, 'GitRepository', 'restart');
  const storage = join(scratchDir('source-storage'), 'shared');
  const args = (extra: string[]) => [
    '--kubeconfig', env.cluster.kubeconfigPath, '--artifact-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0',
    '--health-addr', '', '--watch-namespace', env.namespace, '--log-level', 'debug', '--leader-elect',
    '--leader-election-namespace', env.namespace, '--leader-election-id', 'source-test', ...extra,
  ];
  // The first controller goes away; two replicas share one storage folder from now on.
  await env.controller.stop();
  const leader = await startController({ entry: 'source-controller/main.ts', args: args(['--storage-path', storage]) });
  // Its storage is empty: the artifact is rebuilt, byte for byte the same, and served at its own address.
  const built = await eventually(async () => {
    const obj = await get<GitRepository>(env, 'GitRepository', 'restart');
    return obj?.status?.artifact?.url !== before.status?.artifact?.url && obj;
  });
  t.is(built.status!.artifact!.digest, before.status!.artifact!.digest, 'the same tree packs to the same digest');
  const standby = await startController({
    entry: 'source-controller/main.ts', args: args(['--storage-path', storage]),
    readyWhen: (l) => l.msg === 'serving /healthz, /readyz and /metrics',
  });
  t.false(standby.lines().some((l) => l.msg === 'controllers running'), 'the standby does not reconcile');
  const leaderUrl = (await get<GitRepository>(env, 'GitRepository', 'restart'))!.status!.artifact!.url;
  t.is(sha256(await download(leaderUrl)), built.status!.artifact!.digest);

  const seen = gitRequests(server).length;
  t.is(await leader.stop(), 0);
  await standby.waitForLine((l) => l.msg === 'controllers running', 30_000);
  const moved = await eventually(async () => {
    const obj = await get<GitRepository>(env, 'GitRepository', 'restart');
    return obj?.status?.artifact?.url !== leaderUrl && obj;
  });
  t.is(moved.status!.artifact!.revision, before.status!.artifact!.revision);
  t.is(moved.status!.artifact!.digest, built.status!.artifact!.digest);
  t.is(sha256(await download(moved.status!.artifact!.url)), moved.status!.artifact!.digest, 'the new leader serves the stored artifact');
  t.true(gitRequests(server).slice(seen).every((l) => l.startsWith('GET ')), 'the artifact on disk was not downloaded again');

  const sha = await pushCommit(server, 'restart', { files: { 'a.yaml': '2\n' } });
  await readyWith(env, 'GitRepository', 'restart', (r) => r === `main@sha1:${sha}`, 15_000);
  // The teardown deletes the source while the new leader runs (it releases the finalizer);
  // the file's after.always hook stops it.
});
