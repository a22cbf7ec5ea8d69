// Values: defaults <- valuesFrom <- spec.values, schema validation without
// coercion, a hash that ignores key order, and placements that keep JSON types.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Placement } from '../../../apply-controller/bundle/format.ts';
import type { SourcedObject } from '../../../apply-controller/bundle/object.ts';
import {
  applyPlacements, canonicalJSON, mergeValues, resolveValues, schemaDefaults, valuesHash,
} from '../../../apply-controller/bundle/values.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    replicas: { type: 'integer', minimum: 0, default: 2 },
    image: {
      type: 'object',
      properties: {
        repository: { type: 'string', default: 'nginx' },
        tag: { type: 'string', pattern: '^[a-z0-9.]+$', default: '1.25' },
      },
    },
    ports: { type: 'array', items: { type: 'integer' }, default: [80, 443] },
    password: { type: 'string' },
    debug: { type: 'boolean' },
  },
};

test('defaults come from the schema, including nested properties whose parent has no default', (t) => {
  t.deepEqual(schemaDefaults(schema), { replicas: 2, image: { repository: 'nginx', tag: '1.25' }, ports: [80, 443] });
  const result = resolveValues({ schema });
  if (!result.ok) return t.fail(JSON.stringify(result.errors));
  t.deepEqual(result.values, { replicas: 2, image: { repository: 'nginx', tag: '1.25' }, ports: [80, 443] });
});

test('defaults behind a local $ref (draft-07 definitions) are found', (t) => {
  const draft07 = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    definitions: { port: { type: 'integer', default: 8080 } },
    properties: { http: { type: 'object', properties: { port: { $ref: '#/definitions/port' } } } },
  };
  const result = resolveValues({ schema: draft07 });
  t.deepEqual(result.ok && result.values, { http: { port: 8080 } });
});

test('spec.values win over valuesFrom, which win over defaults, later valuesFrom over earlier; objects merge, arrays replace', (t) => {
  const result = resolveValues({
    schema,
    valuesFrom: [{ replicas: 3, image: { tag: 'from.configmap' }, ports: [1, 2, 3] }, { replicas: 4 }],
    values: { image: { repository: 'registry.example/web' }, ports: [9000] },
  });
  if (!result.ok) return t.fail(JSON.stringify(result.errors));
  t.deepEqual(result.values, {
    replicas: 4,
    image: { repository: 'registry.example/web', tag: 'from.configmap' },
    ports: [9000],
  });
});

test('mergeValues leaves its inputs alone and stores a "__proto__" key as data, not as a prototype', (t) => {
  const base = { a: { b: 1 } };
  const over = JSON.parse('{"a": {"c": 2}, "__proto__": {"polluted": true}}') as Record<string, unknown>;
  const merged = mergeValues(base, over);
  t.deepEqual(base, { a: { b: 1 } });
  t.deepEqual(merged.a, { b: 1, c: 2 });
  t.is(Object.getPrototypeOf(merged), Object.prototype);
  t.true(Object.hasOwn(merged, '__proto__'));
  t.is((merged as { polluted?: unknown }).polluted, undefined);
});

test('strings are not coerced to the schema type: "3" for an integer fails, every error is reported at once', (t) => {
  const result = resolveValues({ schema, values: { replicas: '3', image: { tag: 'Not Valid' }, extra: 1, debug: 'true' } });
  t.false(result.ok);
  if (result.ok) return;
  t.deepEqual(result.errors.map((p) => [p.reason, p.message]), [
    ['InvalidValues', 'values must NOT have additional properties ("extra")'],
    ['InvalidValues', 'values/replicas must be integer'],
    ['InvalidValues', 'values/image/tag must match pattern "^[a-z0-9.]+$"'],
    ['InvalidValues', 'values/debug must be boolean'],
  ]);
});

