// Who may use `trellis ui`: it sees only what its kubeconfig's user may list (a user with
// rights to one namespace does not see another's Packages, in the browser), and it refuses
// requests a hostile web page could make — another Host (DNS rebinding), no session token,
// a cross-site Origin or Sec-Fetch-Site, a form-encodable body — without touching the cluster.
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import anyTest, { type ExecutionContext } from 'ava';
import type { Package } from '../../../apply-controller/index.ts';
import { bundleCommand } from '../../../hack/build-cli.ts';
import { projectRoot } from '../../../hack/lib/system-tools.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { connect } from '../../../cli/kube.ts';
import { ClusterState } from '../../../ui/server/cluster-state.ts';
import { eventually, scratchDir, testNamespace, useCluster, withCluster, type TestCluster } from '../../support/cluster.ts';
import { openBrowser, screenshot, startUi, watchedPage } from './support.ts';

const test = withCluster(anyTest);

async function createPackage(client: KubeClient, ns: string, name: string, values?: Record<string, unknown>): Promise<void> {
  await client.create({
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name, namespace: ns },
    spec: { sourceRef: { kind: 'OCIRepository', name }, ...(values ? { values } : {}) },
  });
}

const VIEWER = 'dashboard-viewer';

/** Lets the ServiceAccount `dashboard-viewer` of `saNamespace` read Trellis objects and Events in `ns`. */
async function grantRead(client: KubeClient, ns: string, saNamespace: string): Promise<void> {
  const name = VIEWER;
  await client.create({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: ns },
    rules: [
      { apiGroups: ['apply.trellis.dev', 'source.trellis.dev'], resources: ['*'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['get', 'list', 'watch'] },
    ],
  } as KubeObject);
  await client.create({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name, namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name, namespace: saNamespace }],
  } as KubeObject);
}

