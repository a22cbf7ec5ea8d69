// `trellis dev` against the real apiserver and registry. The apply controller's
// part (reading the annotation, writing the status and the Applied event) is
// played by the test through the real apiserver, so the loop is tested on its own:
// rebuild on change, push where the Package's OCIRepository looks, the reconcile
// request on source and Package, and the outcome read back from the status.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import anyTest, { type ExecutionContext } from 'ava';
import { projectRoot } from '../../../hack/lib/system-tools.ts';
import { runDevLoop, type DevEvent } from '../../../packages-cdk8s/build/dev.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import { microTime, type KubeObject, type ObjectRef } from '../../../runtime/object.ts';
import { REQUESTED_AT_ANNOTATION } from '../../../runtime/predicates.ts';
import { OciClient, parseReference } from '../../../source-controller/oci/index.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { configMapPackage, packageRoot, writePackage } from './packages.ts';

const test = withServers(withCluster(anyTest));

type Of<T extends DevEvent['type']> = Extract<DevEvent, { type: T }>;

/** The loop's events in order; `next` waits for the next one of a type after the last one taken. */
class Events {
  readonly all: DevEvent[] = [];
  #cursor = 0;
  #wake: (() => void) | undefined;
  readonly push = (event: DevEvent): void => {
    this.all.push(event);
    this.#wake?.();
  };

  async next<T extends DevEvent['type']>(type: T, timeoutMs = 60_000): Promise<Of<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.all.findIndex((e, idx) => idx >= this.#cursor && e.type === type);
      if (i >= 0) {
        this.#cursor = i + 1;
        return this.all[i] as Of<T>;
      }
      const failure = this.all.slice(this.#cursor).find((e) => e.type === 'build-failed' || e.type === 'push-failed');
      if (failure && type !== failure.type) throw new Error(`waiting for ${type}, got ${JSON.stringify(failure, (_k, v: unknown) => (v instanceof Error ? v.message : v))}`);
      if (Date.now() > deadline) throw new Error(`no ${type} event within ${timeoutMs} ms; saw ${this.all.map((e) => e.type).join(', ')}`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 250);
      });
    }
  }
}

interface Setup {
  kube: KubeClient;
  namespace: string;
  registryHost: string;
  pkg: ObjectRef;
  source: ObjectRef;
}

