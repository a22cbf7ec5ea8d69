// cloneData (bundle/object.ts): the deep copy the engine makes of every object
// it prepares for an apply.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cloneData } from '../../../apply-controller/bundle/object.ts';
import { parseManifests } from '../../../apply-controller/bundle/parse.ts';

const corpus = join(import.meta.dirname, '../../../../shared/realworld/corpus');
const corpusFiles = readdirSync(corpus, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();

test('every object of the corpus of released manifests copies to what structuredClone makes', (t) => {
  let objects = 0;
  for (const file of corpusFiles) {
    for (const { object } of parseManifests(readFileSync(join(corpus, file), 'utf8'), file).objects) {
      t.deepEqual(cloneData(object), structuredClone(object), file);
      objects++;
    }
  }
  t.true(objects > 100, `${objects} objects`);
});

test('the copy shares nothing that can change', (t) => {
  const original = { spec: { ports: [{ port: 80 }], selector: { app: 'web' } }, data: { 'a.conf': 'x=1\n' } };
  const copy = cloneData(original);
  copy.spec.ports[0]!.port = 8080;
  copy.spec.ports.push({ port: 443 });
  copy.spec.selector.app = 'api';
  copy.data['a.conf'] = 'changed';
  t.deepEqual(original, { spec: { ports: [{ port: 80 }], selector: { app: 'web' } }, data: { 'a.conf': 'x=1\n' } });
});

test('an own __proto__ key stays an own key, and the copy keeps Object\'s prototype', (t) => {
  const original: Record<string, unknown> = {};
  Object.defineProperty(original, '__proto__', { value: { polluted: true }, writable: true, enumerable: true, configurable: true });
  const copy = cloneData(original);
  t.true(Object.hasOwn(copy, '__proto__'));
  t.is(Object.getPrototypeOf(copy), Object.prototype);
  t.is(({} as Record<string, unknown>).polluted, undefined);
  t.deepEqual(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value, { polluted: true });
});

test('scalars, nulls, undefined members and values that are not JSON data', (t) => {
  t.is(cloneData('text'), 'text');
  t.is(cloneData(null), null);
  t.is(cloneData(3), 3);
  const when = new Date(0);
  const copy = cloneData({ when, missing: undefined, list: [1, null, 'a'] });
  t.not(copy.when, when, 'a Date is copied, not shared');
  t.is(copy.when.getTime(), 0);
  t.true('missing' in copy);
  t.deepEqual(copy.list, [1, null, 'a']);
});
