// `--set key=value` typed by a package's values schema: the web example's own
// schema (from the cdk8s kit), nested objects, unions, arrays, $ref, and every
// way a value or a key can be wrong.
import test from 'ava';
import web from '../../../packages-cdk8s/examples/web/package.ts';
import { SetValueError, typeAssignment, type SetAssignment } from '../../../cli/package/set-values.ts';
import { applyValueFlags, parseValueAssignment } from '../../../cli/values.ts';
import type { Values } from '../../../apply-controller/index.ts';

// `--set` alone, through the flags' one parser and merge (cli/values.ts).
const applySetValues = (schema: Record<string, unknown>, base: Values, sets: readonly string[]): Values => applyValueFlags(schema, base, { set: sets });
const parseSetArgument = (arg: string): SetAssignment => parseValueAssignment(arg) as SetAssignment;

const webSchema = web.schema as Record<string, unknown>;

const nested: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  $defs: { port: { type: 'integer', minimum: 1, maximum: 65535 } },
  properties: {
    image: {
      type: 'object', additionalProperties: false,
      properties: { repository: { type: 'string' }, tag: { type: 'string', default: 'latest' } },
    },
    port: { $ref: '#/$defs/port' },
    ratio: { type: 'number' },
    debug: { type: 'boolean' },
    timeout: { type: ['integer', 'string'] },
    mode: { enum: ['fast', 'safe'] },
    hosts: { type: 'array', items: { type: 'string' } },
    weights: { type: 'array', items: { type: 'integer' } },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    extra: { type: 'object' },
    optional: { anyOf: [{ type: 'null' }, { type: 'integer' }] },
  },
};

test('the web example: replicas=3 is the integer 3, image and message stay strings', (t) => {
  const values = applySetValues(webSchema, {}, ['replicas=3', 'image=nginx:1.27', 'message=42']);
  t.deepEqual(values, { replicas: 3, image: 'nginx:1.27', message: '42' });
  t.is(typeof values.replicas, 'number');
  t.is(typeof values.message, 'string', 'a string value that looks like a number stays a string');
});

test('a value that is not of the schema\'s type is refused, naming the key and the type', (t) => {
  const err = t.throws(() => applySetValues(webSchema, {}, ['replicas=three']), { instanceOf: SetValueError });
  t.is(err?.message, '--set replicas=three: replicas must be an integer');
  t.throws(() => applySetValues(webSchema, {}, ['replicas=2.5']), { message: /replicas must be an integer/ });
});

test('a value of the right type but outside the schema\'s constraints is refused with the schema\'s reason', (t) => {
  const err = t.throws(() => applySetValues(webSchema, {}, ['replicas=50']), { instanceOf: SetValueError });
  t.regex(err?.message ?? '', /replicas must be <= 20/);
  t.throws(() => applySetValues(webSchema, {}, ['image=']), { message: /image must NOT have fewer than 1 characters/ });
});

test('an unknown key is refused and the known ones are listed', (t) => {
  const err = t.throws(() => applySetValues(webSchema, {}, ['replica=3']), { instanceOf: SetValueError });
  t.is(err?.message, '--set replica=…: the package has no value replica (known: extraConfigs, image, ingress, message, replicas)');
});

test('a key below a scalar is refused', (t) => {
  t.throws(() => applySetValues(webSchema, {}, ['replicas.max=3']), { message: /replicas is an integer, it has no field max/ });
});

test('nested keys build nested objects and merge with the --values base', (t) => {
  const values = applySetValues(nested, { image: { repository: 'nginx' }, port: 80 }, ['image.tag=1.27', 'port=8080']);
  t.deepEqual(values, { image: { repository: 'nginx', tag: '1.27' }, port: 8080 });
});