/** A kubeconfig for a new ServiceAccount of `ns` that may read Trellis objects and Events in `ns` only (and list namespaces). */
async function namespaceUser(t: ExecutionContext, cluster: TestCluster, client: KubeClient, ns: string): Promise<string> {
  const name = VIEWER;
  await client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } });
  await grantRead(client, ns, ns);
  const clusterRole = `${ns}-list-namespaces`;
  await client.create({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: clusterRole },
    rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['list'] }],
  } as KubeObject);
  await client.create({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: clusterRole },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
  } as KubeObject);
  t.teardown(async () => {
    for (const kind of ['ClusterRoleBinding', 'ClusterRole']) {
      await client.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind, name: clusterRole }).catch(() => undefined);
    }
  });
  // Kubernetes 1.20's token controller writes a token Secret for every ServiceAccount.
  const token = await eventually(async () => {
    const { items } = await client.list<KubeObject & { type?: string; data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', namespace: ns });
    const secret = items.find((s) => s.type === 'kubernetes.io/service-account-token' && s.metadata?.annotations?.['kubernetes.io/service-account.name'] === name);
    return secret?.data?.token ? Buffer.from(secret.data.token, 'base64').toString('utf8') : undefined;
  }, 30_000);
  const config = JSON.parse(cluster.kubeConfig.exportConfig()) as { users: { name: string; user: Record<string, unknown> }[] };
  for (const u of config.users) u.user = { token };
  const path = join(scratchDir('ui-viewer'), 'kubeconfig.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

test('a user without rights to a namespace does not see its Packages', async (t) => {
  const cluster = await useCluster();
  const client = new KubeClient(cluster.kubeConfig, { qps: 0 });
  const [mine, theirs] = await Promise.all([testNamespace(t, cluster), testNamespace(t, cluster)]);
  await Promise.all([createPackage(client, mine, 'mine', { replicas: 2, database: { password: 'hunter2' } }), createPackage(client, theirs, 'theirs')]);
  const kubeconfig = await namespaceUser(t, cluster, client, mine);
  const [ui, browser] = await Promise.all([startUi(t, kubeconfig), openBrowser(t)]);
  // Without the token (the address without its #token=…) the page gets nothing but says what to open.
  const stranger = await browser.newPage();
  await stranger.goto(ui.url.replace(/#.*$/, ''));
  await stranger.waitForSelector('p[role="alert"]');
  t.regex(await stranger.textContent('p[role="alert"]') ?? '', /no valid session token/);
  await stranger.close();
  const { page, errors } = await watchedPage(browser);
  await page.goto(ui.url);
  await page.waitForSelector(`tr[data-package="${mine}/mine"]`);
  t.is(await page.$(`tr[data-package="${theirs}/theirs"]`), null, 'the other namespace\'s Package is not listed');
  t.regex(await page.textContent('p.denied') ?? '', new RegExp(`namespace ${theirs}: cannot list Package, OCIRepository, GitRepository, Event`));
  // Live for what the user may see: a new Package of their namespace appears without a reload.
  await createPackage(client, mine, 'second');
  await page.waitForSelector(`tr[data-package="${mine}/second"]`);
  await screenshot(t, page, 'overview-limited-user');
  // Search and the state filter narrow the table.
  await page.fill('#search', 'seco');
  await page.waitForSelector(`tr[data-package="${mine}/mine"]`, { state: 'detached' });
  t.truthy(await page.$(`tr[data-package="${mine}/second"]`));
  await page.fill('#search', '');
  await page.waitForSelector(`tr[data-package="${mine}/mine"]`);
  t.is(await page.textContent('button[data-count="Unknown"]'), 'Unknown 2', 'no controller runs here: both are Unknown');
  await page.click('button[data-count="Ready"]');
  await page.waitForSelector('table.packages tbody tr', { state: 'detached' });
  t.regex(await page.textContent('p.empty') ?? '', /No Package matches/);
  await page.click('button[data-count="Ready"]');

  // The Package page shows the values in effect with secrets masked.
  await page.click(`tr[data-package="${mine}/mine"] a`);
  await page.waitForSelector('pre[data-field="values"]');
  const values = JSON.parse(await page.textContent('pre[data-field="values"]') ?? '{}') as unknown;
  t.deepEqual(values, { replicas: 2, database: { password: '[REDACTED]' } });
  t.notRegex(await page.content(), /hunter2/);
  t.deepEqual(errors, []);
});

interface Reply { readonly status: number; readonly body: string }

function send(port: number, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

test('DNS rebinding and cross-site requests are refused, and change nothing', async (t) => {
  const cluster = await useCluster();
  const client = new KubeClient(cluster.kubeConfig, { qps: 0 });
  const ns = await testNamespace(t, cluster);
  await createPackage(client, ns, 'web');
  const ui = await startUi(t, cluster.kubeconfigPath);
  const host = `127.0.0.1:${ui.port}`;
  const page = await send(ui.port, { path: '/', headers: { host } });
  t.is(page.status, 200);
  // The token is only in the address `trellis ui` printed: another user of this machine reading the page learns nothing.
  const token = /#token=([\w-]+)$/.exec(ui.url)?.[1] ?? '';
  t.true(token.length > 20);
  t.false(page.body.includes(token));
  const action = `/api/packages/${ns}/web/actions/suspend`;
  const good = { host, origin: `http://${host}`, 'x-trellis-token': token, 'content-type': 'application/json' };

  // A rebound name reaches the server, but is not who it answers to: not even the page.
  t.is((await send(ui.port, { path: '/', headers: { host: `evil.example:${ui.port}` } })).status, 421);
  t.is((await send(ui.port, { method: 'POST', path: action, headers: { ...good, host: `evil.example:${ui.port}`, origin: `http://evil.example:${ui.port}` }, body: '{}' })).status, 421);
  t.is((await send(ui.port, { path: '/api/overview', headers: { host } })).status, 403, 'no token, no data');
  t.is((await send(ui.port, { path: '/api/overview', headers: { host, 'x-trellis-token': token, 'sec-fetch-site': 'cross-site' } })).status, 403);
  t.is((await send(ui.port, { method: 'POST', path: action, headers: { ...good, origin: 'http://evil.example' }, body: '{}' })).status, 403);
  const { origin: _origin, ...noOrigin } = good;
  t.is((await send(ui.port, { method: 'POST', path: action, headers: noOrigin, body: '{}' })).status, 403);
  const { 'x-trellis-token': _token, ...noToken } = good;
  t.is((await send(ui.port, { method: 'POST', path: `${action}?token=${token}`, headers: noToken, body: '{}' })).status, 403);
  t.is((await send(ui.port, { method: 'POST', path: action, headers: { ...good, 'content-type': 'text/plain' }, body: '{}' })).status, 415);
  const get = () => client.get<Package>({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'web' });
  t.is((await get())?.spec.suspend, false, 'no refused request changed the Package');

  // The page's own request goes through, as `kubectl package suspend` would.
  const ok = await send(ui.port, { method: 'POST', path: action, headers: good, body: '{}' });
  t.is(ok.status, 200, ok.body);
  t.true((await get())?.spec.suspend);
  const managers = (await client.get<KubeObject>({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'web' }))
    ?.metadata?.managedFields?.map((f) => (f as { manager?: string }).manager);
  t.true(managers?.includes('kubectl-package'), 'written with the CLI\'s field manager');
});

test('the shipped CLI bundle serves the same dashboard, its files embedded', async (t) => {
  const cluster = await useCluster();
  const bundle = join(scratchDir('ui-bundle'), 'trellis.cjs');
  writeFileSync(bundle, await bundleCommand('trellis'));
  const ui = await startUi(t, cluster.kubeconfigPath, [bundle]);
  const host = `127.0.0.1:${ui.port}`;
  const page = await send(ui.port, { path: '/', headers: { host } });
  t.regex(page.body, /<script type="module" src="\/app\.js">/);
  for (const file of ['app.js', 'package.js', 'style.css']) {
    const served = await send(ui.port, { path: `/${file}`, headers: { host } });
    t.is(served.body, readFileSync(join(projectRoot, 'ui', 'web', file), 'utf8'), file);
  }
  const token = /#token=([\w-]+)$/.exec(ui.url)?.[1] ?? '';
  const overview = await send(ui.port, { path: '/api/overview', headers: { host, 'x-trellis-token': token } });
  t.is(overview.status, 200);
  t.true(Array.isArray((JSON.parse(overview.body) as { packages: unknown }).packages));
});

test('namespaces created after the start are watched too, for a user who lists namespace by namespace', async (t) => {
  const cluster = await useCluster();
  const client = new KubeClient(cluster.kubeConfig, { qps: 0 });
  const mine = await testNamespace(t, cluster);
  const kubeconfig = await namespaceUser(t, cluster, client, mine);
  const state = new ClusterState({ client: connect({ kubeconfig }).client, defaultNamespace: mine, namespaceRescanMs: 200 });
  await state.start();
  t.teardown(() => state.stop());
  t.notDeepEqual(state.overview().namespaces, ['*'], 'this user cannot list across namespaces');
  const later = await testNamespace(t, cluster);
  await grantRead(client, later, mine);
  await createPackage(client, later, 'later');
  await eventually(() => Promise.resolve(state.overview().packages.some((p) => p.namespace === later && p.name === 'later')), 30_000);
  t.true(state.overview().namespaces.includes(later));
});

test('stopping while a namespace rescan is under way leaves nothing watching', async (t) => {
  const cluster = await useCluster();
  const admin = new KubeClient(cluster.kubeConfig, { qps: 0 });
  const mine = await testNamespace(t, cluster);
  const kubeconfig = await namespaceUser(t, cluster, admin, mine);
  const { client } = connect({ kubeconfig });
  const state = new ClusterState({ client, defaultNamespace: mine, namespaceRescanMs: 100 });
  await state.start();
  const later = await testNamespace(t, cluster);
  await grantRead(admin, later, mine);
  // Stops as a rescan sends its namespace list: the rescan is then under way, and goes on to start `later`'s informers.
  let stopping: Promise<void> | undefined;
  let stopped = false;
  const afterStop: string[] = [];
  const unsubscribe = client.requests.onRequest((verb) => {
    if (stopped) afterStop.push(verb);
    else if (verb === 'list' && stopping === undefined) stopping = state.stop();
  });
  t.teardown(unsubscribe);
  await eventually(() => Promise.resolve(stopping !== undefined), 30_000);
  await stopping;
  stopped = true;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.deepEqual(afterStop, [], 'no informer lists or watches once stop() resolved');
});
