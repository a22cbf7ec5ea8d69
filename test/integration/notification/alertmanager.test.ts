// The alertmanager Provider against the real Alertmanager (Debian's
// prometheus-alertmanager): a source's failure fires an alert labelled with the
// object, and its recovery resolves that same alert.
import anyTest from 'ava';
import { REQUESTED_AT_ANNOTATION } from '../../../runtime/predicates.ts';
import type { OCIRepository } from '../../../source-controller/api.ts';
import type { Alert, Provider } from '../../../source-controller/notification/api.ts';
import { eventually, withCluster } from '../../support/cluster.ts';
import { withControllers } from '../../support/controllers.ts';
import { useRegistry, withServers } from '../../support/servers.ts';
import { layerOf, pushLayer } from '../source-controller/oci-support.ts';
import { startAlertmanager, useNotificationEnv } from './support.ts';

const test = withControllers(withServers(withCluster(anyTest)));
const NOTIFICATION_API = 'notification.trellis.dev/v1alpha1';
const SOURCE_API = 'source.trellis.dev/v1alpha1';

interface AmAlert { labels: Record<string, string>; annotations: Record<string, string>; status: { state: string } }

test('a failure fires an Alertmanager alert naming the object and reason; the recovery resolves it', async (t) => {
  const env = await useNotificationEnv(t);
  const registry = await useRegistry();
  const am = await startAlertmanager(t);
  await env.create<Provider>({ apiVersion: NOTIFICATION_API, kind: 'Provider', metadata: { name: 'am' }, spec: { type: 'alertmanager', address: `${am.url}/api/v2/alerts` } } as Provider);
  await env.create<Alert>({ apiVersion: NOTIFICATION_API, kind: 'Alert', metadata: { name: 'am' }, spec: { providerRef: { name: 'am' }, eventSources: [{ kind: 'OCIRepository' }], summary: 'test' } } as Alert);
  await env.create<OCIRepository>({
    apiVersion: SOURCE_API, kind: 'OCIRepository', metadata: { name: 'app' },
    spec: { url: `oci://${registry.host}/team/app`, insecure: true, interval: '1h', ref: { tag: '1.0.0' } },
  } as unknown as OCIRepository);

  const ours = async (): Promise<AmAlert[]> => {
    const res = await fetch(`${am.url}/api/v2/alerts`);
    return ((await res.json()) as AmAlert[]).filter((a) => a.labels.namespace === env.namespace);
  };
  const firing = await eventually(async () => {
    const list = await ours();
    return list.length > 0 ? list : undefined;
  }, 30_000);
  t.is(firing.length, 1);
  t.like(firing[0], {
    labels: { alertname: 'TrellisOCIRepositoryFailed', kind: 'OCIRepository', name: 'app', severity: 'error' },
    annotations: { category: 'failed', summary: 'test' }, status: { state: 'active' },
  });
  t.truthy(firing[0]?.annotations.reason);

  await pushLayer(registry.host, 'team/app', '1.0.0', layerOf({ 'v.txt': 'one\n' }));
  await env.client.patch({ apiVersion: SOURCE_API, kind: 'OCIRepository', namespace: env.namespace, name: 'app' },
    { metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: new Date().toISOString() } } });
  await eventually(async () => (await ours()).length === 0, 30_000);
  t.pass('resolved: Alertmanager no longer lists it as active');
});
