// A package whose values schema holds a catastrophic-backtracking pattern, with
// values built to trip it, cannot freeze the apply controller: the Package is
// refused with its pattern named, and meanwhile another Package's drift is
// still corrected by the same controller. With JavaScript's RegExp the value
// below would hold the event loop for longer than the test's timeout, so
// neither wait would ever end.
import anyTest from 'ava';
import { stringify } from 'yaml';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, conditionOf, configMap, createPackage, createSource, getObject, isReadyAt, isStalled,
  releasePackagesOnTeardown, runLabel, usePackageTestBed, waitForPackage,
} from '../apply-controller/support.ts';

const test = withCluster(anyTest);
const label = runLabel();
const bed = usePackageTestBed(test, label);

const hostileManifest = stringify({
  apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageManifest', name: 'hostile', version: '1.0.0',
  values: {
    schema: { type: 'object', properties: { name: { type: 'string', pattern: '^(a+)+$', default: 'a' } } },
    placements: [{ value: '/name', file: 'app.yaml', object: { kind: 'ConfigMap', name: 'named' }, path: '/data/name', template: '${value}' }],
  },
});

test('a hostile values pattern is refused while another Package\'s drift is still corrected', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);

  const steady = await bed().publisher.publish(ns, 'steady', { 'app.yaml': [configMap('cm', { k: 'v' })] });
  await createSource(client, ns, 'steady', steady);
  await createPackage(client, ns, 'steady', label, { sourceRef: { kind: 'OCIRepository', name: 'steady' } });
  await waitForPackage(client, ns, 'steady', (p) => isReadyAt(p, steady.revision));

  const hostile = await bed().publisher.publish(ns, 'hostile', {
    'package.yaml': hostileManifest, 'manifests/app.yaml': [configMap('named', { name: 'x' })],
  });
  await createSource(client, ns, 'hostile', hostile);
  await createPackage(client, ns, 'hostile', label, {
    sourceRef: { kind: 'OCIRepository', name: 'hostile' }, path: '.', values: { name: `${'a'.repeat(64)}!` },
  });
  // Drift on the steady Package while the hostile one is being validated.
  await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cm' }, { data: { k: 'hacked' } });

  const [refused] = await Promise.all([
    waitForPackage(client, ns, 'hostile', (p) => isStalled(p, 'InvalidValues')),
    eventually(async () => (await getObject<KubeObject & { data?: Record<string, string> }>(client, 'v1', 'ConfigMap', ns, 'cm'))?.data?.k === 'v'),
  ]);
  const message = conditionOf(refused, 'Stalled')?.message ?? '';
  t.true(message.includes('must match pattern'), message);
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'named'), undefined, 'nothing of the refused Package was written');
});
