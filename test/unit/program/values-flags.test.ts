// --set, --set-json and -f values typed by the package's schema (cli/values.ts),
// over the web example's schema: plain data.
import test from 'ava';
import { valuesSchema } from '../../../packages-cdk8s/kit/index.ts';
import { applyValueFlags, parseValueAssignment } from '../../../cli/values.ts';
import { item, value } from '../../../packages-cdk8s/kit/index.ts';

const schema = valuesSchema({
  replicas: value.integer({ default: 2, minimum: 0, maximum: 20 }),
  ingress: value.object({ enabled: value.boolean({ default: false }), host: value.string({ default: 'web.example.com' }) }),
  hosts: value.list(item.string(), { default: ['a.example'] }),
  servers: value.list(item.object({ name: item.string(), port: item.integer({ minimum: 1 }) }), { default: [] }),
  extraConfigs: value.map(item.map(item.string()), { default: {} }),
});

test('paths with keys and list indexes', (t) => {
  t.deepEqual(parseValueAssignment('a.b=true'), { path: ['a', 'b'], raw: 'true' });
  t.deepEqual(parseValueAssignment('list[0]=x'), { path: ['list', 0], raw: 'x' });
  t.deepEqual(parseValueAssignment('servers[1].port=80'), { path: ['servers', 1, 'port'], raw: '80' });
  t.deepEqual(parseValueAssignment('m.a\\.b=1=2'), { path: ['m', 'a.b'], raw: '1=2' });
  t.throws(() => parseValueAssignment('list[x]=1'), { message: /list index must be a whole number/ });
  t.throws(() => parseValueAssignment('a..b=1'), { message: /empty part/ });
  t.throws(() => parseValueAssignment('__proto__.x=1'), { message: /cannot be a key/ });
});

test('--set is typed by the schema at its path, lists included', (t) => {
  const values = applyValueFlags(schema, {}, {
    set: ['ingress.enabled=true', 'replicas=3', 'hosts[0]=b.example', 'servers[0].name=http', 'servers[0].port=8080', 'extraConfigs.db.url=postgres://x'],
  });
  t.deepEqual(values, {
    ingress: { enabled: true }, replicas: 3, hosts: ['b.example'],
    servers: [{ name: 'http', port: 8080 }], extraConfigs: { db: { url: 'postgres://x' } },
  });
  // Like Helm, an index past the end leaves a hole (null), which the schema then refuses.
  t.throws(() => applyValueFlags(schema, {}, { set: ['hosts[1]=b.example'] }), { message: /values\/hosts\/0 must be string/ });
});

test('an index writes into the list given so far; --set-json gives any shape; --set wins over --set-json', (t) => {
  const values = applyValueFlags(schema, { hosts: ['a.example', 'b.example'] }, {
    setJson: ['extraConfigs={"db": {"url": "x"}}', 'replicas=4'], set: ['hosts[1]=c.example', 'replicas=5'],
  });
  t.deepEqual(values, { hosts: ['a.example', 'c.example'], extraConfigs: { db: { url: 'x' } }, replicas: 5 });
});

test('errors name the flag, the path and the rule, before anything is written', (t) => {
  t.throws(() => applyValueFlags(schema, {}, { set: ['replicas=lots'] }), { message: /--set replicas=lots: replicas must be an integer/ });
  t.throws(() => applyValueFlags(schema, {}, { set: ['servers[0].port=http'] }), { message: /servers\[0\]\.port must be an integer/ });
  t.throws(() => applyValueFlags(schema, {}, { set: ['nope=1'] }), { message: /the package has no value nope/ });
  t.throws(() => applyValueFlags(schema, {}, { setJson: ['extraConfigs={bad'] }), { message: /--set-json extraConfigs=…: the value is not JSON/ });
  const err = t.throws(() => applyValueFlags(schema, {}, { setJson: ['replicas=99', 'servers=[{"name": "a"}]'] }));
  t.regex(err.message, /values\/replicas must be <= 20/);
  t.regex(err.message, /values\/servers\/0 must have required property 'port'/);
});

test('the apply controller\'s program flags: allowed by default, forbidden by --no-program-bundles, limits settable', async (t) => {
  const { parseApplyControllerFlags } = await import('../../../apply-controller/main.ts');
  t.like(parseApplyControllerFlags([], {}), { programBundles: true, renderTimeoutMs: 30_000, renderMemoryMb: 256, renderConcurrency: 2 });
  t.like(parseApplyControllerFlags(['--no-program-bundles', '--render-timeout', '10s', '--render-memory-mb', '128', '--render-concurrency', '1'], {}),
    { programBundles: false, renderTimeoutMs: 10_000, renderMemoryMb: 128, renderConcurrency: 1 });
});
