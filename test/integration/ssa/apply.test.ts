// applyStage against the real apiserver: created / unchanged (with zero writes) /
// configured, refusals stop a batch before any write, immutable fields, and a
// CRD with its custom resources in one call.
import anyTest from 'ava';
import type { KubeObject } from '../../../runtime/object.ts';
import {
  ApplyError, applyStage, ImmutableFieldError, packageLabels, PACKAGE_NAME_LABEL, type ChangeSet, type DesiredObject,
} from '../../../apply-controller/ssa/index.ts';
import { testNamespace, useCluster, withCluster } from '../../support/cluster.ts';
import { client as makeClient, configMap, deployment, gadgetCrd, service } from './support.ts';

const test = withCluster(anyTest);

const actions = (cs: ChangeSet): Record<string, string> => Object.fromEntries(cs.entries.map((e) => [e.subject, e.action]));

interface Live extends KubeObject {
  data?: Record<string, string>;
  spec?: Record<string, unknown> & { selector?: { matchLabels?: Record<string, string> } };
}

test('first apply creates, a repeat writes nothing, one changed field configures only that object', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = makeClient(cluster);
  const labels = packageLabels('web', ns);
  const set = [configMap(ns, 'settings', { mode: 'fast' }), service(ns, 'web'), deployment(ns, 'web')];

  const first = await applyStage(client, set, { labels, phase: 'default' });
  t.deepEqual(actions(first), {
    [`ConfigMap/${ns}/settings`]: 'created', [`Service/${ns}/web`]: 'created', [`Deployment/${ns}/web`]: 'created',
  });
  t.is(first.summary(), '3 created');
  t.true(first.entries.every((e) => e.phase === 'default'));
  t.is(first.entries[0]?.id, `${ns}_settings__ConfigMap`);
  const cm = await client.get<Live>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'settings' });
  t.is(cm?.metadata?.labels?.[PACKAGE_NAME_LABEL], 'web', 'the package labels are stamped');
  t.is(set[0]?.metadata.labels, undefined, 'the caller\'s objects are not modified');

  const before = await Promise.all(set.map((o) => client.get<Live>({ apiVersion: o.apiVersion, kind: o.kind, namespace: ns, name: o.metadata.name })));
  const writesBefore = client.requests.writes();
  const dryRunsBefore = client.requests.count('apply', true);
  const second = await applyStage(client, set, { labels });
  t.is(second.summary(), '3 unchanged');
  t.false(second.changed);
  t.is(client.requests.writes() - writesBefore, 0, 'a repeat apply makes no write request');
  const dryRuns = client.requests.count('apply', true) - dryRunsBefore;
  // Without an engine context every object is dry-run; the Deployment once more when its controller wrote in between.
  t.true(dryRuns === 3 || dryRuns === 4, `one dry run per object, got ${dryRuns}`);
  const after = await Promise.all(set.map((o) => client.get<Live>({ apiVersion: o.apiVersion, kind: o.kind, namespace: ns, name: o.metadata.name })));
  // The Deployment controller writes status at any time, so the Deployment is judged by its generation and by
  // the trellis entry of managedFields (its timestamp moves on every real apply).
  const trellisEntry = (o: Live | undefined): unknown => (o?.metadata?.managedFields as Array<{ manager?: string }> | undefined)
    ?.find((f) => f.manager === 'trellis');
  t.deepEqual(after.slice(0, 2).map((o) => o?.metadata?.resourceVersion), before.slice(0, 2).map((o) => o?.metadata?.resourceVersion),
    'the ConfigMap and the Service were not rewritten');
  t.deepEqual(after.map((o) => [o?.metadata?.generation, trellisEntry(o)]), before.map((o) => [o?.metadata?.generation, trellisEntry(o)]));
  t.truthy(trellisEntry(after[2]));

  const changed = [configMap(ns, 'settings', { mode: 'slow' }), service(ns, 'web'), deployment(ns, 'web')];
  const third = await applyStage(client, changed, { labels });
  t.deepEqual(actions(third), {
    [`ConfigMap/${ns}/settings`]: 'configured', [`Service/${ns}/web`]: 'unchanged', [`Deployment/${ns}/web`]: 'unchanged',
  });
  t.is(third.summary(), '1 configured, 2 unchanged');
  const cm2 = await client.get<Live>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'settings' });
  t.is(cm2?.data?.mode, 'slow');
});

test('an out-of-band edit of an applied field is configured back (force takes the field back)', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = makeClient(cluster);
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'settings' };
  await applyStage(client, [configMap(ns, 'settings', { mode: 'fast' })]);
  await client.patch(ref, { data: { mode: 'hacked', extra: 'theirs' } }, { fieldManager: 'someone' });
  const cs = await applyStage(client, [configMap(ns, 'settings', { mode: 'fast' })]);
  t.is(cs.summary(), '1 configured');
  const live = await client.get<Live>(ref);
  t.deepEqual(live?.data, { mode: 'fast', extra: 'theirs' }, 'our field is restored, their own field is left alone');
});

test('an object the apiserver refuses stops the batch before any write, with an ApplyError naming it', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = makeClient(cluster);
  const invalid = service(ns, 'broken', 70000);
  const err = await t.throwsAsync(applyStage(client, [configMap(ns, 'first', { a: '1' }), invalid]), { instanceOf: ApplyError });
  t.is(err.subject, `Service/${ns}/broken`);
  t.is(err.id, `${ns}_broken__Service`);
  t.is(err.statusCode, 422);
  t.regex(err.message, /^Service\/.+\/broken: .*port/);
  t.is(err.changeSet.entries.length, 0);
  t.is(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'first' }), undefined,
    'the valid object of the same batch was not written');
});

