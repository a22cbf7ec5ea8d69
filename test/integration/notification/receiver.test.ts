// Receivers against the real source controller (a process), the real apiserver,
// the real Distribution registry and Git server: a push to a registry configured
// to notify makes the OCIRepository fetch the new tag at once (its interval is an
// hour); each Receiver type is accepted with a valid proof and refused otherwise,
// with no write to the cluster; bad event types, unknown paths, oversized bodies
// and floods are answered without work; a missing Secret says so and serves no path.
import anyTest, { type ExecutionContext } from 'ava';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pushCommit } from '../../../hack/git-fixtures.ts';
import { REQUESTED_AT_ANNOTATION } from '../../../runtime/predicates.ts';
import type { GitRepository, OCIRepository } from '../../../source-controller/api.ts';
import type { Receiver, ReceiverSpecInput } from '../../../source-controller/notification/api.ts';
import { eventually, withCluster } from '../../support/cluster.ts';
import { withControllers } from '../../support/controllers.ts';
import { useGitServer, withServers } from '../../support/servers.ts';
import { layerOf, pushLayer } from '../source-controller/oci-support.ts';
import { startNotifyingRegistry, useNotificationEnv, type NotificationEnv } from './support.ts';

const test = withControllers(withServers(withCluster(anyTest)));
const SOURCE_API = 'source.trellis.dev/v1alpha1';
const NOTIFICATION_API = 'notification.trellis.dev/v1alpha1';
const TOKEN = 'receiver-token-0123456789abcdef';

async function receiver(env: NotificationEnv, name: string, spec: ReceiverSpecInput): Promise<string> {
  await env.create<Receiver>({ apiVersion: NOTIFICATION_API, kind: 'Receiver', metadata: { name }, spec } as Receiver);
  const ready = await eventually(async () => {
    const r = await env.client.get<Receiver>({ apiVersion: NOTIFICATION_API, kind: 'Receiver', namespace: env.namespace, name });
    return r?.status?.webhookPath ? r : undefined;
  }, 20_000);
  return ready.status!.webhookPath!;
}

const source = <T extends GitRepository | OCIRepository>(env: NotificationEnv, kind: T['kind'], name: string): Promise<T | undefined> =>
  env.client.get<T>({ apiVersion: SOURCE_API, kind, namespace: env.namespace, name });

function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
}

