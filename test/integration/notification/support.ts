/**
 * Helpers for the notification tests: the source controller as a process
 * (Receivers and Alerts run in it) watching one test namespace, a Distribution
 * registry configured to send its notifications to a Receiver, and a loopback
 * HTTP listener that plays a Provider's endpoint (answers scripted status codes,
 * records what it got).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { freePort, startProcess, waitFor } from '../../../hack/lib/processes.ts';
import { ensureDebianTool } from '../../../hack/lib/system-tools.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { scratchDir, testNamespace, useCluster, type TestCluster } from '../../support/cluster.ts';
import { startController, type RunningController } from '../../support/controllers.ts';

/** A source controller with a receiver server, in a namespace of its own. */
export interface NotificationEnv {
  readonly cluster: TestCluster;
  readonly client: KubeClient;
  readonly namespace: string;
  readonly controller: RunningController;
  /** `http://127.0.0.1:<port>` of the webhook server. */
  readonly receiverUrl: string;
  /** Creates or replaces a Secret in the namespace. */
  secret(name: string, data: Record<string, string>): Promise<void>;
  /** Creates an object in the namespace. */
  create<T extends KubeObject>(obj: T): Promise<T>;
}

/** Starts the source controller for this test; everything it made is removed when the test ends. */
export async function useNotificationEnv(t: ExecutionContext, extraArgs: readonly string[] = []): Promise<NotificationEnv> {
  const cluster = await useCluster();
  const namespace = await testNamespace(t, cluster);
  const client = new KubeClient(cluster.kubeConfig, { qps: 0 });
  const controller = await startController({
    entry: 'source-controller/main.ts', name: 'notification',
    args: [
      '--kubeconfig', cluster.kubeconfigPath, '--storage-path', join(scratchDir('source-storage'), 'data'),
      '--artifact-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--health-addr', '', '--receiver-addr', '127.0.0.1:0',
      '--watch-namespace', namespace, '--log-level', 'debug', '--alert-retry-base-delay', '100ms', ...extraArgs,
    ],
  });
  const line = await controller.waitForLine((l) => l.msg === 'serving webhook receivers');
  t.teardown(async () => {
    // Sources carry a finalizer the running controller releases: delete them before stopping it.
    for (const kind of ['GitRepository', 'OCIRepository']) {
      const list = await client.list({ apiVersion: 'source.trellis.dev/v1alpha1', kind, namespace }).catch(() => ({ items: [] }));
      for (const o of list.items) await client.delete({ apiVersion: 'source.trellis.dev/v1alpha1', kind, namespace, name: o.metadata?.name ?? '' }).catch(() => undefined);
    }
    await waitFor('sources to go', async () => {
      const left = await Promise.all(['GitRepository', 'OCIRepository'].map((kind) => client.list({ apiVersion: 'source.trellis.dev/v1alpha1', kind, namespace })));
      return left.every((l) => l.items.length === 0);
    }, { timeoutMs: 20_000 }).catch(() => undefined);
    await controller.stop(5_000);
  });
  return {
    cluster, client, namespace, controller, receiverUrl: line.url as string,
    async secret(name, data) {
      await client.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque', stringData: data },
        { fieldManager: 'trellis-tests', force: true });
    },
    create: (obj) => client.create({ ...obj, metadata: { ...obj.metadata, namespace } }),
  };
}

/** A request the listener received. */
export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly status: number;
}

/** A loopback HTTP endpoint that answers `script` in order (then 200) and records every request. */
export interface Listener {
  readonly url: string;
  readonly received: Received[];
  close(): Promise<void>;
}

/** Starts a {@link Listener}; closed when the test ends. */
export async function startListener(t: ExecutionContext, script: readonly number[] = []): Promise<Listener> {
  const received: Received[] = [];
  const queue = [...script];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = queue.shift() ?? 200;
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status >= 400 ? 'listener says no: internal detail 42\n' : 'ok\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = (): Promise<void> => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
  t.teardown(close);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, close };
}

/** A Distribution registry whose notifications go to `endpoint` with a bearer token. */
export interface NotifyingRegistry {
  readonly host: string;
  stop(): Promise<void>;
}

/**
 * Starts the Distribution registry (Debian's docker-registry) with a
 * `notifications` endpoint: every push makes it POST its own event envelope to
 * `endpoint`, carrying `Authorization: Bearer <token>`. Stopped when the test ends.
 */
export async function startNotifyingRegistry(t: ExecutionContext, endpoint: string, token: string): Promise<NotifyingRegistry> {
  const dir = scratchDir('notifying-registry');
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const binary = ensureDebianTool('docker-registry', 'docker-registry', () => undefined);
  const port = await freePort();
  const q = (v: string): string => JSON.stringify(v);
  const config = [
    'version: 0.1',
    'log:', '  level: info',
    'storage:', '  filesystem:', `    rootdirectory: ${q(join(dir, 'storage'))}`,
    'http:', `  addr: ${q(`127.0.0.1:${port}`)}`,
    'notifications:', '  endpoints:', '    - name: trellis', `      url: ${q(endpoint)}`,
    '      headers:', `        Authorization: [${q(`Bearer ${token}`)}]`,
    '      timeout: 2s', '      threshold: 5', '      backoff: 1s',
  ].join('\n');
  writeFileSync(join(dir, 'config.yml'), `${config}\n`);
  const proc = startProcess('docker-registry', binary, ['serve', join(dir, 'config.yml')], { logFile: join(dir, 'registry.log') });
  t.teardown(() => proc.stop());
  await waitFor('registry GET /v2/', async () => (await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined))?.ok ?? false,
    { timeoutMs: 30_000, process: proc });
  return { host: `127.0.0.1:${port}`, stop: () => proc.stop() };
}

/** A running Alertmanager (the real one, Debian's `prometheus-alertmanager`). */
export interface Alertmanager {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
}

/** Starts Alertmanager on a loopback port with a route that notifies nobody; stopped when the test ends. */
export async function startAlertmanager(t: ExecutionContext): Promise<Alertmanager> {
  const dir = scratchDir('alertmanager');
  const binary = ensureDebianTool('prometheus-alertmanager', 'prometheus-alertmanager', () => undefined);
  const port = await freePort();
  writeFileSync(join(dir, 'alertmanager.yml'), 'route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n');
  const proc = startProcess('alertmanager', binary, [
    `--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=',
  ], { logFile: join(dir, 'alertmanager.log') });
  t.teardown(() => proc.stop());
  const url = `http://127.0.0.1:${port}`;
  await waitFor('alertmanager /-/ready', async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok ?? false,
    { timeoutMs: 30_000, process: proc });
  return { url };
}
