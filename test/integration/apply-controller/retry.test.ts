// A failed attempt is retried with exponential backoff capped at retryInterval,
// not only at the next interval: a transient failure heals within seconds.
import anyTest from 'ava';
import { stringify } from 'yaml';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, conditionOf, configMap, createPackage, createSource, getObject, isReadyAt, releasePackagesOnTeardown, runLabel,
  usePackageTestBed, waitForPackage,
} from './support.ts';

const test = withCluster(anyTest);
const label = runLabel();
const bed = usePackageTestBed(test, label);

test('a Package whose values are missing for a moment is retried within its backoff, long before retryInterval', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);

  const manifest = stringify({
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageManifest', name: 'app', version: '1.0.0',
    values: {
      schema: { type: 'object', properties: { greeting: { type: 'string', default: 'hi' } } },
      placements: [{ value: '/greeting', file: 'app.yaml', object: { kind: 'ConfigMap', name: 'app' }, path: '/data/greeting' }],
    },
  });
  const v1 = await bed().publisher.publish(ns, 'src', { 'package.yaml': manifest, 'manifests/app.yaml': [configMap('app', { greeting: '' })] });
  await createSource(client, ns, 'src', v1);
  // Nothing watches the values ConfigMap: only a retry can notice it appeared. The cap is ten minutes.
  await createPackage(client, ns, 'app', label, {
    sourceRef: { kind: 'OCIRepository', name: 'src' }, interval: '10m', retryInterval: '10m',
    valuesFrom: [{ kind: 'ConfigMap', name: 'late' }],
  });
  const waiting = await waitForPackage(client, ns, 'app', (p) => conditionOf(p, 'Ready')?.reason === 'ValuesNotFound');
  t.regex(conditionOf(waiting, 'Ready')?.message ?? '', /late/);
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'app'), undefined, 'nothing applied while values are missing');

  await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late', namespace: ns }, data: { 'values.yaml': 'greeting: hello\n' } });
  // Retries come after 2 s, 4 s, 8 s, ...: the next one finds the values (a retry only at retryInterval would take 10 minutes).
  await waitForPackage(client, ns, 'app', (p) => isReadyAt(p, v1.revision), 90_000);
  const app = await getObject(client, 'v1', 'ConfigMap', ns, 'app') as { data?: Record<string, string> } | undefined;
  t.is(app?.data?.greeting, 'hello', 'applied with the values that appeared');
});