const hubSignature = (body: string, key = TOKEN): string => `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;

/** The log must never show the token. */
function assertNoToken(t: ExecutionContext, env: NotificationEnv): void {
  t.false(readFileSync(env.controller.logFile, 'utf8').includes(TOKEN), 'the token is not in the log');
}

test('a push to a notifying registry reconciles the OCIRepository at once; other repositories the Receiver names are left alone', async (t) => {
  const env = await useNotificationEnv(t);
  await env.secret('hook', { token: TOKEN });
  const path = await receiver(env, 'registry', { type: 'registry', resources: [{ kind: 'OCIRepository', matchLabels: { notify: 'yes' } }], secretRef: { name: 'hook' } });
  const registry = await startNotifyingRegistry(t, `${env.receiverUrl}${path}`, TOKEN);
  await pushLayer(registry.host, 'team/app', '1.0.0', layerOf({ 'v.txt': '1.0.0\n' }));
  await pushLayer(registry.host, 'team/other', '1.0.0', layerOf({ 'v.txt': 'other\n' }));
  for (const [name, repo] of [['app', 'team/app'], ['other', 'team/other']] as const) {
    await env.create<OCIRepository>({
      apiVersion: SOURCE_API, kind: 'OCIRepository', metadata: { name, labels: { notify: 'yes' } },
      spec: { url: `oci://${registry.host}/${repo}`, insecure: true, interval: '1h', ref: { semver: '^1' } },
    } as unknown as OCIRepository);
  }
  await eventually(async () => (await source<OCIRepository>(env, 'OCIRepository', 'app'))?.status?.artifact?.revision.startsWith('1.0.0@'));
  // The registry notified about the first pushes too (the sources may have been there by then): what
  // counts is that the next push, to team/app only, leaves team/other as it is now.
  // Wait until that is over: no round of requests for a while (a trailing round follows a run by at most
  // a second) and team/other has handled whatever it was asked.
  const otherBefore = await eventually(async () => {
    const o = await source<OCIRepository>(env, 'OCIRepository', 'other');
    const last = env.controller.lines().filter((l) => l.msg === 'reconcile requested').at(-1);
    const quiet = last === undefined || Date.now() - Date.parse(String(last.time)) > 2_000;
    const handled = o?.metadata.annotations?.[REQUESTED_AT_ANNOTATION] === o?.status?.lastHandledReconcileAt;
    return o?.status?.artifact && quiet && handled ? o : undefined;
  }).catch(async (err: unknown) => {
    t.log(JSON.stringify(await source<OCIRepository>(env, 'OCIRepository', 'other')));
    t.log(env.controller.lines().filter((l) => /reconcile|webhook|artifact/.test(String(l.msg))).map((l) => JSON.stringify(l)).join('\n'));
    throw err;
  });
  const requestsBefore = env.controller.lines().filter((l) => l.msg === 'reconcile requested').length;

  // The registry posts its own envelope for this push; nothing else tells the controller.
  const pushed = await pushLayer(registry.host, 'team/app', '1.1.0', layerOf({ 'v.txt': '1.1.0\n' }));
  const app = await eventually(async () => {
    const o = await source<OCIRepository>(env, 'OCIRepository', 'app');
    return o?.status?.artifact?.revision === `1.1.0@${pushed.digest}` ? o : undefined;
  }, 30_000);
  t.truthy(app.metadata.annotations?.[REQUESTED_AT_ANNOTATION], 'the reconcile was requested through the annotation');
  t.is(app.status?.lastHandledReconcileAt, app.metadata.annotations?.[REQUESTED_AT_ANNOTATION], 'app handled the request');
  const other = await source<OCIRepository>(env, 'OCIRepository', 'other');
  t.is(other?.metadata.annotations?.[REQUESTED_AT_ANNOTATION], otherBefore.metadata.annotations?.[REQUESTED_AT_ANNOTATION],
    'a push to team/app does not touch team/other');
  t.is(other?.metadata.resourceVersion, otherBefore.metadata.resourceVersion, 'team/other unchanged');
  const lines = env.controller.lines().filter((l) => l.msg === 'reconcile requested').slice(requestsBefore);
  t.deepEqual(lines.map((l) => l.requested), [['OCIRepository/app']]);

  // The registry's envelope with a wrong token is refused.
  const body = JSON.stringify({ events: [{ action: 'push', target: { repository: 'team/other', tag: '9.0.0', mediaType: 'application/vnd.oci.image.manifest.v1+json' } }] });
  t.is((await post(`${env.receiverUrl}${path}`, body, { authorization: 'Bearer not-the-token-at-all' })).status, 401, 'wrong token');
  t.is((await source<OCIRepository>(env, 'OCIRepository', 'other'))?.metadata.resourceVersion, otherBefore.metadata.resourceVersion, 'refused: nothing written');
  assertNoToken(t, env);
});

