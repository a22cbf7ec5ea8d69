// Alerts against the real source controller (a process), the real apiserver and
// registry, delivered to a loopback HTTP listener that plays the Provider's
// endpoint: a source's failure and its recovery reach a generic webhook after a
// 500 is retried, once each (repeats of the failing reconcile are not resent); a
// Provider that stays down is given up on with a clear status and Event that show
// neither the address's secret path nor the endpoint's answer; Slack bodies,
// severity filters, a missing Provider and a denied address.
import anyTest, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { REQUESTED_AT_ANNOTATION } from '../../../runtime/predicates.ts';
import type { OCIRepository } from '../../../source-controller/api.ts';
import type { Alert, AlertSpecInput, Provider, ProviderSpecInput } from '../../../source-controller/notification/api.ts';
import { eventually, withCluster } from '../../support/cluster.ts';
import { withControllers } from '../../support/controllers.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { layerOf, pushLayer } from '../source-controller/oci-support.ts';
import { startListener, useNotificationEnv, type Listener, type NotificationEnv } from './support.ts';

const test = withControllers(withServers(withCluster(anyTest)));
const NOTIFICATION_API = 'notification.trellis.dev/v1alpha1';
const SOURCE_API = 'source.trellis.dev/v1alpha1';
const WEBHOOK_SECRET = 'T00000/B00000/secret-path-of-the-webhook';
const TOKEN = 'provider-bearer-token-0123456789';

async function provider(env: NotificationEnv, name: string, spec: ProviderSpecInput): Promise<void> {
  await env.create<Provider>({ apiVersion: NOTIFICATION_API, kind: 'Provider', metadata: { name }, spec } as Provider);
}

async function alert(env: NotificationEnv, name: string, spec: AlertSpecInput): Promise<void> {
  await env.create<Alert>({ apiVersion: NOTIFICATION_API, kind: 'Alert', metadata: { name }, spec } as Alert);
}

function ready(env: NotificationEnv, kind: 'Alert' | 'Provider', name: string, check: (c: { status: string; reason: string; message: string }) => boolean) {
  return eventually(async () => {
    const o = await env.client.get<Provider>({ apiVersion: NOTIFICATION_API, kind, namespace: env.namespace, name });
    const c = o?.status?.conditions?.find((x) => x.type === 'Ready');
    return c && check(c) ? c : undefined;
  }, 30_000);
}

/** An OCIRepository on a tag that does not exist yet: it fails until the tag is pushed. */
async function failingSource(env: NotificationEnv, host: string, name: string): Promise<void> {
  await env.create<OCIRepository>({
    apiVersion: SOURCE_API, kind: 'OCIRepository', metadata: { name },
    spec: { url: `oci://${host}/team/${name}`, insecure: true, interval: '1h', ref: { tag: '1.0.0' } },
  } as unknown as OCIRepository);
}

interface Sent { involvedObject: { kind: string; name: string }; severity: string; reason: string; message: string; metadata: { category: string; revision?: string } }
const sent = (l: Listener): Sent[] => l.received.map((r) => JSON.parse(r.body) as Sent);

function assertNoSecrets(t: ExecutionContext, env: NotificationEnv, texts: readonly string[]): void {
  const log = readFileSync(env.controller.logFile, 'utf8');
  for (const text of [log, ...texts]) {
    t.false(text.includes(WEBHOOK_SECRET), 'the address\'s secret path is nowhere');
    t.false(text.includes(TOKEN), 'the token is nowhere');
    t.false(text.includes('internal detail 42'), 'the endpoint\'s answer is nowhere');
  }
}

test('a source failure and its recovery reach a generic webhook, each once, the first after a 500 is retried', async (t) => {
  const env = await useNotificationEnv(t);
  const registry = await useRegistry();
  const listener = await startListener(t, [500]);
  await env.secret('webhook', { address: `${listener.url}/${WEBHOOK_SECRET}`, token: TOKEN });
  await provider(env, 'hook', { type: 'generic', secretRef: { name: 'webhook' } });
  await alert(env, 'sources', { providerRef: { name: 'hook' }, eventSources: [{ kind: 'OCIRepository', name: '*' }], summary: 'test cluster' });
  await ready(env, 'Alert', 'sources', (c) => c.status === 'True');
  await ready(env, 'Provider', 'hook', (c) => c.status === 'True');

  await failingSource(env, registry.host, 'app');
  await eventually(() => Promise.resolve(listener.received.length >= 2), 30_000);
  const [first, second] = listener.received;
  t.is(first?.status, 500);
  t.is(second?.status, 200);
  t.is(first?.body, second?.body, 'the retry sends the same body');
  t.is(second?.path, `/${WEBHOOK_SECRET}`, 'the address came from the Secret');
  t.is(second?.headers.authorization, `Bearer ${TOKEN}`);
  t.like(sent(listener)[1], { involvedObject: { kind: 'OCIRepository', name: 'app' }, severity: 'error', metadata: { category: 'failed' } });

  // The same failure again (a missing tag is retried at the interval, so a reconcile is asked for): the Event's
  // series grows, and nothing more is sent until it recovers.
  await env.client.patch({ apiVersion: SOURCE_API, kind: 'OCIRepository', namespace: env.namespace, name: 'app' },
    { metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: new Date(Date.now() - 1_000).toISOString() } } });
  await eventually(async () => {
    const events = await env.client.list<{ reason?: string; series?: { count?: number }; regarding?: { name?: string } } & { metadata?: object }>(
      { apiVersion: 'events.k8s.io/v1', kind: 'Event', namespace: env.namespace });
    return events.items.some((e) => e.regarding?.name === 'app' && (e.series?.count ?? 0) >= 2);
  }, 30_000);
  const pushed = await pushLayer(registry.host, 'team/app', '1.0.0', layerOf({ 'v.txt': 'one\n' }));
  await env.client.patch({ apiVersion: SOURCE_API, kind: 'OCIRepository', namespace: env.namespace, name: 'app' },
    { metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: new Date().toISOString() } } });
  await eventually(() => Promise.resolve(listener.received.length >= 3), 30_000);
  const recovered = sent(listener)[2];
  t.like(recovered, { involvedObject: { name: 'app' }, severity: 'info', reason: 'NewArtifact', metadata: { category: 'recovered', revision: `1.0.0@${pushed.digest}` } });
  t.is(sent(listener).filter((s) => s.metadata.category === 'failed').length, 2, 'one failure: its first attempt and its retry');
  // The controller logs a delivery after the listener has answered it, so the log line may trail the request.
  const delivered = (): number => env.controller.lines().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('delivered ')).length;
  await eventually(() => Promise.resolve(delivered() >= 2), 10_000);
  t.is(delivered(), 2);
  t.is(listener.received.length, 3);
  assertNoSecrets(t, env, []);
});

