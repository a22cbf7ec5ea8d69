// validatePackageManifest: package.yaml's own format, its defaults, and every
// problem of a bad one reported at once with a readable message.
import test from 'ava';
import { validatePackageManifest } from '../../../apply-controller/bundle/format.ts';

const minimal = { apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageManifest', name: 'web', version: '1.4.0' };

function messages(data: unknown): string[] {
  const result = validatePackageManifest(data);
  if (result.ok) return [];
  return result.errors.map((p) => {
    if (p.reason !== 'InvalidPackageManifest') throw new Error(`unexpected reason ${p.reason}`);
    return p.message;
  });
}

test('a minimal manifest is valid and gets its defaults', (t) => {
  const result = validatePackageManifest(minimal);
  if (!result.ok) return t.fail(JSON.stringify(result.errors));
  t.deepEqual(result.manifest, {
    ...minimal,
    phases: [],
    manifests: 'manifests',
    values: { schema: { type: 'object' }, placements: [] },
  });
});

test('paths are cleaned: manifests "./out/" is "out", a placement file "./a/../b.yaml" is "b.yaml"', (t) => {
  const result = validatePackageManifest({
    ...minimal, manifests: './out/',
    values: { placements: [{ value: '/x', file: './a/../b.yaml', object: { kind: 'ConfigMap', name: 'c' }, path: '/data/x' }] },
  });
  if (!result.ok) return t.fail(JSON.stringify(result.errors));
  t.is(result.manifest.manifests, 'out');
  t.is(result.manifest.values.placements[0]?.file, 'b.yaml');
});

test('every problem of a bad manifest is reported together, naming package.yaml and the field', (t) => {
  t.deepEqual(messages({
    apiVersion: 'apply.trellis.dev/v1',
    kind: 'PackageManifest',
    name: 'Web_App',
    version: 'one',
    phases: ['crds', 'Apps', 'crds'],
    manifests: '../elsewhere',
    color: 'blue',
    values: {
      schema: { type: 'intger' },
      placements: [
        { value: 'replicas', file: 'web.yaml', object: { kind: 'Deployment', name: 'web' }, path: '/spec/replicas' },
        { value: '/tag', file: '../web.yaml', object: { kind: 'Deployment' }, path: '/a~2b', template: 'nginx:{value}' },
      ],
    },
  }), [
    'package.yaml: must NOT have additional properties ("color")',
    'package.yaml: apiVersion must be equal to constant "apply.trellis.dev/v1alpha1"',
    'package.yaml: name must be a DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit)',
    'package.yaml: phases[1] must be a DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit)',
    'package.yaml: phases must NOT have duplicate items (items ## 2 and 0 are identical)',
    'package.yaml: values.placements[0].value must match pattern "^(/.*)?$"',
    'package.yaml: values.placements[1].object must have required property \'name\'',
    'package.yaml: version "one" is not a semantic version (like 1.4.0)',
    'package.yaml: manifests "../elsewhere" must be a folder inside the bundle',
    'package.yaml: values.schema is not a valid JSON Schema: schema is invalid: data/type must be equal to one of the allowed values, data/type must be array, data/type must match a schema in anyOf',
    'package.yaml: values.placements[0].value "replicas" is not a JSON pointer',
    'package.yaml: values.placements[1].path "/a~2b" is not a JSON pointer',
    'package.yaml: values.placements[1].template must contain ${value}',
    'package.yaml: values.placements[1].file "../web.yaml" must be inside the manifests folder',
  ]);
});

test('a values schema may be draft-07, 2019-09 or 2020-12; other $schema values are refused', (t) => {
  for (const $schema of ['http://json-schema.org/draft-07/schema#', 'https://json-schema.org/draft/2019-09/schema', 'https://json-schema.org/draft/2020-12/schema']) {
    t.deepEqual(messages({ ...minimal, values: { schema: { $schema, type: 'object' } } }), [], $schema);
  }
  t.deepEqual(messages({ ...minimal, values: { schema: { $schema: 'http://json-schema.org/draft-04/schema#' } } }), [
    'package.yaml: values.schema is not a valid JSON Schema: $schema "http://json-schema.org/draft-04/schema#" is not supported (use JSON Schema draft-07, 2019-09 or 2020-12)',
  ]);
});

test('something that is not a map is refused', (t) => {
  t.deepEqual(messages(['a']), ['package.yaml: must be object']);
  t.deepEqual(messages(null), ['package.yaml: must be object']);
});