test('a value from a Secret that fails the schema is not echoed in the message', (t) => {
  const result = resolveValues({ schema, valuesFrom: [{ password: 918273645546372 }] });
  t.false(result.ok);
  if (result.ok) return;
  t.deepEqual(result.errors.map((p) => p.message), ['values/password must be string']);
  t.false(JSON.stringify(result.errors).includes('918273645546372'));
});

test('valuesHash: same values in any key order give the same hash; any change gives another', (t) => {
  const a = resolveValues({ schema, values: { replicas: 5, image: { tag: '2.0', repository: 'r' } } });
  const b = resolveValues({ schema, values: { image: { repository: 'r', tag: '2.0' }, replicas: 5 } });
  const c = resolveValues({ schema, values: { image: { repository: 'r', tag: '2.1' }, replicas: 5 } });
  if (!a.ok || !b.ok || !c.ok) return t.fail('values should be valid');
  t.regex(a.valuesHash, /^sha256:[0-9a-f]{64}$/);
  t.is(a.valuesHash, b.valuesHash);
  t.not(a.valuesHash, c.valuesHash);
  // Giving the default explicitly is the same set of values as not giving it.
  const implicit = resolveValues({ schema });
  const explicit = resolveValues({ schema, values: { replicas: 2 } });
  t.is(implicit.ok && implicit.valuesHash, explicit.ok && explicit.valuesHash);
  t.is(valuesHash({ x: [1, { b: 1, a: 2 }] }), valuesHash({ x: [1, { a: 2, b: 1 }] }));
  t.not(valuesHash({ x: [1, 2] }), valuesHash({ x: [2, 1] }), 'array order matters');
});

test('canonicalJSON sorts keys at every level and drops undefined like JSON does', (t) => {
  t.is(canonicalJSON({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null }, u: undefined }), '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  t.is(canonicalJSON([1, undefined, { b: undefined }, [], {}, 'x"y', true, 1.5]), '[1,null,{},[],{},"x\\"y",true,1.5]');
  t.is(canonicalJSON(undefined), 'null');
  t.is(canonicalJSON('\u2028'), JSON.stringify('\u2028'));
});

test('canonicalJSON is JSON.stringify with sorted keys, on real manifests', (t) => {
  const sortKeys = (v: unknown): unknown => Array.isArray(v) ? v.map(sortKeys)
    : typeof v === 'object' && v !== null ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])])) : v;
  const corpus = join(import.meta.dirname, '../../../../shared/realworld/corpus');
  const files = readdirSync(corpus, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml')).sort().slice(0, 40);
  t.true(files.length > 0);
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(join(corpus, file), 'utf8'))) {
      const object: unknown = doc.toJS();
      t.is(canonicalJSON(object), JSON.stringify(sortKeys(object)) ?? 'null', file);
    }
  }
});

const deployment = (replicas: unknown): SourcedObject => ({
  source: { file: 'manifests/web.yaml', document: 0 },
  object: {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
    spec: { replicas, template: { spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] } } },
  },
});
const configMap: SourcedObject = {
  source: { file: 'manifests/web.yaml', document: 1 },
  object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web' }, data: { replicas: '2', debug: 'false' } },
};

test('placements keep the JSON type: a number stays a number; templates stringify into the string', (t) => {
  const placements: Placement[] = [
    { value: '/replicas', file: 'web.yaml', object: { kind: 'Deployment', name: 'web' }, path: '/spec/replicas' },
    { value: '/image/tag', file: 'web.yaml', object: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, path: '/spec/template/spec/containers/0/image', template: 'nginx:${value}' },
    { value: '/replicas', file: 'web.yaml', object: { kind: 'ConfigMap', name: 'web' }, path: '/data/replicas', template: '${value}' },
    { value: '/debug', file: 'web.yaml', object: { kind: 'ConfigMap', name: 'web' }, path: '/data/debug', template: '${value}' },
  ];
  const input = [deployment(2), configMap];
  const result = applyPlacements(input, placements, { replicas: 5, image: { tag: '1.27' }, debug: true }, { manifestsDir: 'manifests' });
  if (!result.ok) return t.fail(JSON.stringify(result.errors));
  type Dep = { spec: { replicas: unknown; template: { spec: { containers: Array<{ image: string }> } } } };
  const [dep, cm] = result.objects.map((o) => o.object) as unknown as [Dep, { data: unknown }];
  t.is(dep.spec.replicas, 5);
  t.is(typeof dep.spec.replicas, 'number');
  t.is(dep.spec.template.spec.containers[0]?.image, 'nginx:1.27');
  t.deepEqual(cm.data, { replicas: '5', debug: 'true' });
  t.is((input[0]?.object.spec as { replicas: number }).replicas, 2, 'the input objects are not modified');
});

