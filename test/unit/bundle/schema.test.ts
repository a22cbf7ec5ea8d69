// compileSchema: the draft a schema declares, one compile per distinct schema, and
// packages that happen to share a `$id` do not collide.
import test from 'ava';
import { compileSchema, dottedPath, InvalidSchemaError, schemaDraft } from '../../../apply-controller/bundle/schema.ts';

test('the draft comes from $schema, 2020-12 by default; unsupported drafts are refused', (t) => {
  t.is(schemaDraft({}), '2020-12');
  t.is(schemaDraft({ $schema: 'http://json-schema.org/draft-07/schema#' }), 'draft-07');
  t.is(schemaDraft({ $schema: 'https://json-schema.org/draft/2019-09/schema' }), '2019-09');
  t.throws(() => schemaDraft({ $schema: 'http://json-schema.org/draft-04/schema#' }), { instanceOf: InvalidSchemaError });
});

test('draft-specific keywords follow the declared draft: prefixItems is a tuple in 2020-12 and ignored in draft-07', (t) => {
  const tuple = { type: 'array', prefixItems: [{ type: 'integer' }] };
  t.false(compileSchema(tuple)(['x']));
  t.true(compileSchema({ ...tuple, $schema: 'http://json-schema.org/draft-07/schema#' })(['x']));
});

test('the same schema, whatever its key order, is compiled once', (t) => {
  const a = compileSchema({ type: 'object', properties: { n: { type: 'integer', minimum: 1 } } });
  const b = compileSchema({ properties: { n: { minimum: 1, type: 'integer' } }, type: 'object' });
  t.is(a, b);
  t.not(a, compileSchema({ type: 'object', properties: { n: { type: 'integer', minimum: 2 } } }));
});

test('two different schemas with the same $id both compile and each validates by its own rules', (t) => {
  const first = compileSchema({ $id: 'https://example.com/values', type: 'object', properties: { a: { type: 'string' } } });
  const second = compileSchema({ $id: 'https://example.com/values', type: 'object', properties: { a: { type: 'integer' } } });
  t.true(first({ a: 'x' }));
  t.false(second({ a: 'x' }));
});

test('dottedPath writes instance paths the way people read them', (t) => {
  t.is(dottedPath('/values/placements/0/file'), 'values.placements[0].file');
  t.is(dottedPath(''), '');
  t.is(dottedPath('/a~1b/0/0'), 'a/b[0][0]');
});
