// What a controller tells the outside world, against the real apiserver:
// de-duplicated Events, Prometheus metrics and health endpoints over HTTP, and
// JSON logs that never carry a credential.
import { Writable } from 'node:stream';
import anyTest from 'ava';
import { Controller } from '../../../runtime/controller.ts';
import { EventRecorder } from '../../../runtime/events.ts';
import { startHttpServer } from '../../../runtime/http.ts';
import { createLogger, objectLogger } from '../../../runtime/logging.ts';
import { countApiRequests, createMetrics } from '../../../runtime/metrics.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { adminClient, until } from './support.ts';

const test = withCluster(anyTest);

interface EventObject extends KubeObject {
  reason?: string;
  note?: string;
  type?: string;
  reportingController?: string;
  regarding?: { name?: string; uid?: string; kind?: string };
  series?: { count: number; lastObservedTime: string };
}

test('events are recorded once and repeats are counted in series.count; notes are redacted', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  const subject = await client.create<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'subject', namespace: ns } });
  const recorder = new EventRecorder({ client, controller: 'trellis.dev/test-controller', instance: 'test-pod' });
  const note = 'fetch https://bob:hunter2@git.example.com/repo.git failed: connection refused';
  await recorder.warning(subject, 'FetchFailed', note);
  await Promise.all([recorder.warning(subject, 'FetchFailed', note), recorder.warning(subject, 'FetchFailed', note)]);
  await recorder.normal(subject, 'ArtifactUpdated', 'stored revision main@sha1:abc');

  const events = (await client.list<EventObject>({ apiVersion: 'events.k8s.io/v1', kind: 'Event', namespace: ns })).items;
  const failed = events.filter((e) => e.reason === 'FetchFailed');
  t.is(failed.length, 1, 'three identical events are one Event object');
  const [event] = failed as [EventObject];
  t.is(event.series?.count, 3);
  t.truthy(event.series?.lastObservedTime);
  t.is(event.type, 'Warning');
  t.is(event.reportingController, 'trellis.dev/test-controller');
  t.is(event.regarding?.uid, subject.metadata?.uid);
  t.false(event.note?.includes('hunter2'), event.note);
  t.true(event.note?.includes('git.example.com'));
  const updated = events.filter((e) => e.reason === 'ArtifactUpdated');
  t.is(updated.length, 1, 'a different event is its own object');
  t.is(updated[0]?.series, undefined, 'seen once: no series');
});

test('an event recorder that cannot write does not throw into the caller', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster).impersonate('default', 'nobody-at-all');
  const recorder = new EventRecorder({ client, controller: 'trellis.dev/test', logger: createLogger({ level: 'silent' }) });
  await t.notThrowsAsync(recorder.normal({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'default' } },
    'Test', 'forbidden to write events'));
});

test('/metrics exposes reconcile metrics after reconciles; /healthz and /readyz answer', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = adminClient(cluster);
  const metrics = createMetrics();
  countApiRequests(metrics, client.requests);
  let ready = false;
  const server = await startHttpServer({ listen: '127.0.0.1:0', registry: metrics.registry, ready: () => ready });
  t.teardown(() => server.close());
  t.is((await fetch(`${server.url}/readyz`)).status, 503, 'not ready before the caches synced');
  t.is((await fetch(`${server.url}/healthz`)).status, 200);

  await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ok', namespace: ns } });
  await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad', namespace: ns } });
  let failures = 0;
  const controller = new Controller({
    client, resource: { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns }, metrics,
    logger: createLogger({ level: 'silent' }), queue: { backoffBaseMs: 10 },
    reconcile: (_key, ctx) => {
      if (ctx.name !== 'bad') return Promise.resolve();
      failures += 1;
      return Promise.reject(new Error('nope'));
    },
  });
  t.teardown(() => controller.stop());
  await controller.start();
  ready = true;
  await until(() => failures >= 2);
  t.is((await fetch(`${server.url}/readyz`)).status, 200);
  const text = await (await fetch(`${server.url}/metrics`)).text();
  t.regex(text, /trellis_reconcile_total\{kind="ConfigMap",result="success"\} [1-9]/);
  t.regex(text, /trellis_reconcile_total\{kind="ConfigMap",result="error"\} [1-9]/);
  t.regex(text, /trellis_reconcile_duration_seconds_bucket\{le="[^"]+",kind="ConfigMap",result="success"\} [1-9]/);
  t.regex(text, /trellis_workqueue_depth\{kind="ConfigMap"\} \d+/);
  t.regex(text, /trellis_reconcile_in_flight\{kind="ConfigMap"\} \d+/);
  t.regex(text, /trellis_kube_api_requests_total\{verb="list"\} [1-9]/);
  t.is((await fetch(`${server.url}/nothing`)).status, 404);
});

/** A writable stream that keeps what a logger wrote. */
function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { chunks.push(chunk.toString()); done(); } });
  return { stream, text: () => chunks.join('') };
}

test('secrets passed to the logger never appear in its output, and object loggers tag every line', async (t) => {
  const out = capture();
  const log = createLogger({ level: 'debug', name: 'test', destination: out.stream });
  const objLog = objectLogger(log, 'GitRepository', 'team-a/web');
  const err = new Error('clone https://bob:hunter2@git.example.com/x.git: 401, Authorization: Bearer tok_abcdef123456');
  objLog.error({ err }, 'fetch failed');
  objLog.error(err);
  objLog.info({ secretRef: { name: 'creds' }, password: 'plain-pass', headers: { authorization: 'Basic Ym9iOmh1bnRlcjI=' } }, 'auth');
  objLog.warn('retrying %s', 'https://alice:s3cr3t@registry.example.com/v2/?access_token=qwerty12345');
  objLog.child({ url: 'https://carol:child-pass@host/repo' }).info('child bindings');
  log.flush();
  await new Promise((r) => setImmediate(r));
  const text = out.text();
  const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.is(lines.length, 5);
  for (const secret of ['hunter2', 'tok_abcdef123456', 'plain-pass', 'Ym9iOmh1bnRlcjI=', 's3cr3t', 'qwerty12345', 'child-pass']) {
    t.false(text.includes(secret), `${secret} leaked: ${text}`);
  }
  for (const line of lines) {
    t.is(line.key, 'team-a/web');
    t.is(line.kind, 'GitRepository');
  }
  t.true(text.includes('git.example.com'), 'the rest of the message survives');
  t.is((lines[0]?.err as { type?: string }).type, 'Error', 'errors are still serialized as errors');
});
