// Every bad input of a revision against the real apiserver: the Package stalls
// with a reason and a message naming the file and object, nothing of the bad
// revision is applied, nothing of the previous one is pruned, and no
// PackageRevision is written for it.
import anyTest, { type ExecutionContext } from 'ava';
import { stringify } from 'yaml';
import type { PackageSpecInput } from '../../../apply-controller/api.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { listRevisions } from '../../../apply-controller/revisions/index.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import {
  adminClient, usePackageTestBed, type BundleFiles, conditionOf, configMap, createPackage, createSource, getObject, isReadyAt,
  isStalled, releasePackagesOnTeardown, runLabel, setArtifact, waitForPackage,
} from './support.ts';

const test = withCluster(anyTest);
const label = runLabel();
const bed = usePackageTestBed(test, label);

const valuesManifest = stringify({
  apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageManifest', name: 'valued', version: '1.0.0',
  values: {
    schema: { type: 'object', properties: { replicas: { type: 'integer', minimum: 0, default: 1 } } },
    placements: [{ value: '/replicas', file: 'app.yaml', object: { kind: 'ConfigMap', name: 'base' }, path: '/data/replicas', template: '${value}' }],
  },
});

interface BadInput {
  /** The bad revision's files, besides the valid `newcomer` object (which must not be applied). */
  readonly files: (ns: string) => BundleFiles;
  readonly reason: string;
  /** Substrings the Stalled message must contain (file and object). */
  readonly mentions: (ns: string) => readonly string[];
  /** Spec changes made together with the bad revision. */
  readonly spec?: Partial<PackageSpecInput>;
  /** Install the good revision as a Trellis bundle with values. */
  readonly trellis?: boolean;
}

const cases: Record<string, BadInput> = {
  'YAML syntax error': {
    files: () => ({ 'broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: oops\n' }),
    reason: 'InvalidYAML', mentions: () => ['broken.yaml', 'line'],
  },
  'object without kind': {
    files: () => ({ 'nokind.yaml': [{ apiVersion: 'v1', metadata: { name: 'kindless' } }] }),
    reason: 'MissingKind', mentions: () => ['nokind.yaml', 'kindless'],
  },
  'duplicate objects': {
    files: () => ({ 'one.yaml': [configMap('twice', {})], 'two.yaml': [configMap('twice', {})] }),
    reason: 'DuplicateObject', mentions: () => ['two.yaml', 'ConfigMap', 'twice', 'one.yaml'],
  },
  'ownerReferences in a manifest': {
    files: () => ({
      'owned.yaml': [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owned', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: '1' }] } }],
    }),
    reason: 'OwnerReferencesSet', mentions: () => ['owned.yaml', 'owned'],
  },
  'a kind the cluster does not serve': {
    files: () => ({ 'nope.yaml': [{ apiVersion: 'nothing.example.com/v1', kind: 'Nope', metadata: { name: 'ghost' } }] }),
    reason: 'UnknownKind', mentions: () => ['nope.yaml', 'Nope', 'ghost'],
  },
  'values failing the schema': {
    trellis: true,
    files: () => ({ 'package.yaml': valuesManifest }),
    spec: { values: { replicas: 'three' } },
    reason: 'InvalidValues', mentions: () => ['replicas', 'integer'],
  },
  'a Package without an account writing into another namespace (the lockdown)': {
    files: () => ({ 'elsewhere.yaml': [configMap('escape', {}, { namespace: 'kube-system' })] }),
    spec: {},
    reason: 'NamespaceNotAllowed', mentions: () => ['elsewhere.yaml', 'kube-system/escape'],
  },
  'a Package without an account writing a cluster-scoped object (the lockdown)': {
    files: () => ({ 'cluster.yaml': [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'tenant-escape' }, rules: [] }] }),
    spec: {},
    reason: 'ClusterScopedNotAllowed', mentions: () => ['cluster.yaml', 'ClusterRole', 'tenant-escape'],
  },
};

