// Values-schema patterns run on RE2: linear in the input, so a hostile pattern
// answers at once (and correctly); what RE2 cannot express makes the schema invalid.
import test from 'ava';
import { compileSchema, InvalidSchemaError, VALUES_SCHEMA_OPTIONS } from '../../../apply-controller/bundle/schema.ts';
import { resolveValues } from '../../../apply-controller/bundle/values.ts';

const HOSTILE = 'a'.repeat(29) + '!';

test('a catastrophic-backtracking pattern gives the right answer (in-process, so a backtracking engine would hold this test for seconds)', (t) => {
  const validate = compileSchema({ type: 'object', properties: { name: { type: 'string', pattern: '^(a+)+$' } } }, VALUES_SCHEMA_OPTIONS);
  t.false(validate({ name: HOSTILE }));
  t.is(validate.errors?.[0]?.keyword, 'pattern');
  t.true(validate({ name: 'a'.repeat(29) }));
  // 2^64 paths for a backtracking engine: without RE2 this line never returns and the test times out.
  t.false(validate({ name: `${'a'.repeat(64)}!` }));
});

test('patternProperties run on the same engine', (t) => {
  const validate = compileSchema({ type: 'object', patternProperties: { '^(a+)+$': { type: 'integer' } } }, VALUES_SCHEMA_OPTIONS);
  t.true(validate({ [HOSTILE]: 'not checked: the name does not match' }));
  t.false(validate({ aaaa: 'x' }));
});

test('JSON Schema patterns are found anywhere in the string, with JavaScript syntax translated', (t) => {
  const validate = compileSchema({ type: 'string', pattern: '(?<word>\\d+)\\/x' });
  t.true(validate('ab 12/x cd'));
  t.false(validate('ab/x'));
  t.true(compileSchema({ type: 'string', pattern: '^\\p{L}+$' })('Grüße'));
});

test('backreferences and lookaround are refused as an invalid schema, naming the pattern', (t) => {
  for (const pattern of ['^(a)\\1$', '^(?=x)x', '(?!a)b']) {
    const err = t.throws(() => compileSchema({ type: 'string', pattern }), { instanceOf: InvalidSchemaError });
    t.true(err.message.includes(JSON.stringify(pattern)), err.message);
    t.regex(err.message, /linear time/);
  }
});

test('values resolved against a hostile schema: refused values, and an unsupported pattern reported as an invalid schema', (t) => {
  const schema = { type: 'object', properties: { name: { type: 'string', pattern: '^(a+)+$' } } };
  const refused = resolveValues({ schema, values: { name: HOSTILE } });
  t.false(refused.ok);
  if (!refused.ok) t.regex(refused.errors[0]?.message ?? '', /values\/name must match pattern/);
  t.true(resolveValues({ schema, values: { name: 'aaa' } }).ok);
  const lookaround = resolveValues({ schema: { type: 'object', properties: { name: { type: 'string', pattern: '^(?!admin)' } } }, values: {} });
  t.false(lookaround.ok);
  if (!lookaround.ok) t.regex(lookaround.errors[0]?.message ?? '', /values\.schema is not a valid JSON Schema: pattern .* linear time/);
});