test('a string value is placed as a string: typing is the schema\'s job, not the placement\'s', (t) => {
  const placements: Placement[] = [{ value: '/replicas', file: 'web.yaml', object: { kind: 'Deployment', name: 'web' }, path: '/spec/replicas' }];
  const result = applyPlacements([deployment(2)], placements, { replicas: '7' }, { manifestsDir: 'manifests' });
  t.is(result.ok && (result.objects[0]?.object.spec as { replicas: unknown }).replicas, '7');
});

test('an unset optional value leaves the value the build wrote', (t) => {
  const placements: Placement[] = [{ value: '/replicas', file: 'web.yaml', object: { kind: 'Deployment', name: 'web' }, path: '/spec/replicas' }];
  const result = applyPlacements([deployment(2)], placements, {}, { manifestsDir: 'manifests' });
  t.is(result.ok && (result.objects[0]?.object.spec as { replicas: unknown }).replicas, 2);
});

test('placements naming a missing file, object or path, an ambiguous object or a non-scalar template value are all reported', (t) => {
  const twin: SourcedObject = { source: { file: 'manifests/web.yaml', document: 2 }, object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web', namespace: 'other' } } };
  const placements: Placement[] = [
    { value: '/replicas', file: 'nope.yaml', object: { kind: 'Deployment', name: 'web' }, path: '/spec/replicas' },
    { value: '/replicas', file: 'web.yaml', object: { kind: 'Deployment', name: 'api' }, path: '/spec/replicas' },
    { value: '/replicas', file: 'web.yaml', object: { kind: 'Deployment', name: 'web' }, path: '/spec/replica' },
    { value: '/replicas', file: 'web.yaml', object: { kind: 'Deployment', name: 'web' }, path: '/spec/template/spec/containers/1/image' },
    { value: '/replicas', file: 'web.yaml', object: { kind: 'ConfigMap', name: 'web' }, path: '/data/replicas' },
    { value: '/image', file: 'web.yaml', object: { kind: 'Deployment', name: 'web' }, path: '/spec/template/spec/containers/0/image', template: 'x:${value}' },
  ];
  const result = applyPlacements([deployment(2), configMap, twin], placements, { replicas: 3, image: { tag: '1' } }, { manifestsDir: 'manifests' });
  t.false(result.ok);
  if (result.ok) return;
  t.deepEqual(result.errors.map((p) => [p.reason, p.message]), [
    ['InvalidPlacement', 'manifests/nope.yaml: values.placements[0] (value /replicas): the file nope.yaml is not in the bundle\'s manifests'],
    ['InvalidPlacement', 'manifests/web.yaml: values.placements[1] (value /replicas): there is no Deployment api in the file'],
    ['InvalidPlacement', 'manifests/web.yaml: Deployment web: values.placements[2] (value /replicas): the path /spec/replica does not exist in the object'],
    ['InvalidPlacement', 'manifests/web.yaml: Deployment web: values.placements[3] (value /replicas): the path /spec/template/spec/containers/1/image does not exist in the object'],
    ['InvalidPlacement', 'manifests/web.yaml: values.placements[4] (value /replicas): ConfigMap web matches 2 objects in the file; add apiVersion or namespace'],
    ['InvalidPlacement', 'manifests/web.yaml: Deployment web: values.placements[5] (value /image): a template placement needs a string, number or boolean value, got an object'],
  ]);
});
