// kubectl package against the real apiserver (and, for --set and diff, a real
// registry and a real artifact served over HTTP). No controller runs here: each
// test checks the objects and fields a command writes, and what it prints from
// objects the test put in place the way the controllers would.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type ExecutionContext } from 'ava';
import { parseAllDocuments } from 'yaml';
import type { Package } from '../../../apply-controller/api.ts';
import type { CommandIO } from '../../../cli/package/context.ts';
import { runPackageCli } from '../../../cli/package/index.ts';
import { captureTerminal, type CapturedTerminal } from '../../../cli/package/output.ts';
import { runPush } from '../../../cli/push.ts';
import { buildBundle } from '../../../packages-cdk8s/build/bundle.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import { microTime, type KubeObject } from '../../../runtime/object.ts';
import type { OCIRepository } from '../../../source-controller/api.ts';
import { runDir, scratchDir, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { useRegistry, withServers } from '../../support/servers.ts';

const test = withServers(withCluster(anyTest));

const PKG = { apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package' };
const OCI = { apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository' };
const REV = { apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageRevision' };
const SHA = (c: string) => `sha256:${c.repeat(64)}`;

interface Ctx { ns: string; client: KubeClient; run(...argv: string[]): Promise<{ code: number; out: string; err: string }> }

async function setup(t: ExecutionContext): Promise<Ctx> {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = new KubeClient(cluster.kubeConfig);
  const home = await mkdtemp(join(runDir(), 'home-'));
  return {
    ns, client,
    async run(...argv) {
      const term: CapturedTerminal = captureTerminal();
      const io: CommandIO = { term, env: { KUBECONFIG: cluster.kubeconfigPath, HOME: home }, now: () => new Date(), exit: () => undefined };
      const code = await runPackageCli([...argv, '-n', ns], io);
      return { code, out: term.stdout(), err: term.stderr() };
    },
  };
}

const getPkg = (c: Ctx, name = 'web') => c.client.get<Package>({ ...PKG, namespace: c.ns, name });
const getSource = (c: Ctx, name = 'web') => c.client.get<OCIRepository>({ ...OCI, namespace: c.ns, name });

test('install creates the OCIRepository and the Package with the right fields, owned by kubectl-package', async (t) => {
  const c = await setup(t);
  const r = await c.run('install', 'web', 'oci://127.0.0.1:5999/examples/web', '--version', '^1', '--service-account', 'deployer', '--interval', '1m');
  t.is(r.code, 0, r.err);
  t.is(r.out, 'ocirepository.source.trellis.dev/web created\npackage.apply.trellis.dev/web created\n');
  const source = await getSource(c);
  const pkg = await getPkg(c);
  t.deepEqual(source?.spec.ref, { semver: '^1' });
  t.is(source?.spec.url, 'oci://127.0.0.1:5999/examples/web');
  t.true(source?.spec.insecure, 'a loopback registry is plain HTTP');
  t.is(source?.spec.interval, '1m');
  t.is(source?.metadata.labels?.['apply.trellis.dev/installed-for'], 'web');
  t.deepEqual(pkg?.spec.sourceRef, { kind: 'OCIRepository', name: 'web' });
  t.is(pkg?.spec.serviceAccountName, 'deployer');
  t.is(pkg?.metadata.labels?.['app.kubernetes.io/managed-by'], 'kubectl-package');
  const managers = (pkg?.metadata.managedFields ?? []) as { manager: string; operation: string }[];
  t.true(managers.some((m) => m.manager === 'kubectl-package' && m.operation === 'Apply'), 'server-side apply as kubectl-package');

  const again = await c.run('install', 'web', 'oci://127.0.0.1:5999/examples/web', '--version', '^1', '--service-account', 'deployer', '--interval', '1m');
  t.is(again.out, 'ocirepository.source.trellis.dev/web unchanged\npackage.apply.trellis.dev/web unchanged\n');
});

test('install again with other flags updates both objects and drops what is no longer given', async (t) => {
  const c = await setup(t);
  t.is((await c.run('install', 'web', 'oci://127.0.0.1:5999/examples/web', '--version', '^1', '--service-account', 'deployer')).code, 0);
  const r = await c.run('install', 'web', 'oci://127.0.0.1:5999/examples/web', '--tag', '1.2.0');
  t.is(r.code, 0, r.err);
  t.regex(r.out, /ocirepository\.source\.trellis\.dev\/web configured\npackage\.apply\.trellis\.dev\/web configured/);
  t.deepEqual((await getSource(c))?.spec.ref, { tag: '1.2.0' });
  t.is((await getPkg(c))?.spec.serviceAccountName, undefined);
});

test('install refuses to take over an OCIRepository it did not create', async (t) => {
  const c = await setup(t);
  await c.client.create({ ...OCI, metadata: { name: 'web', namespace: c.ns }, spec: { url: 'oci://r.example/other' } });
  const r = await c.run('install', 'web', 'oci://r.example/web', '--tag', '1');
  t.is(r.code, 1);
  t.regex(r.err, /OCIRepository .*\/web exists and was not created by "kubectl package install web"/);
  t.is((await getSource(c))?.spec.url, 'oci://r.example/other');
  t.is(await getPkg(c), undefined, 'nothing was written');
});

test('install --dry-run writes nothing and prints the objects it would write', async (t) => {
  const c = await setup(t);
  const r = await c.run('install', 'web', 'oci://127.0.0.1:5999/examples/web', '--version', '^1', '--dry-run', '-o', 'yaml');
  t.is(r.code, 0, r.err);
  const docs = parseAllDocuments(r.out).map((d) => d.toJS() as KubeObject);
  t.deepEqual(docs.map((d) => `${d.kind}/${d.metadata?.namespace}/${d.metadata?.name}`), [`OCIRepository/${c.ns}/web`, `Package/${c.ns}/web`]);
  t.is(await getPkg(c), undefined);
  t.is(await getSource(c), undefined);
});

test('install --set is typed by the package\'s schema read from the registry; a bad value writes nothing', async (t) => {
  const c = await setup(t);
  const registry = await useRegistry();
  const sink = { write: () => true };
  await runPush('packages-cdk8s/examples/web', `oci://${registry.host}/examples/web:1.0.0`, { insecure: true },
    { stdout: sink, stderr: sink });
  const url = `oci://${registry.host}/examples/web`;
  const bad = await c.run('install', 'web', url, '--version', '^1', '--set', 'replicas=three');
  t.is(bad.code, 1);
  t.is(bad.err, 'error: --set replicas=three: replicas must be an integer\n');
  const tooMany = await c.run('install', 'web', url, '--version', '^1', '--set', 'replicas=21');
  t.regex(tooMany.err, /replicas must be <= 20/);
  const unknown = await c.run('install', 'web', url, '--version', '^1', '--set', 'replica=3');
  t.regex(unknown.err, /the package has no value replica \(known: extraConfigs, image, ingress, message, replicas\)/);
  t.is(await getPkg(c), undefined, 'nothing written for bad values');

  const good = await c.run('install', 'web', url, '--version', '^1', '--set', 'replicas=3', '--set', 'message=42');
  t.is(good.code, 0, good.err);
  t.deepEqual((await getPkg(c))?.spec.values, { replicas: 3, message: '42' });
  const missing = await c.run('install', 'web', url, '--version', '^9', '--set', 'replicas=3');
  t.is(missing.code, 1);
  t.regex(missing.err, /cannot read the package from .*\^9/);
});

async function installed(c: Ctx, name = 'web'): Promise<void> {
  const r = await c.run('install', name, `oci://127.0.0.1:5999/examples/${name}`, '--version', '^1');
  if (r.code !== 0) throw new Error(r.err);
}

async function setPackageStatus(c: Ctx, name: string, status: Record<string, unknown>): Promise<void> {
  await c.client.patchStatus({ ...PKG, namespace: c.ns, name }, status);
}

const ready = (message: string) => ({ type: 'Ready', status: 'True', reason: 'Succeeded', message, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });

test('list and get show kubectl-like tables; -A adds the namespace; -o json is the objects', async (t) => {
  const c = await setup(t);
  await installed(c, 'web');
  await installed(c, 'api');
  await setPackageStatus(c, 'web', { conditions: [ready('Applied revision 1.0.0')], lastAppliedRevision: `1.0.0@${SHA('a')}` });
  const list = await c.run('list');
  t.is(list.code, 0, list.err);
  const lines = list.out.trimEnd().split('\n');
  t.regex(lines[0] ?? '', /^NAME +READY +REVISION +AGE +MESSAGE$/);
  t.regex(lines[1] ?? '', /^api +Unknown +\d+s +waiting for the apply controller$/);
  t.regex(lines[2] ?? '', /^web +True +1\.0\.0@sha256:aaaaaaaaaaaa +\d+s +Applied revision 1\.0\.0$/);

  const all = await c.run('list', '-A');
  t.true(all.out.split('\n').some((l) => new RegExp(`^${c.ns} +web +True`).test(l)));
  const json = JSON.parse((await c.run('list', '-o', 'json')).out) as { items: Package[] };
  t.deepEqual(json.items.map((p) => p.metadata.name).sort(), ['api', 'web']);

  const get = await c.run('get', 'web');
  t.is(get.out.trimEnd().split('\n').length, 2);
  const missing = await c.run('get', 'nope');
  t.is(missing.code, 1);
  t.is(missing.err, `error: package "nope" not found in namespace ${c.ns}\n`);
});

test('list in an empty namespace says so on stderr and exits 0', async (t) => {
  const c = await setup(t);
  const r = await c.run('list');
  t.is(r.code, 0);
  t.is(r.out, '');
  t.is(r.err, `No packages found in ${c.ns} namespace.\n`);
});

async function writeRevision(c: Ctx, n: number, phase: string | undefined, message = ''): Promise<void> {
  const pkg = await getPkg(c);
  await c.client.create({
    ...REV,
    metadata: {
      name: `web-${n}`, namespace: c.ns, labels: { 'apply.trellis.dev/package': 'web', 'apply.trellis.dev/revision': String(n) },
      ownerReferences: [{ apiVersion: PKG.apiVersion, kind: 'Package', name: 'web', uid: pkg?.metadata.uid ?? '', controller: true }],
    },
    spec: {
      packageName: 'web', revision: n, valuesHash: SHA('e'), phases: [], size: 0,
      source: { kind: 'OCIRepository', name: 'web', namespace: c.ns, revision: `1.${n}.0@${SHA(String(n))}`, digest: SHA('f') },
    },
  });
  if (phase) await c.client.patchStatus({ ...REV, namespace: c.ns, name: `web-${n}` }, { phase, ...(message ? { message } : {}) });
}

test('history lists the Package\'s revisions in order, marks the current one, ignores other packages\'', async (t) => {
  const c = await setup(t);
  await installed(c);
  t.regex((await c.run('history', 'web')).err, /web has no revisions yet/);
  await writeRevision(c, 2, 'Failed', 'Deployment web not ready');
  await writeRevision(c, 1, 'Superseded');
  await writeRevision(c, 3, 'Available', 'healthy');
  await c.client.create({
    ...REV, metadata: { name: 'other-1', namespace: c.ns, labels: { 'apply.trellis.dev/package': 'other' } },
    spec: { packageName: 'other', revision: 1, valuesHash: SHA('e'), phases: [], size: 0,
      source: { kind: 'OCIRepository', name: 'other', namespace: c.ns, revision: `9.9.9@${SHA('9')}`, digest: SHA('f') } },
  });
  await setPackageStatus(c, 'web', { currentRevision: 3 });
  const r = await c.run('history', 'web');
  t.is(r.code, 0, r.err);
  const lines = r.out.trimEnd().split('\n');
  t.regex(lines[0] ?? '', /^REVISION +SOURCE +STATUS +AGE +MESSAGE$/);
  t.regex(lines[1] ?? '', /^1 +1\.1\.0@sha256:111111111111 +Superseded +\d+s$/);
  t.regex(lines[2] ?? '', /^2 +1\.2\.0@sha256:222222222222 +Failed +\d+s +Deployment web not ready$/);
  t.regex(lines[3] ?? '', /^3 +1\.3\.0@sha256:333333333333 +Available \(current\) +\d+s +healthy$/);
  t.is(lines.length, 4);
});

test('rollback pins spec.rollback.revision: --to N, the previous healthy one by default; refuses bad targets; --unpin', async (t) => {
  const c = await setup(t);
  await installed(c);
  await writeRevision(c, 1, 'Superseded');
  await writeRevision(c, 2, 'Failed', 'health check failed');
  await writeRevision(c, 3, 'Available');
  await setPackageStatus(c, 'web', { currentRevision: 3 });
  const generation = (await getPkg(c))?.metadata.generation ?? 0;

  const bad = await c.run('rollback', 'web', '--to', '2');
  t.is(bad.code, 1);
  t.regex(bad.err, /revision 2 of web is Failed \(health check failed\)/);
  t.is((await c.run('rollback', 'web', '--to', '7')).code, 1);
  t.is((await getPkg(c))?.spec.rollback?.revision, undefined, 'nothing pinned by refused rollbacks');

  const r = await c.run('rollback', 'web');
  t.is(r.code, 0, r.err);
  t.regex(r.out, /pinned to revision 1 \(1\.1\.0@sha256:111111111111\)/);
  const pinned = await getPkg(c);
  t.is(pinned?.spec.rollback?.revision, 1);
  t.true((pinned?.metadata.generation ?? 0) > generation, 'a spec change the controller sees');

  await c.run('rollback', 'web', '--to', '3');
  t.is((await getPkg(c))?.spec.rollback?.revision, 3);
  const unpin = await c.run('rollback', 'web', '--unpin');
  t.is(unpin.code, 0, unpin.err);
  t.is((await getPkg(c))?.spec.rollback?.revision, undefined);

  // A later install (same field manager, server-side apply) keeps a pin that rollback set.
  await c.run('rollback', 'web', '--to', '1');
  await installed(c);
  t.is((await getPkg(c))?.spec.rollback?.revision, 1);
});

test('suspend and resume set spec.suspend (with --with-source on the source too); resume requests a reconcile', async (t) => {
  const c = await setup(t);
  await installed(c);
  const s = await c.run('suspend', 'web', '--with-source');
  t.is(s.code, 0, s.err);
  t.is((await getPkg(c))?.spec.suspend, true);
  t.is((await getSource(c))?.spec.suspend, true);
  const r = await c.run('resume', 'web');
  t.is(r.code, 0, r.err);
  const pkg = await getPkg(c);
  t.is(pkg?.spec.suspend, false);
  t.truthy(pkg?.metadata.annotations?.['reconcile.trellis.dev/requestedAt']);
  t.is((await getSource(c))?.spec.suspend, true, 'the source was not resumed without --with-source');
});

test('reconcile sets the requestedAt annotation on the Package, and on the source with --with-source', async (t) => {
  const c = await setup(t);
  await installed(c);
  const r = await c.run('reconcile', 'web');
  t.is(r.code, 0, r.err);
  const first = (await getPkg(c))?.metadata.annotations?.['reconcile.trellis.dev/requestedAt'];
  t.truthy(first);
  t.is((await getSource(c))?.metadata.annotations?.['reconcile.trellis.dev/requestedAt'], undefined);
  await new Promise((res) => setTimeout(res, 5));
  await c.run('reconcile', 'web', '--with-source');
  const second = (await getPkg(c))?.metadata.annotations?.['reconcile.trellis.dev/requestedAt'];
  t.not(second, first, 'a new request is a new value');
  t.is((await getSource(c))?.metadata.annotations?.['reconcile.trellis.dev/requestedAt'], second);
  t.is((await c.run('reconcile', 'nope')).code, 1);
});

test('reconcile --wait fails when the controller reports the reconcile failed', async (t) => {
  const c = await setup(t);
  await installed(c);
  // Play the controller: answer the request with Ready=False.
  const answer = (async () => {
    for (let i = 0; i < 100; i += 1) {
      const at = (await getPkg(c))?.metadata.annotations?.['reconcile.trellis.dev/requestedAt'];
      if (at) {
        await setPackageStatus(c, 'web', {
          lastHandledReconcileAt: at,
          conditions: [{ type: 'Ready', status: 'False', reason: 'ArtifactFailed', message: 'digest mismatch', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
        });
        return;
      }
      await new Promise((res) => setTimeout(res, 50));
    }
  })();
  const r = await c.run('reconcile', 'web', '--wait', '--timeout', '30s');
  await answer;
  t.is(r.code, 1);
  t.regex(r.err, /Package .*\/web: digest mismatch/);
});

test('--wait gives up after --timeout with the last state and a non-zero exit', async (t) => {
  const c = await setup(t);
  await installed(c);
  const r = await c.run('reconcile', 'web', '--wait', '--timeout', '1s');
  t.is(r.code, 1);
  t.regex(r.err, /error: timed out after 1s: waiting for the controller to reconcile Package .*\/web/);
});

test('uninstall deletes the Package and the source install created, but not a source others made', async (t) => {
  const c = await setup(t);
  await installed(c);
  const r = await c.run('uninstall', 'web', '--wait', '--timeout', '30s');
  t.is(r.code, 0, r.err);
  t.regex(r.out, /package\.apply\.trellis\.dev\/web deleted\nocirepository\.source\.trellis\.dev\/web deleted/);
  t.is(await getPkg(c), undefined);
  t.is(await getSource(c), undefined);

  await c.client.create({ ...OCI, metadata: { name: 'shared', namespace: c.ns }, spec: { url: 'oci://r.example/shared' } });
  await c.client.create({ ...PKG, metadata: { name: 'manual', namespace: c.ns }, spec: { sourceRef: { kind: 'OCIRepository', name: 'shared' } } });
  const r2 = await c.run('uninstall', 'manual');
  t.is(r2.code, 0, r2.err);
  t.is(await getPkg(c, 'manual'), undefined);
  t.truthy(await getSource(c, 'shared'), 'a source install did not create stays');
  t.is((await c.run('uninstall', 'manual')).code, 1, 'uninstalling what is not there fails');
});

test('status shows the source, revision, conditions, inventory counts and the Package\'s events', async (t) => {
  const c = await setup(t);
  await installed(c);
  const pkg = await getPkg(c);
  await setPackageStatus(c, 'web', {
    conditions: [ready('Applied revision 1.0.0')], currentRevision: 2, lastAppliedRevision: `1.0.0@${SHA('a')}`,
    objects: [`${c.ns}_web_apps_Deployment v1`, `${c.ns}_web__Service v1`, `${c.ns}_web-content__ConfigMap v1`],
  });
  for (const [name, uid, note] of [['web', pkg?.metadata.uid, '3 created'], ['other', 'x', 'not about web']] as const) {
    await c.client.create({
      apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: `${name}.${Date.now()}`, namespace: c.ns },
      eventTime: microTime(), reportingController: 'trellis.dev/apply-controller', reportingInstance: 'test', action: 'Reconcile',
      reason: 'Applied', note, type: 'Normal',
      regarding: { apiVersion: PKG.apiVersion, kind: 'Package', name, namespace: c.ns, uid },
    } as KubeObject);
  }
  const r = await c.run('status', 'web');
  t.is(r.code, 0, r.err);
  t.regex(r.out, /^Source: +OCIRepository\/web +oci:\/\/127\.0\.0\.1:5999\/examples\/web +\(semver \^1\)$/m);
  t.regex(r.out, /^Revision: +2 +1\.0\.0@sha256:a+$/m);
  t.regex(r.out, /^ +Ready +True +Succeeded +\d+s +Applied revision 1\.0\.0$/m);
  t.regex(r.out, /^Inventory: +3 objects$/m);
  t.regex(r.out, /^ +Deployment\.apps +1$/m);
  t.regex(r.out, /^ +Normal +Applied +\d+s +trellis\.dev\/apply-controller +3 created$/m);
  t.false(r.out.includes('not about web'));
  const json = JSON.parse((await c.run('status', 'web', '-o', 'json')).out) as { inventory: Record<string, number>; events: unknown[] };
  t.deepEqual(json.inventory, { ConfigMap: 1, 'Deployment.apps': 1, Service: 1 });
  t.is(json.events.length, 1);
});

/** Serves one file over HTTP on loopback, like the source controller's artifact server. */
async function serveFile(file: string): Promise<{ url: string; server: Server }> {
  const bytes = readFileSync(file);
  const server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/gzip' }); res.end(bytes); });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/web.tgz`, server };
}

test('diff shows what the next revision would create, change and prune, writing nothing; exits 1 when it differs', async (t) => {
  const c = await setup(t);
  await installed(c);
  const built = await buildBundle('packages-cdk8s/examples/web', { out: join(scratchDir('bundle'), 'web.tgz') });
  const { url, server } = await serveFile(built.file);
  t.teardown(() => { server.close(); });
  const digest = `sha256:${createHash('sha256').update(readFileSync(built.file)).digest('hex')}`;
  await c.client.patchStatus({ ...OCI, namespace: c.ns, name: 'web' }, {
    artifact: { url, revision: `1.0.0@${SHA('a')}`, digest, size: built.size, lastUpdateTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
  });
  await setPackageStatus(c, 'web', { objects: [`${c.ns}_old__ConfigMap v1`] });

  const r = await c.run('diff', 'web');
  t.is(r.code, 1, r.err);
  t.regex(r.out, new RegExp(`^\\+ ConfigMap/${c.ns}/web-content$`, 'm'));
  t.regex(r.out, new RegExp(`^\\+ Deployment/${c.ns}/web$`, 'm'));
  t.regex(r.out, new RegExp(`^\\+ Service/${c.ns}/web$`, 'm'));
  t.regex(r.out, new RegExp(`^- ${c.ns}_old__ConfigMap \\(pruned\\)$`, 'm'));
  t.regex(r.out, /^3 to create, 0 to change, 1 to delete \(source 1\.0\.0@sha256:a+\)$/m);
  t.is(await c.client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: c.ns, name: 'web' }), undefined, 'dry-run only');

  // The page as the package renders it by default, applied the way the controller would.
  await c.client.apply({
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: 'web-content', namespace: c.ns, labels: { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/part-of': 'trellis-examples', 'apply.trellis.dev/package': 'web', 'apply.trellis.dev/package-namespace': c.ns },
      annotations: { 'apply.trellis.dev/phase': 'config' } },
    data: { 'index.html': '<!doctype html>\n<h1>Hello from Trellis</h1>\n' },
  }, { fieldManager: 'trellis' });
  const same = await c.run('diff', 'web', '-o', 'json');
  const report = JSON.parse(same.out) as { changes: { subject: string; action: string }[] };
  t.false(report.changes.some((d) => d.subject.startsWith('ConfigMap/')), `an object equal to the package is not a change: ${same.out}`);

  const changed = await c.run('diff', 'web', '--set', 'message=Goodbye');
  t.regex(changed.out, new RegExp(`^~ ConfigMap/${c.ns}/web-content\\n {4}~ /data/index\\.html: ".*Hello from Trellis.*" -> ".*Goodbye.*"$`, 'm'));
  const badSet = await c.run('diff', 'web', '--set', 'replicas=lots');
  t.is(badSet.code, 2, 'an error, not "changes"');
  t.regex(badSet.err, /replicas must be an integer/);
});

test('diff without an artifact says the source has none yet, exit code 2', async (t) => {
  const c = await setup(t);
  await installed(c);
  const r = await c.run('diff', 'web');
  t.is(r.code, 2, 'an error exits 2: 1 means "there are changes"');
  t.is(r.err, 'error: the source OCIRepository/web has no artifact yet\n');
});