async function setup(t: ExecutionContext, name: string): Promise<Setup> {
  const cluster = await useCluster();
  const namespace = await testNamespace(t, cluster);
  const kube = new KubeClient(cluster.kubeConfig);
  const registry = await useRegistry();
  const source: ObjectRef = { apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', namespace, name };
  const pkg: ObjectRef = { apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace, name };
  await kube.create({ ...source, metadata: { name, namespace }, spec: { url: `oci://${registry.host}/dev/${name}`, ref: { tag: 'dev' }, insecure: true } } as KubeObject);
  await kube.create({ ...pkg, metadata: { name, namespace }, spec: { sourceRef: { kind: 'OCIRepository', name } } } as KubeObject);
  return { kube, namespace, registryHost: registry.host, pkg, source };
}

/** What the apply controller writes when it has handled a request for `revision`. */
async function playController(s: Setup, requestedAt: string, revision: string,
  verdict: { ready: true; changes: string } | { ready: false; condition: string; reason: string; message: string }): Promise<void> {
  const now = new Date().toISOString();
  const conditions = verdict.ready
    ? [{ type: 'Ready', status: 'True', reason: 'Succeeded', message: `Applied revision 1: ${revision}`, lastTransitionTime: now }]
    : [
      { type: 'Ready', status: 'False', reason: verdict.reason, message: verdict.message, lastTransitionTime: now },
      { type: verdict.condition, status: 'True', reason: verdict.reason, message: verdict.message, lastTransitionTime: now },
    ];
  await s.kube.patchStatus(s.pkg, {
    lastHandledReconcileAt: requestedAt, lastAttemptedRevision: revision, conditions,
    ...(verdict.ready ? { lastAppliedRevision: revision, currentRevision: 1 } : {}),
  });
  if (verdict.ready) {
    await s.kube.create({
      apiVersion: 'events.k8s.io/v1', kind: 'Event',
      metadata: { name: `${s.pkg.name}.${Date.now()}`, namespace: s.namespace },
      regarding: { apiVersion: s.pkg.apiVersion, kind: 'Package', name: s.pkg.name, namespace: s.namespace },
      reason: 'Applied', note: `revision 1 (${revision}): ${verdict.changes}`, type: 'Normal', action: 'Apply',
      eventTime: microTime(), reportingController: 'trellis.dev/apply-controller', reportingInstance: 'dev-test',
    } as KubeObject);
  }
}

test('each change is rebuilt, pushed where the Package looks, reconciled on request, and its outcome printed', async (t) => {
  const s = await setup(t, 'hello');
  const dir = writePackage(packageRoot(), 'hello', configMapPackage());
  const oci = new OciClient({ insecure: true });
  const events = new Events();
  const stop = new AbortController();
  t.teardown(() => { stop.abort(); oci.close(); });
  const loop = runDevLoop({ dir, oci, kube: s.kube, namespace: s.namespace, debounceMs: 100, outcomeTimeoutMs: 60_000, report: events.push, signal: stop.signal });
  const repo = parseReference(`oci://${s.registryHost}/dev/hello`);
  const annotation = async (ref: ObjectRef): Promise<string | undefined> => (await s.kube.get(ref))?.metadata?.annotations?.[REQUESTED_AT_ANNOTATION];

  // First cycle: built at start, pushed to the OCIRepository's URL and tag, source and Package annotated.
  const first = (await events.next('pushed')).artifact;
  t.is((await oci.resolve(repo, { tag: 'dev' })).digest, first.digest);
  const request = await events.next('reconcile-requested');
  t.is(await annotation(s.source), request.requestedAt);
  t.is(await annotation(s.pkg), request.requestedAt);
  await playController(s, request.requestedAt, `dev@${first.digest}`, { ready: true, changes: '1 created' });
  t.like((await events.next('outcome')).outcome, { kind: 'applied', revision: `dev@${first.digest}`, packageRevision: 1, changes: '1 created' });

  // An edit: a new digest, a new request, and a failure reported with its file and object.
  writeFileSync(join(dir, 'package.ts'), configMapPackage({ greeting: 'bonjour' }));
  t.true((await events.next('changed')).files.includes('package.ts'));
  const second = (await events.next('pushed')).artifact;
  t.not(second.digest, first.digest);
  t.is((await oci.resolve(repo, { tag: 'dev' })).digest, second.digest);
  const request2 = await events.next('reconcile-requested');
  t.not(request2.requestedAt, request.requestedAt);
  const message = 'manifests/main/001-configmap-greeting.yaml: ConfigMap greeting: the apiserver refused it';
  await playController(s, request2.requestedAt, `dev@${second.digest}`, { ready: false, condition: 'ApplyFailed', reason: 'ApplyFailed', message });
  t.like((await events.next('outcome')).outcome, { kind: 'failed', condition: 'ApplyFailed', message });

  // A broken program is reported and nothing is pushed.
  writeFileSync(join(dir, 'package.ts'), 'export default definePackage({\n');
  t.regex((await events.next('build-failed')).error.message, /package\.ts/);
  t.is((await oci.resolve(repo, { tag: 'dev' })).digest, second.digest);

  // Back to the last pushed content: same tarball, nothing to push or reconcile.
  writeFileSync(join(dir, 'package.ts'), configMapPackage({ greeting: 'bonjour' }));
  await events.next('unchanged');
  stop.abort();
  await loop;
  t.is(events.all.filter((e) => e.type === 'pushed').length, 2);
});

test('without a Package the loop says so and still pushes to the fallback registry', async (t) => {
  const cluster = await useCluster();
  const namespace = await testNamespace(t, cluster);
  const registry = await useRegistry();
  const dir = writePackage(packageRoot(), 'lonely', configMapPackage({ name: 'lonely' }));
  const oci = new OciClient({ insecure: true });
  const events = new Events();
  const stop = new AbortController();
  t.teardown(() => { stop.abort(); oci.close(); });
  const loop = runDevLoop({
    dir, oci, kube: new KubeClient(cluster.kubeConfig), namespace, debounceMs: 100, report: events.push, signal: stop.signal,
    fallbackReference: (m) => ({ host: registry.host, repository: `dev/${m.name}`, tag: 'dev' }),
  });
  const missing = await events.next('no-package');
  t.is(missing.package.name, 'lonely');
  t.regex(missing.reason, /does not exist/);
  const pushed = await events.next('pushed');
  t.is(pushed.artifact.reference.repository, 'dev/lonely');
  t.false(events.all.some((e) => e.type === 'reconcile-requested'));
  stop.abort();
  await loop;
});

test('the trellis dev command pushes on start and stops cleanly on SIGTERM', async (t) => {
  const registry = await useRegistry();
  const dir = writePackage(packageRoot(), 'cli', configMapPackage({ name: 'cli' }));
  const child = spawn(process.execPath, [join(projectRoot, 'cli', 'trellis.ts'), 'dev', dir, '--no-reconcile', '--to', `oci://${registry.host}/dev/cli:dev`],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/pushed oci:\/\//.test(stderr)) resolve();
    });
    child.on('exit', () => reject(new Error(`trellis dev exited early:\n${stderr}`)));
  });
  child.kill('SIGTERM');
  t.is(await exited, 0);
  t.regex(stderr, /watching .*cli/);
  t.regex(stderr, /built cli 1\.0\.0: 1 object/);
  t.regex(stderr, new RegExp(`pushed oci://${registry.host}/dev/cli:dev@sha256:[a-f0-9]{64}`));
});