test('github: a signed push reconciles the GitRepository; bad signatures, other events, unknown paths, big bodies and floods do no work', async (t) => {
  const env = await useNotificationEnv(t);
  const git = await useGitServer();
  await git.createRepo('app');
  await pushCommit(git, 'app', { files: { 'a.yaml': 'one\n' } });
  await env.secret('hook', { token: TOKEN });
  const path = await receiver(env, 'github', { type: 'github', resources: [{ kind: 'GitRepository', name: 'app' }], secretRef: { name: 'hook' } });
  t.regex(path, /^\/hook\/[a-f0-9]{64}$/);
  await env.create<GitRepository>({ apiVersion: SOURCE_API, kind: 'GitRepository', metadata: { name: 'app' }, spec: { url: git.repoUrl('app'), interval: '1h' } } as GitRepository);
  const first = await eventually(async () => {
    const o = await source<GitRepository>(env, 'GitRepository', 'app');
    return o?.status?.artifact ? o : undefined;
  });
  const url = `${env.receiverUrl}${path}`;
  const body = JSON.stringify({ ref: 'refs/heads/main' });
  const untouched = async (why: string): Promise<void> => {
    const o = await source<GitRepository>(env, 'GitRepository', 'app');
    t.is(o?.metadata.resourceVersion, first.metadata.resourceVersion, why);
  };

  const refusals: Array<[string, Response, number]> = [
    ['wrong key', await post(url, body, { 'x-github-event': 'push', 'x-hub-signature-256': hubSignature(body, 'another-key-entirely') }), 401],
    ['no signature', await post(url, body, { 'x-github-event': 'push' }), 401],
    ['signature of another body', await post(url, body, { 'x-github-event': 'push', 'x-hub-signature-256': hubSignature(`${body} `) }), 401],
    ['ping', await post(url, body, { 'x-github-event': 'ping', 'x-hub-signature-256': hubSignature(body) }), 200],
    ['issues event', await post(url, body, { 'x-github-event': 'issues', 'x-hub-signature-256': hubSignature(body) }), 202],
    ['unknown path', await post(`${env.receiverUrl}/hook/${'0'.repeat(64)}`, body, { 'x-github-event': 'push', 'x-hub-signature-256': hubSignature(body) }), 404],
    ['GET', await fetch(url), 405],
  ];
  const big = 'x'.repeat(1024 * 1024 + 1);
  refusals.push(['body over 1 MiB', await post(url, big, { 'x-github-event': 'push', 'x-hub-signature-256': hubSignature(big) }), 413]);
  for (const [why, res, status] of refusals) t.is(res.status, status, why);
  await untouched('no refused or ignored request wrote anything');

  const commit = await pushCommit(git, 'app', { files: { 'a.yaml': 'two\n' } });
  const accepted = await post(url, body, { 'x-github-event': 'push', 'x-hub-signature-256': hubSignature(body) });
  t.is(accepted.status, 200);
  t.deepEqual(await accepted.json(), { requested: ['GitRepository/app'], missing: [] });
  await eventually(async () => (await source<GitRepository>(env, 'GitRepository', 'app'))?.status?.artifact?.revision === `main@sha1:${commit}`, 30_000);

  // A flood: the Receiver's bucket (burst 20) answers 429 before any body is read or verified.
  const flood = await Promise.all(Array.from({ length: 40 }, () => post(url, body, { 'x-github-event': 'push', 'x-hub-signature-256': hubSignature(body, 'wrong-key-for-the-flood') })));
  const statuses = flood.map((r) => r.status);
  t.true(statuses.includes(429), 'rate limited');
  t.true(statuses.every((s) => s === 401 || s === 429));
  t.truthy(flood.find((r) => r.status === 429)?.headers.get('retry-after'));
  const refusedLines = env.controller.lines().filter((l) => l.msg === 'webhook request refused: not verified');
  t.true(refusedLines.length > 0 && refusedLines.every((l) => typeof l.why === 'string' && !String(l.why).includes(TOKEN)));
  const metricsUrl = env.controller.lines().find((l) => l.msg === 'serving /healthz, /readyz and /metrics')?.url as string;
  const scraped = await (await fetch(`${metricsUrl}/metrics`)).text();
  for (const result of ['accepted', 'unauthorized', 'rate_limited', 'too_large', 'ignored']) {
    t.regex(scraped, new RegExp(`trellis_receiver_requests_total\\{type="github",result="${result}"\\} [1-9]`), result);
  }
  assertNoToken(t, env);
});

test('gitlab, generic and generic-hmac: each accepted with its proof, refused without; label selectors pick the sources', async (t) => {
  const env = await useNotificationEnv(t);
  await env.secret('hook', { token: TOKEN });
  const resources = [{ kind: 'GitRepository' as const, matchLabels: { team: 'a' } }];
  const paths = {
    gitlab: await receiver(env, 'gitlab', { type: 'gitlab', resources, secretRef: { name: 'hook' } }),
    generic: await receiver(env, 'generic', { type: 'generic', resources, secretRef: { name: 'hook' } }),
    hmac: await receiver(env, 'hmac', { type: 'generic-hmac', resources, secretRef: { name: 'hook' } }),
  };
  // Suspended so the source controller leaves them alone: the annotation is the whole effect under test.
  for (const [name, team] of [['a1', 'a'], ['a2', 'a'], ['b1', 'b']]) {
    await env.create<GitRepository>({ apiVersion: SOURCE_API, kind: 'GitRepository', metadata: { name: name!, labels: { team: team! } }, spec: { url: 'http://127.0.0.1:9/x.git', suspend: true } } as unknown as GitRepository);
  }
  const annotated = async (): Promise<string[]> => {
    const list = await env.client.list<GitRepository>({ apiVersion: SOURCE_API, kind: 'GitRepository', namespace: env.namespace });
    return list.items.filter((o) => o.metadata.annotations?.[REQUESTED_AT_ANNOTATION]).map((o) => o.metadata.name!).sort();
  };
  const body = '{"object_kind":"push"}';
  const refused: Array<[string, Response]> = [
    ['gitlab, wrong token', await post(`${env.receiverUrl}${paths.gitlab}`, body, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'nope-nope-nope-nope' })],
    ['generic, no token', await post(`${env.receiverUrl}${paths.generic}`, body)],
    ['generic-hmac, the token instead of a signature', await post(`${env.receiverUrl}${paths.hmac}`, body, { authorization: `Bearer ${TOKEN}` })],
  ];
  for (const [why, res] of refused) t.is(res.status, 401, why);
  t.is((await post(`${env.receiverUrl}${paths.gitlab}`, body, { 'x-gitlab-event': 'Issue Hook', 'x-gitlab-token': TOKEN })).status, 202);
  t.deepEqual(await annotated(), [], 'nothing refused or ignored wrote anything');

  const ok = await post(`${env.receiverUrl}${paths.gitlab}`, body, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': TOKEN });
  t.is(ok.status, 200);
  t.deepEqual(((await ok.json()) as { requested: string[] }).requested.sort(), ['GitRepository/a1', 'GitRepository/a2']);
  t.deepEqual(await annotated(), ['a1', 'a2'], 'the label selector picked team a only');
  t.is((await post(`${env.receiverUrl}${paths.generic}`, body, { authorization: `Bearer ${TOKEN}` })).status, 200);
  t.is((await post(`${env.receiverUrl}${paths.hmac}`, body, { 'x-signature': hubSignature(body) })).status, 200);
  const events = await env.client.list<{ reason?: string; regarding?: { name?: string } } & { metadata?: object }>({ apiVersion: 'events.k8s.io/v1', kind: 'Event', namespace: env.namespace });
  t.true(events.items.some((e) => e.reason === 'ReconcileRequested' && e.regarding?.name === 'gitlab'), 'an Event on the Receiver says what was requested');
  assertNoToken(t, env);
});

