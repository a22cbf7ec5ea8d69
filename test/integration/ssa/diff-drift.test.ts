// diffObjects (Secret values masked) and drift.ignore rules through applyStage,
// against the real apiserver.
import anyTest from 'ava';
import type { KubeObject } from '../../../runtime/object.ts';
import { applyStage, diffObjects, MASK, type DesiredObject } from '../../../apply-controller/ssa/index.ts';
import type { IgnoreRule } from '../../../apply-controller/drift/index.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { client as makeClient, configMap, deployment, gadgetCrd } from './support.ts';

const test = withCluster(anyTest);

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function secret(namespace: string, data: Record<string, string>, stringData?: Record<string, string>): DesiredObject {
  return {
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace }, type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
    ...(stringData ? { stringData } : {}),
  };
}

test('diffObjects reports create, update and none, and never shows Secret values', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = makeClient(cluster);
  const created = await diffObjects(client, [secret(ns, { password: 'hunter2-initial' })]);
  t.is(created[0]?.action, 'create');
  t.deepEqual(created[0]?.changes.find((c) => c.path === '/data'), { path: '/data', op: 'add', to: { password: MASK } });
  t.false(JSON.stringify(created).includes(b64('hunter2-initial')));

  await applyStage(client, [secret(ns, { password: 'hunter2-initial', user: 'admin' }), configMap(ns, 'settings', { mode: 'fast' })]);
  const writes = client.requests.writes();
  const diffs = await diffObjects(client, [
    secret(ns, { password: 'hunter2-rotated', user: 'admin' }, { token: 'tok-plaintext' }),
    configMap(ns, 'settings', { mode: 'slow' }),
    deployment(ns, 'web'),
  ]);
  t.is(client.requests.writes(), writes, 'a diff writes nothing');
  const [sec, cm, dep] = diffs;
  t.is(sec?.action, 'update');
  t.deepEqual(sec?.changes, [
    { path: '/data/password', op: 'replace', from: MASK, to: MASK },
    { path: '/data/token', op: 'add', to: MASK },
  ], 'stringData lands in data, and every value is masked');
  const text = JSON.stringify(diffs);
  for (const leaked of ['hunter2', b64('hunter2-rotated'), b64('hunter2-initial'), 'tok-plaintext', b64('tok-plaintext')]) {
    t.false(text.includes(leaked), `${leaked} does not appear`);
  }
  t.is(cm?.action, 'update');
  t.deepEqual(cm?.changes, [{ path: '/data/mode', op: 'replace', from: 'fast', to: 'slow' }], 'other kinds show values');
  t.is(dep?.action, 'create');
  t.is(dep?.subject, `Deployment/${ns}/web`);

  const same = await diffObjects(client, [configMap(ns, 'settings', { mode: 'fast' })]);
  t.deepEqual(same, [{ id: `${ns}_settings__ConfigMap`, subject: `ConfigMap/${ns}/settings`, action: 'none', changes: [] }]);
});

test('diffObjects shows a changed selector as recreate, and a CRD with its resource as two creates', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = makeClient(cluster);
  await applyStage(client, [deployment(ns, 'web')]);
  const [moved] = await diffObjects(client, [deployment(ns, 'web', { app: 'web-v2' })]);
  t.is(moved?.action, 'recreate');
  t.true(moved?.changes.some((c) => c.path === '/spec/selector/matchLabels/app' && c.to === 'web-v2'));

  const { crd, apiVersion, kind, name } = gadgetCrd();
  const diffs = await diffObjects(client, [crd, { apiVersion, kind, metadata: { name: 'g', namespace: ns }, spec: { size: 1 } }]);
  t.deepEqual(diffs.map((d) => [d.subject, d.action]), [[`CustomResourceDefinition/${name}`, 'create'], [`Gadget/${ns}/g`, 'create']]);
  t.false(await client.serves(apiVersion, kind), 'nothing was created');
});

interface LiveDeployment extends KubeObject {
  spec?: { replicas?: number };
}

test('with /spec/replicas ignored, an out-of-band scale survives a re-apply; without the rule it is reverted', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = makeClient(cluster);
  const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' };
  const ignore: IgnoreRule[] = [{ paths: ['/spec/replicas'], target: { group: 'apps', kind: 'Deployment', name: 'web' } }];
  const desired = [deployment(ns, 'web', { replicas: 2 }), configMap(ns, 'settings', { replicas: '2' })];
  const replicas = async (): Promise<number | undefined> => (await client.get<LiveDeployment>(ref))?.spec?.replicas;

  await applyStage(client, desired, { ignore });
  t.is(await replicas(), 2, 'on creation the package\'s value is the starting point');
  const again = await applyStage(client, desired, { ignore });
  t.is(again.summary(), '2 unchanged', 'a field we still own is kept, not dropped back to the default');
  t.is(await replicas(), 2);

  // An HPA (or a person) scales through the scale subresource.
  await client.patch(ref, { spec: { replicas: 5 } }, { subresource: 'scale', fieldManager: 'hpa' });
  const kept = await applyStage(client, desired, { ignore });
  t.is(kept.summary(), '2 unchanged', 'the ignored change is not drift');
  t.is(await replicas(), 5, 'the out-of-band scale survives');

  const other: IgnoreRule[] = [{ paths: ['/spec/replicas'], target: { kind: 'Deployment', name: 'api' } }];
  const reverted = await applyStage(client, desired, { ignore: other });
  t.deepEqual(reverted.entries.map((e) => e.action), ['configured', 'unchanged'], 'a rule for another object does not apply');
  t.is(await replicas(), 2, 'without a matching rule the package\'s value wins');
});
