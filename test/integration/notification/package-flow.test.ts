// Receivers and Alerts with both controllers as processes: a bundle pushed to a
// registry that notifies a Receiver is fetched at once (the OCIRepository's
// interval is an hour) and applied by the Package; a deleted object put back
// reaches a drift Alert; a version the apiserver refuses reaches the team's
// webhook as a failure of the Package naming its revision and reason, the next
// good version as its recovery, and, with automatic rollback, a bad version as
// a rollback.
import anyTest from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import type { Package } from '../../../apply-controller/api.ts';
import { createDeterministicTarGz } from '../../../runtime/archive.ts';
import type { OCIRepository } from '../../../source-controller/api.ts';
import type { Alert, Provider, Receiver } from '../../../source-controller/notification/api.ts';
import {
  OciClient, parseReference, TRELLIS_ARTIFACT_TYPE, TRELLIS_CONFIG_MEDIA_TYPE, TRELLIS_CONTENT_MEDIA_TYPE,
} from '../../../source-controller/oci/index.ts';
import { eventually, scratchDir, withCluster } from '../../support/cluster.ts';
import { startController, withControllers } from '../../support/controllers.ts';
import { withServers } from '../../support/servers.ts';
import { startListener, startNotifyingRegistry, useNotificationEnv } from './support.ts';

const test = withControllers(withServers(withCluster(anyTest)));
const NOTIFICATION_API = 'notification.trellis.dev/v1alpha1';
const TOKEN = 'registry-notify-token-0123456789';

/** Pushes a bundle of one ConfigMap whose data is `data` as `repo:version`; returns the manifest digest. */
async function pushBundle(oci: OciClient, repo: string, version: string, data: Record<string, string>): Promise<string> {
  const dir = scratchDir('bundle');
  const tree = join(dir, 'tree');
  const files: Record<string, string> = {
    'package.yaml': stringify({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageManifest', name: 'web', version, phases: ['config'] }),
    'manifests/config.yaml': stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config', annotations: { 'apply.trellis.dev/phase': 'config' } }, data }),
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(tree, path)), { recursive: true });
    writeFileSync(join(tree, path), content);
  }
  const tarball = join(dir, 'content.tar.gz');
  await createDeterministicTarGz(tree, tarball);
  const pushed = await oci.pushArtifact(parseReference(repo), {
    artifactType: TRELLIS_ARTIFACT_TYPE,
    config: { mediaType: TRELLIS_CONFIG_MEDIA_TYPE, bytes: new TextEncoder().encode(JSON.stringify({ name: 'web', version })) },
    layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, file: tarball }],
    tag: version,
  });
  return pushed.digest;
}

interface Sent { involvedObject: { kind: string; name: string }; severity: string; reason: string; message: string; metadata: { category: string; revision?: string } }