test('a Receiver without its Secret (or with a short token) serves no path and says why; the Secret fixes it', async (t) => {
  const env = await useNotificationEnv(t);
  await env.create<Receiver>({
    apiVersion: NOTIFICATION_API, kind: 'Receiver', metadata: { name: 'lonely' },
    spec: { type: 'generic', resources: [{ kind: 'GitRepository', name: 'x' }], secretRef: { name: 'later' }, interval: '1s' },
  } as Receiver);
  const get = () => env.client.get<Receiver>({ apiVersion: NOTIFICATION_API, kind: 'Receiver', namespace: env.namespace, name: 'lonely' });
  const missing = await eventually(async () => {
    const r = await get();
    return r?.status?.conditions?.find((c) => c.type === 'Ready' && c.reason === 'SecretNotFound') ? r : undefined;
  });
  t.is(missing.status?.webhookPath, undefined);
  await env.secret('later', { token: 'short' });
  await eventually(async () => (await get())?.status?.conditions?.some((c) => c.type === 'Ready' && c.reason === 'InvalidSecret'));
  await env.secret('later', { token: TOKEN });
  const ready = await eventually(async () => {
    const r = await get();
    return r?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? r : undefined;
  });
  t.regex(ready.status?.webhookPath ?? '', /^\/hook\/[a-f0-9]{64}$/);
  const res = await post(`${env.receiverUrl}${ready.status!.webhookPath!}`, '{}', { authorization: `Bearer ${TOKEN}` });
  t.is(res.status, 200);
  t.deepEqual(await res.json(), { requested: [], missing: ['GitRepository/x'] });

  // A new token moves the path: the old one stops answering.
  await env.secret('later', { token: `${TOKEN}-rotated` });
  const moved = await eventually(async () => {
    const r = await get();
    return r?.status?.webhookPath && r.status.webhookPath !== ready.status!.webhookPath ? r : undefined;
  });
  t.is((await post(`${env.receiverUrl}${ready.status!.webhookPath!}`, '{}', { authorization: `Bearer ${TOKEN}` })).status, 404);
  // Verified: done now (200) or merged into the round that follows the last one (202).
  t.true([200, 202].includes((await post(`${env.receiverUrl}${moved.status!.webhookPath!}`, '{}', { authorization: `Bearer ${TOKEN}-rotated` })).status));

  // The Secret goes: the path stops answering and leaves the status.
  await env.client.delete({ apiVersion: 'v1', kind: 'Secret', namespace: env.namespace, name: 'later' });
  const gone = await eventually(async () => {
    const r = await get();
    return r?.status?.conditions?.some((c) => c.type === 'Ready' && c.reason === 'SecretNotFound') ? r : undefined;
  });
  t.is(gone.status?.webhookPath, undefined);
  t.is((await post(`${env.receiverUrl}${moved.status!.webhookPath!}`, '{}', { authorization: `Bearer ${TOKEN}-rotated` })).status, 404);
});