test('$ref, number, boolean, enum and null unions are typed', (t) => {
  t.is(typeAssignment(nested, parseSetArgument('port=443')), 443);
  t.is(typeAssignment(nested, parseSetArgument('ratio=0.25')), 0.25);
  t.is(typeAssignment(nested, parseSetArgument('ratio=3')), 3);
  t.is(typeAssignment(nested, parseSetArgument('debug=true')), true);
  t.is(typeAssignment(nested, parseSetArgument('mode=safe')), 'safe');
  t.is(typeAssignment(nested, parseSetArgument('optional=null')), null);
  t.is(typeAssignment(nested, parseSetArgument('optional=7')), 7);
  t.throws(() => typeAssignment(nested, parseSetArgument('debug=yes')), { message: '--set debug=yes: debug must be true or false' });
  t.throws(() => typeAssignment(nested, parseSetArgument('ratio=1e')), { message: /ratio must be a number/ });
});

test('a union of integer and string prefers the integer, and keeps other text as a string', (t) => {
  t.is(typeAssignment(nested, parseSetArgument('timeout=30')), 30);
  t.is(typeAssignment(nested, parseSetArgument('timeout=30s')), '30s');
});

test('enum values outside the list are refused by the schema check', (t) => {
  t.throws(() => applySetValues(nested, {}, ['mode=turbo']), { message: /mode must be equal to one of the allowed values/ });
});

test('arrays: comma lists typed item by item, {a,b} and JSON', (t) => {
  t.deepEqual(typeAssignment(nested, parseSetArgument('hosts=a.example,b.example')), ['a.example', 'b.example']);
  t.deepEqual(typeAssignment(nested, parseSetArgument('hosts={a,b}')), ['a', 'b']);
  t.deepEqual(typeAssignment(nested, parseSetArgument('weights=1,2,3')), [1, 2, 3]);
  t.deepEqual(typeAssignment(nested, parseSetArgument('weights=[4,5]')), [4, 5]);
  t.deepEqual(typeAssignment(nested, parseSetArgument('hosts=')), []);
  t.throws(() => typeAssignment(nested, parseSetArgument('weights=1,x')), { message: '--set weights[1]=x: weights[1] must be an integer' });
});

test('maps with additionalProperties take any key typed by it; open objects take anything, inferred', (t) => {
  t.deepEqual(applySetValues(nested, {}, ['labels.team=web', 'labels.tier=3']), { labels: { team: 'web', tier: '3' } });
  t.deepEqual(applySetValues(nested, {}, ['extra.count=3', 'extra.on=true', 'extra.name=x']), { extra: { count: 3, on: true, name: 'x' } });
  t.deepEqual(applySetValues(nested, {}, ['image={"repository":"r","tag":"t"}']), { image: { repository: 'r', tag: 't' } });
});

test('escaped dots are part of a key', (t) => {
  t.deepEqual(parseSetArgument('labels.app\\.kubernetes\\.io/name=web'), { path: ['labels', 'app.kubernetes.io/name'], raw: 'web' });
  t.deepEqual(applySetValues(nested, {}, ['labels.app\\.kubernetes\\.io/name=web']), { labels: { 'app.kubernetes.io/name': 'web' } });
});

test('the value may contain "=" (only the first one separates)', (t) => {
  t.deepEqual(parseSetArgument('message=a=b'), { path: ['message'], raw: 'a=b' });
});

test('malformed arguments are refused', (t) => {
  t.throws(() => parseSetArgument('replicas'), { message: '--set replicas: expected key=value' });
  t.throws(() => parseSetArgument('=3'), { message: /empty part/ });
  t.throws(() => parseSetArgument('a..b=3'), { message: /empty part/ });
  t.throws(() => parseSetArgument('__proto__.polluted=1'), { message: /"__proto__" cannot be a key/ });
  t.is(({} as Record<string, unknown>).polluted, undefined);
});

test('later --set of the same key wins', (t) => {
  t.deepEqual(applySetValues(webSchema, {}, ['replicas=3', 'replicas=4']), { replicas: 4 });
});

test('the defaults are not copied into the result (they stay the package\'s)', (t) => {
  t.deepEqual(applySetValues(webSchema, {}, ['message=hi']), { message: 'hi' });
});