async function refusesBadInput(t: ExecutionContext, input: BadInput): Promise<void> {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const base = { 'manifests/app.yaml': [configMap('base', { replicas: '1' })] };
  const good = await bed().publisher.publish(ns, 'src', input.trellis ? { ...base, 'package.yaml': valuesManifest } : { 'manifests/app.yaml': base['manifests/app.yaml'] });
  await createSource(client, ns, 'src', good);
  await createPackage(client, ns, 'pkg', label, { sourceRef: { kind: 'OCIRepository', name: 'src' }, path: input.trellis ? '.' : 'manifests' });
  const installed = await waitForPackage(client, ns, 'pkg', (p) => isReadyAt(p, good.revision));

  // The bad revision drops `base` (it must not be pruned) and adds `newcomer` (it must not be applied).
  const badFiles = Object.fromEntries(Object.entries(input.files(ns)).map(([path, content]) => [input.trellis ? path : `manifests/${path}`, content]));
  const bad = await bed().publisher.publish(ns, 'src', {
    [input.trellis ? 'manifests/app.yaml' : 'manifests/new.yaml']: [configMap('newcomer', {})], ...badFiles,
  });
  if (input.spec) {
    await client.patch({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'pkg' }, { spec: input.spec });
  }
  await setArtifact(client, ns, 'src', bad);
  const stalled = await waitForPackage(client, ns, 'pkg', (p) => isStalled(p) && p.status?.lastAttemptedRevision === bad.revision);

  const condition = conditionOf(stalled, 'Stalled');
  t.is(condition?.reason, input.reason, condition?.message);
  for (const part of input.mentions(ns)) t.true(condition?.message.includes(part), `"${part}" in: ${condition?.message}`);
  t.is(conditionOf(stalled, 'Ready')?.status, 'False');
  t.is(conditionOf(stalled, 'ArtifactFailed')?.reason, input.reason);
  t.is(stalled.status?.lastAppliedRevision, good.revision, 'the last applied revision is unchanged');
  t.deepEqual(stalled.status?.objects, installed.status?.objects, 'the inventory is unchanged');
  t.truthy(await getObject(client, 'v1', 'ConfigMap', ns, 'base'), 'nothing was pruned');
  t.is(await getObject(client, 'v1', 'ConfigMap', ns, 'newcomer'), undefined, 'nothing was applied');
  t.is((await listRevisions(client, ns, 'pkg')).length, 1, 'no PackageRevision records a refused revision');
}

for (const [title, input] of Object.entries(cases)) {
  test(`refused, nothing applied or pruned: ${title}`, refusesBadInput, input);
}

test('values from spec.values, a ConfigMap and a Secret land in the objects with their types', async (t) => {
  const cluster = await useCluster();
  const client = adminClient(cluster);
  const ns = await testNamespace(t, cluster);
  releasePackagesOnTeardown(t, client, ns);
  const manifest = stringify({
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageManifest', name: 'valued', version: '1.0.0',
    values: {
      schema: {
        type: 'object',
        properties: {
          replicas: { type: 'integer', default: 1 }, greeting: { type: 'string', default: 'hi' }, password: { type: 'string', default: '' },
        },
      },
      placements: [
        { value: '/replicas', file: 'app.yaml', object: { kind: 'Deployment', name: 'web' }, path: '/spec/replicas' },
        { value: '/greeting', file: 'app.yaml', object: { kind: 'ConfigMap', name: 'cfg' }, path: '/data/greeting' },
        { value: '/password', file: 'app.yaml', object: { kind: 'Secret', name: 'creds' }, path: '/stringData/password' },
      ],
    },
  });
  const artifact = await bed().publisher.publish(ns, 'src', {
    'package.yaml': manifest,
    'manifests/app.yaml': [
      configMap('cfg', { greeting: 'hi' }),
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, stringData: { password: '' } },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } } } },
    ],
  });
  await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'vals', namespace: ns }, data: { 'values.yaml': 'replicas: 2\ngreeting: from-configmap\n' } });
  await client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vals', namespace: ns }, stringData: { pw: 's3cr3t-value' } });
  await createSource(client, ns, 'src', artifact);
  await createPackage(client, ns, 'valued', label, {
    sourceRef: { kind: 'OCIRepository', name: 'src' },
    valuesFrom: [{ kind: 'ConfigMap', name: 'vals' }, { kind: 'Secret', name: 'vals', valuesKey: 'pw', targetPath: 'password' }],
    values: { replicas: 3 },
  });
  const ready = await waitForPackage(client, ns, 'valued', (p) => isReadyAt(p, artifact.revision), 90_000);
  const web = await getObject<KubeObject & { spec?: { replicas?: unknown } }>(client, 'apps/v1', 'Deployment', ns, 'web');
  t.is(web?.spec?.replicas, 3, 'spec.values wins over valuesFrom, and a number stays a number');
  t.is((await getObject<KubeObject & { data?: Record<string, string> }>(client, 'v1', 'ConfigMap', ns, 'cfg'))?.data?.greeting, 'from-configmap');
  const secret = await getObject<KubeObject & { data?: Record<string, string> }>(client, 'v1', 'Secret', ns, 'creds');
  t.is(Buffer.from(secret?.data?.password ?? '', 'base64').toString(), 's3cr3t-value');
  t.regex(ready.status?.lastAttemptedValuesHash ?? '', /^sha256:[a-f0-9]{64}$/);
  t.false(JSON.stringify(ready.status).includes('s3cr3t-value'), 'the secret value appears nowhere in the status');

  // A missing valuesFrom object makes the Package wait, naming it; nothing else changes.
  await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'vals' });
  await client.patch({ apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: ns, name: 'valued' }, { spec: { values: { replicas: 4 } } });
  const waiting = await waitForPackage(client, ns, 'valued', (p) => conditionOf(p, 'Ready')?.reason === 'ValuesNotFound');
  t.true(conditionOf(waiting, 'Ready')?.message.includes(`ConfigMap ${ns}/vals does not exist`));
  const after = await getObject<KubeObject & { spec?: { replicas?: unknown } }>(client, 'apps/v1', 'Deployment', ns, 'web');
  t.is(after?.spec?.replicas, 3, 'nothing was applied while values are missing');
});