test('a Provider that stays down is retried, then given up on with a clear status and Event; nothing secret shows', async (t) => {
  const env = await useNotificationEnv(t, ['--alert-retry-attempts', '3']);
  const registry = await useRegistry();
  const down = await startListener(t, [500, 503, 500, 500, 500, 500]);
  await env.secret('webhook', { address: `${down.url}/${WEBHOOK_SECRET}`, token: TOKEN });
  await provider(env, 'down', { type: 'generic', secretRef: { name: 'webhook' } });
  await alert(env, 'to-down', { providerRef: { name: 'down' }, eventSources: [{ kind: 'OCIRepository' }] });
  await ready(env, 'Provider', 'down', (c) => c.status === 'True');

  await failingSource(env, registry.host, 'app');
  const condition = await ready(env, 'Provider', 'down', (c) => c.reason === 'DeliveryFailed');
  t.is(condition.status, 'False');
  t.regex(condition.message, /gave up on OCIRepository\/app \w+ after 3 attempts: http:\/\/127\.0\.0\.1:\d+: HTTP 500/);
  t.is(down.received.length, 3, 'three attempts, then no more');
  // The dispatcher writes the status, then records the Event: the condition can be seen first.
  const warning = await eventually(async () => {
    const events = await env.client.list<{ reason?: string; note?: string; regarding?: { kind?: string } } & { metadata?: object }>(
      { apiVersion: 'events.k8s.io/v1', kind: 'Event', namespace: env.namespace });
    return events.items.find((e) => e.reason === 'DeliveryFailed' && e.regarding?.kind === 'Provider');
  }, 10_000).catch(() => undefined);
  t.truthy(warning, 'a Warning Event on the Provider');
  assertNoSecrets(t, env, [condition.message, warning?.note ?? '']);
});

test('slack bodies, the error severity filter, a missing Provider and a denied address', async (t) => {
  const env = await useNotificationEnv(t);
  const registry = await useRegistry();
  const slack = await startListener(t);
  await provider(env, 'slack', { type: 'slack', address: `${slack.url}/services/x`, channel: '#deploys', username: 'trellis-test' });
  await provider(env, 'metadata', { type: 'generic', address: 'http://169.254.169.254/latest/meta-data/' });
  await alert(env, 'errors', { providerRef: { name: 'slack' }, eventSeverity: 'error', eventSources: [{ kind: 'OCIRepository', name: 'bad' }] });
  await alert(env, 'everything', { providerRef: { name: 'slack' }, eventSources: [{ kind: 'OCIRepository', name: 'good' }] });
  await alert(env, 'nowhere', { providerRef: { name: 'missing' }, eventSources: [{ kind: 'OCIRepository' }] });
  t.like(await ready(env, 'Alert', 'nowhere', (c) => c.status === 'False'), { reason: 'ProviderNotFound' });
  const denied = await ready(env, 'Provider', 'metadata', (c) => c.status === 'False');
  t.is(denied.reason, 'HostDenied');
  t.false(denied.message.includes('meta-data'), 'the message names the host, not the path');

  await pushLayer(registry.host, 'team/good', '1.0.0', layerOf({ 'v.txt': 'good\n' }));
  await failingSource(env, registry.host, 'good');
  await failingSource(env, registry.host, 'bad');
  await eventually(() => Promise.resolve(slack.received.length >= 2), 30_000);
  const bodies = slack.received.map((r) => JSON.parse(r.body) as { channel: string; username: string; text: string; attachments: { color: string }[] });
  const texts = bodies.map((b) => b.text).sort();
  t.is(texts.length, 2);
  t.regex(texts.find((x) => x.includes('/bad:')) ?? '', /OCIRepository\/t-[^/]+\/bad: \w+/);
  t.regex(texts.find((x) => x.includes('/good:')) ?? '', /OCIRepository\/t-[^/]+\/good: NewArtifact/);
  t.true(bodies.every((b) => b.channel === '#deploys' && b.username === 'trellis-test'));
  t.deepEqual(bodies.map((b) => b.attachments[0]?.color).sort(), ['danger', 'good']);
  // `errors` selects `bad` only, `everything` selects `good` only: had `errors` taken info events, or either
  // Alert other names, more than these two would have arrived by the time the second did.
  t.is(slack.received.length, 2);
});
