// parseManifests: one file's text to objects, strict about what would hide
// mistakes (duplicate keys) or be abused (alias bombs, non-JSON values).
import test from 'ava';
import { parseManifests } from '../../../apply-controller/bundle/parse.ts';

test('multi-document YAML gives one object per document, empty documents counted but skipped', (t) => {
  const text = [
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}',
    '# just a comment',
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}',
    '',
  ].join('\n---\n');
  const parsed = parseManifests(text, 'm/all.yaml');
  t.deepEqual(parsed.errors, []);
  t.deepEqual(parsed.objects.map((o) => [(o.object.metadata as { name: string }).name, o.source]), [
    ['a', { file: 'm/all.yaml', document: 0 }],
    ['b', { file: 'm/all.yaml', document: 2 }],
  ]);
});

test('a YAML syntax error is reported with its line and column, and other documents still load', (t) => {
  const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\na: 1\nb:\n  c: [1\n  d: 2\n';
  const parsed = parseManifests(text, 'bad.yaml');
  t.is(parsed.objects.length, 1);
  t.is(parsed.errors.length, 1);
  const [p] = parsed.errors;
  t.is(p?.reason, 'InvalidYAML');
  t.is(p?.line, 8);
  t.is(p?.column, 3);
  t.is(p?.file, 'bad.yaml');
  t.regex(p?.message ?? '', /^bad\.yaml: line 8, column 3: Flow sequence/);
});

test('duplicate keys are refused instead of the last one silently winning', (t) => {
  const parsed = parseManifests('kind: ConfigMap\nmetadata:\n  name: x\n  name: y\n', 'dup.yaml');
  t.deepEqual(parsed.objects, []);
  t.is(parsed.errors[0]?.reason, 'InvalidYAML');
  t.is(parsed.errors[0]?.message, 'dup.yaml: line 4, column 3: Map keys must be unique');
});

test('an alias bomb is refused; ordinary anchors, aliases and merge keys work', (t) => {
  const bomb = [
    'a: &a [x, x, x, x, x, x, x, x, x, x]',
    'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
    'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
    'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
    'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
  ].join('\n');
  const refused = parseManifests(bomb, 'bomb.yaml');
  t.deepEqual(refused.objects, []);
  t.is(refused.errors[0]?.reason, 'InvalidYAML');
  t.regex(refused.errors[0]?.message ?? '', /^bomb\.yaml: .*resource exhaustion/);

  const fine = parseManifests([
    'apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: m}',
    'data:', '  base: &base {x: "1"}', '  merged:', '    <<: *base', '    y: "2"',
  ].join('\n'), 'ok.yaml');
  t.deepEqual(fine.errors, []);
  t.deepEqual((fine.objects[0]?.object.data as Record<string, unknown>).merged, { x: '1', y: '2' });
});

test('values JSON cannot carry (.nan, .inf, !!binary) are refused with their path', (t) => {
  const nan = parseManifests('kind: A\nspec:\n  ratio: .nan\n', 'n.yaml');
  t.deepEqual(nan.objects, []);
  t.is(nan.errors[0]?.reason, 'NotAnObject');
  t.is(nan.errors[0]?.message, 'n.yaml: /spec/ratio is NaN, which JSON cannot carry');
  const bin = parseManifests('kind: A\ndata: !!binary aGVsbG8=\n', 'b.yaml');
  t.regex(bin.errors[0]?.message ?? '', /\/data is binary data/);
});

test('a document that is a list or a scalar is not an object, and says which document', (t) => {
  const parsed = parseManifests('kind: A\nmetadata: {name: a}\n---\n- 1\n- 2\n---\njust text\n', 'x.yaml');
  t.is(parsed.objects.length, 1);
  t.deepEqual(parsed.errors.map((p) => p.message), [
    'x.yaml (document 2): the document is a list, not a Kubernetes object',
    'x.yaml (document 3): the document is a string, not a Kubernetes object',
  ]);
});

test('List kinds are flattened; a named object whose kind merely ends in "List" is kept', (t) => {
  const text = [
    'apiVersion: v1\nkind: ConfigMapList\nitems:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n  - 3',
    'apiVersion: music.example/v1\nkind: PlayList\nmetadata: {name: mine}\nitems: [song-1, song-2]',
  ].join('\n---\n');
  const parsed = parseManifests(text, 'l.yaml');
  t.deepEqual(parsed.objects.map((o) => [o.object.kind, o.source]), [
    ['ConfigMap', { file: 'l.yaml', document: 0, item: 0 }],
    ['PlayList', { file: 'l.yaml', document: 1 }],
  ]);
  t.deepEqual(parsed.errors.map((p) => p.message), ['l.yaml (List item 2): the List item is a number, not a Kubernetes object']);
});

test('scalars keep their YAML 1.2 types: numbers are numbers, yes/on stay strings', (t) => {
  const parsed = parseManifests('kind: A\nspec: {replicas: 3, ratio: 0.5, flag: true, answer: yes, mode: on, tag: "3"}\n', 's.yaml');
  t.deepEqual(parsed.objects[0]?.object.spec, { replicas: 3, ratio: 0.5, flag: true, answer: 'yes', mode: 'on', tag: '3' });
});

test('JSON goes through the same strict parser: tab-indented JSON loads, duplicate keys are refused with their line', (t) => {
  const ok = parseManifests('{\n\t"apiVersion": "v1",\n\t"kind": "ConfigMap",\n\t"metadata": {"name": "j"}\n}\n', 'j.json');
  t.deepEqual(ok.errors, []);
  t.deepEqual(ok.objects[0]?.object, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'j' } });
  const dup = parseManifests('{\n  "kind": "ConfigMap",\n  "kind": "Secret"\n}\n', 'd.json');
  t.deepEqual(dup.objects, []);
  t.is(dup.errors[0]?.message, 'd.json: line 3, column 3: Map keys must be unique');
});