test('a kind the cluster does not serve is an ApplyError', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = makeClient(cluster);
  const obj: DesiredObject = { apiVersion: 'nothing.ssa.test.trellis.dev/v1', kind: 'Nothing', metadata: { name: 'x', namespace: ns } };
  const err = await t.throwsAsync(applyStage(client, [obj]), { instanceOf: ApplyError });
  t.is(err.subject, `Nothing/${ns}/x`);
  t.regex(err.message, /no resource for kind Nothing/);
});

test('a changed Deployment selector is an ImmutableFieldError without force, and recreated with force', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = makeClient(cluster);
  const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' };
  await applyStage(client, [configMap(ns, 'settings', { a: '1' }), deployment(ns, 'web', { app: 'web' })]);
  const original = await client.get<Live>(ref);

  const moved = [configMap(ns, 'settings', { a: '2' }), deployment(ns, 'web', { app: 'web-v2' })];
  const err = await t.throwsAsync(applyStage(client, moved), { instanceOf: ImmutableFieldError });
  t.is(err.subject, `Deployment/${ns}/web`);
  t.regex(err.message, /immutable/);
  t.regex(err.message, /force/);
  const untouched = await client.get<Live>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'settings' });
  t.is(untouched?.data?.a, '1', 'nothing in the batch was written');
  t.is((await client.get<Live>(ref))?.metadata?.uid, original?.metadata?.uid);

  const cs = await applyStage(client, moved, { force: true, pollIntervalMs: 100 });
  t.deepEqual(actions(cs), { [`ConfigMap/${ns}/settings`]: 'configured', [`Deployment/${ns}/web`]: 'recreated' });
  const recreated = await client.get<Live>(ref);
  t.deepEqual(recreated?.spec?.selector?.matchLabels, { app: 'web-v2' });
  t.not(recreated?.metadata?.uid, original?.metadata?.uid, 'a new object');
});

test('a CRD and its custom resource in one stage: the CRD is established first, then the resource applied', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = makeClient(cluster);
  const { crd, apiVersion, kind, name } = gadgetCrd();
  t.teardown(async () => { await client.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name }); });
  const gadget: DesiredObject = { apiVersion, kind, metadata: { name: 'g1', namespace: ns }, spec: { size: 3 } };
  t.false(await client.serves(apiVersion, kind));

  // The custom resource comes first in the list: the engine must still put the CRD first.
  const cs = await applyStage(client, [gadget, crd], { pollIntervalMs: 100 });
  t.deepEqual(cs.entries.map((e) => [e.subject, e.action]), [
    [`CustomResourceDefinition/${name}`, 'created'], [`Gadget/${ns}/g1`, 'created'],
  ]);
  const live = await client.get<Live>({ apiVersion, kind, namespace: ns, name: 'g1' });
  t.is(live?.spec?.size, 3);
  const again = await applyStage(client, [gadget, crd]);
  t.is(again.summary(), '2 unchanged');
});

test('objects of one kind and namespace are read with one labelled list; an unlabelled one is read with a get', async (t) => {
  const cluster = await useCluster();
  const ns = await testNamespace(t, cluster);
  const client = makeClient(cluster);
  const labels = packageLabels('many', ns);
  const set = Array.from({ length: 5 }, (_, i) => configMap(ns, `cm-${i}`, { i: String(i) }));
  await applyStage(client, set, { labels });

  client.requests.reset();
  t.is((await applyStage(client, set, { labels })).summary(), '5 unchanged');
  t.is(client.requests.count('list'), 1);
  t.is(client.requests.count('get'), 0);

  // Someone strips our labels from one of them: the list misses it, a get finds it, the apply puts the labels back.
  await client.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cm-3' },
    { metadata: { labels: { [PACKAGE_NAME_LABEL]: null } } }, { fieldManager: 'someone' });
  client.requests.reset();
  const cs = await applyStage(client, set, { labels });
  t.deepEqual(cs.entries.map((e) => e.action), ['unchanged', 'unchanged', 'unchanged', 'configured', 'unchanged']);
  t.is(client.requests.count('get'), 2, 'the one the list missed, and a fresh read before writing it');
  t.is(client.requests.writes(), 1);
  const relabelled = await client.get<Live>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cm-3' });
  t.is(relabelled?.metadata?.labels?.[PACKAGE_NAME_LABEL], 'many');
});

test('a failure after the stage\'s Namespace was created carries that in the error\'s change set', async (t) => {
  const cluster = await useCluster();
  const client = makeClient(cluster);
  const name = `t-ssa-ns-${Date.now().toString(36)}`;
  t.teardown(async () => { await client.delete({ apiVersion: 'v1', kind: 'Namespace', name }); });
  const namespace: DesiredObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
  const err = await t.throwsAsync(applyStage(client, [configMap(name, 'ok', {}), service(name, 'bad', 0), namespace]),
    { instanceOf: ApplyError });
  t.is(err.subject, `Service/${name}/bad`);
  t.deepEqual(err.changeSet.entries.map((e) => [e.subject, e.action]), [[`Namespace/${name}`, 'created']]);
  t.truthy(await client.get({ apiVersion: 'v1', kind: 'Namespace', name }), 'the Namespace was created before the rest was planned');
});