test('a registry push reaches the Package through a Receiver; drift, failure, recovery and rollback reach the webhook', async (t) => {
  const env = await useNotificationEnv(t);
  const listener = await startListener(t);
  const oci = new OciClient({ insecure: true });
  t.teardown(() => oci.close());
  await startController({
    entry: 'apply-controller/main.ts', name: 'notification-apply',
    args: ['--kubeconfig', env.cluster.kubeconfigPath, '--artifact-cache-dir', scratchDir('apply-cache'), '--metrics-addr', '127.0.0.1:0',
      '--health-addr', '', '--watch-namespace', env.namespace],
  });
  await env.secret('registry-hook', { token: TOKEN });
  await env.create<Receiver>({
    apiVersion: NOTIFICATION_API, kind: 'Receiver', metadata: { name: 'registry' },
    spec: { type: 'registry', resources: [{ kind: 'OCIRepository', name: 'web' }], secretRef: { name: 'registry-hook' } },
  } as Receiver);
  const path = await eventually(async () => (await env.client.get<Receiver>({ apiVersion: NOTIFICATION_API, kind: 'Receiver', namespace: env.namespace, name: 'registry' }))?.status?.webhookPath);
  const registry = await startNotifyingRegistry(t, `${env.receiverUrl}${path}`, TOKEN);
  const repo = `oci://${registry.host}/team/web`;
  await env.create<Provider>({ apiVersion: NOTIFICATION_API, kind: 'Provider', metadata: { name: 'team' }, spec: { type: 'generic', address: `${listener.url}/team` } } as Provider);
  await env.create<Alert>({
    apiVersion: NOTIFICATION_API, kind: 'Alert', metadata: { name: 'packages' },
    spec: { providerRef: { name: 'team' }, eventSeverity: 'error', eventSources: [{ kind: 'Package', name: 'web' }] },
  } as Alert);
  await env.create<Alert>({
    apiVersion: NOTIFICATION_API, kind: 'Alert', metadata: { name: 'drift' },
    spec: { providerRef: { name: 'team' }, eventSources: [{ kind: 'Package' }], categories: ['driftCorrected'] },
  } as Alert);

  const first = await pushBundle(oci, repo, '1.0.0', { greeting: 'one' });
  await env.create<OCIRepository>({ apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', metadata: { name: 'web' }, spec: { url: repo, insecure: true, interval: '1h', ref: { semver: '^1' } } } as unknown as OCIRepository);
  // The Package comes once the source has its artifact: before, it would (rightly) warn that the source is not ready.
  await eventually(async () => (await env.client.get<OCIRepository>({ apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', namespace: env.namespace, name: 'web' }))?.status?.artifact);
  await env.create<Package>({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name: 'web' }, spec: { sourceRef: { kind: 'OCIRepository', name: 'web' }, interval: '1h', timeout: '30s' } } as unknown as Package);
  const pkg = () => env.client.get<Package>({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: env.namespace, name: 'web' });
  await eventually(async () => (await pkg())?.status?.lastAppliedRevision === `1.0.0@${first}`, 60_000);
  t.is(listener.received.length, 0, `eventSeverity error: the first install is not sent (got ${listener.received.map((r) => r.body).join(' ')})`);

  // Someone deletes the ConfigMap: the apply controller puts it back, and the drift Alert says so.
  await env.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: env.namespace, name: 'web-config' });
  await eventually(() => Promise.resolve(listener.received.length >= 1), 60_000);
  t.like(JSON.parse(listener.received[0]!.body), {
    involvedObject: { kind: 'Package', name: 'web' }, reason: 'DriftCorrected', metadata: { category: 'driftCorrected', alert: `${env.namespace}/drift`, revision: `1.0.0@${first}` },
  });
  listener.received.length = 0;

  // A key the apiserver refuses: the Package fails, and only the registry's notification told anyone about 1.1.0.
  const bad = await pushBundle(oci, repo, '1.1.0', { 'not a valid key!': 'x' });
  await eventually(() => Promise.resolve(listener.received.length >= 1), 60_000);
  const failed = JSON.parse(listener.received[0]!.body) as Sent;
  t.like(failed, { involvedObject: { kind: 'Package', name: 'web' }, severity: 'error', metadata: { category: 'failed', revision: `1.1.0@${bad}` } });
  t.truthy(failed.reason);
  t.true(failed.message.length > 0);

  const good = await pushBundle(oci, repo, '1.2.0', { greeting: 'two' });
  await eventually(async () => (await pkg())?.status?.lastAppliedRevision === `1.2.0@${good}`, 60_000);
  await eventually(() => Promise.resolve(listener.received.some((r) => (JSON.parse(r.body) as Sent).metadata.category === 'recovered')), 30_000);
  const recovered = listener.received.map((r) => JSON.parse(r.body) as Sent).find((s) => s.metadata.category === 'recovered');
  t.like(recovered, { involvedObject: { kind: 'Package', name: 'web' }, severity: 'info', reason: 'Applied', metadata: { revision: `1.2.0@${good}` } });
  const cm = await env.client.get<{ data?: Record<string, string> } & { metadata?: object }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: env.namespace, name: 'web-config' });
  t.is(cm?.data?.greeting, 'two');

  // With automatic rollback, the next bad version is rolled back, and that is what the team hears.
  await env.client.patch({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: env.namespace, name: 'web' }, { spec: { rollback: { onFailure: true } } });
  const sentBefore = listener.received.length;
  await pushBundle(oci, repo, '1.3.0', { 'also not valid!': 'x' });
  await eventually(() => Promise.resolve(listener.received.slice(sentBefore).some((r) => (JSON.parse(r.body) as Sent).metadata.category === 'rolledBack')), 60_000);
  const rolledBack = listener.received.slice(sentBefore).map((r) => JSON.parse(r.body) as Sent).find((x) => x.metadata.category === 'rolledBack');
  t.like(rolledBack, { involvedObject: { kind: 'Package', name: 'web' }, severity: 'error', reason: 'RolledBack' });
  t.regex(rolledBack?.message ?? '', /1\.2\.0|revision/);
});
