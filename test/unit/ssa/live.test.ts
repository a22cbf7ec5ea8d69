// Reading many objects with few requests (ssa/_live.ts), against a client of
// plain data that records what it was asked.
import test from 'ava';
import { readLive } from '../../../apply-controller/ssa/_live.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject, ObjectRef } from '../../../runtime/object.ts';

/** A client over `objects` that answers list and get, and records every request. */
function recordingClient(objects: readonly KubeObject[], refuseLists = false): { client: KubeClient; requests: string[] } {
  const requests: string[] = [];
  const client = {
    list(type: { kind: string; namespace?: string }, opts: { labelSelector?: string }) {
      requests.push(`list ${type.kind}/${type.namespace ?? ''} ${opts.labelSelector ?? ''}`);
      if (refuseLists) return Promise.reject(new Error('forbidden'));
      return Promise.resolve({ items: objects.filter((o) => o.kind === type.kind && o.metadata?.namespace === type.namespace) });
    },
    get(ref: ObjectRef) {
      requests.push(`get ${ref.kind}/${ref.namespace ?? ''}/${ref.name}`);
      return Promise.resolve(objects.find((o) => o.kind === ref.kind && o.metadata?.namespace === ref.namespace && o.metadata?.name === ref.name));
    },
  } as unknown as KubeClient;
  return { client, requests };
}

const configMap = (namespace: string, name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name } });
const ref = (kind: string, namespace: string, name: string): ObjectRef => ({ apiVersion: 'v1', kind, namespace, name });

test('one list per kind and namespace with enough objects, a get for the rest, answers in the order asked', async (t) => {
  const live = [configMap('a', 'cm-1'), configMap('a', 'cm-3'), configMap('b', 'cm-1')];
  const { client, requests } = recordingClient(live);
  const refs = [ref('ConfigMap', 'a', 'cm-1'), ref('Secret', 'a', 's-1'), ref('ConfigMap', 'a', 'cm-2'), ref('ConfigMap', 'b', 'cm-1'),
    ref('ConfigMap', 'a', 'cm-3')];
  const reads = await readLive(client, refs, { selector: '!trellis', listCovers: true, concurrency: 2 });
  t.deepEqual(reads.map((r) => ('object' in r ? r.object?.metadata?.name ?? null : 'error')), ['cm-1', null, null, 'cm-1', 'cm-3']);
  // Three ConfigMaps of namespace a make a list; the lone Secret and the lone ConfigMap of b are read with a get each.
  t.deepEqual(requests.sort(), ['get ConfigMap/b/cm-1', 'get Secret/a/s-1', 'list ConfigMap/a !trellis']);
});

test('without listCovers, what a list did not return is read with a get', async (t) => {
  const { client, requests } = recordingClient([configMap('a', 'cm-1'), configMap('a', 'cm-2')]);
  const refs = [ref('ConfigMap', 'a', 'cm-1'), ref('ConfigMap', 'a', 'cm-2'), ref('ConfigMap', 'a', 'cm-9')];
  const reads = await readLive(client, refs, { selector: 'x', concurrency: 4 });
  t.deepEqual(reads.map((r) => ('object' in r ? r.object?.metadata?.name ?? null : 'error')), ['cm-1', 'cm-2', null]);
  t.deepEqual(requests.sort(), ['get ConfigMap/a/cm-9', 'list ConfigMap/a x']);
});

test('a list the client may not make falls back to a get per object', async (t) => {
  const { client, requests } = recordingClient([configMap('a', 'cm-1')], true);
  const refs = [ref('ConfigMap', 'a', 'cm-1'), ref('ConfigMap', 'a', 'cm-2'), ref('ConfigMap', 'a', 'cm-3')];
  const reads = await readLive(client, refs, { selector: 'x', listCovers: true, concurrency: 1 });
  t.deepEqual(reads.map((r) => ('object' in r ? r.object?.metadata?.name ?? null : 'error')), ['cm-1', null, null]);
  t.is(requests.filter((r) => r.startsWith('get ')).length, 3);
});

test('thousands of objects of one namespace are one list', async (t) => {
  const names = Array.from({ length: 5_000 }, (_, i) => `cm-${i}`);
  const { client, requests } = recordingClient(names.filter((_, i) => i % 2 === 0).map((n) => configMap('a', n)));
  const reads = await readLive(client, names.map((n) => ref('ConfigMap', 'a', n)), { selector: 'x', listCovers: true, concurrency: 8 });
  t.deepEqual(requests, ['list ConfigMap/a x']);
  t.is(reads.filter((r) => 'object' in r && r.object !== undefined).length, 2_500);
  t.is((reads[4_998] as { object?: KubeObject }).object?.metadata?.name, 'cm-4998');
});
