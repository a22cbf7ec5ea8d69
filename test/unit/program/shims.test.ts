// The stand-ins for Node built-ins inside the sandbox and the kit's list and map
// values: plain data, compared with Node's own crypto and path.
import { createHash as nodeHash } from 'node:crypto';
import { posix } from 'node:path';
import test from 'ava';
import { resolveValues } from '../../../apply-controller/bundle/index.ts';
import { item, value, valuesSchema } from '../../../packages-cdk8s/kit/index.ts';
import { createHash } from '../../../packages-cdk8s/kit/sandbox/crypto.ts';
import * as path from '../../../packages-cdk8s/kit/sandbox/path.ts';

test('sha1 and sha256 give what node:crypto gives, for ASCII, non-ASCII and multi-block input', (t) => {
  for (const text of ['', 'abc', 'Default/web/Deployment', 'ünïcødé ✓ 𝄞', 'x'.repeat(1000), 'a'.repeat(55), 'a'.repeat(56), 'a'.repeat(64)]) {
    for (const algorithm of ['sha1', 'sha256']) {
      t.is(createHash(algorithm).update(text).digest('hex'), nodeHash(algorithm).update(text).digest('hex'), `${algorithm} of ${text.slice(0, 20)}`);
    }
  }
  t.throws(() => createHash('md5'), { message: /not available in a Trellis program/ });
});

test('path functions agree with node:path for the paths cdk8s builds', (t) => {
  const cases: [string, ...string[]][] = [['dist', 'chart.k8s.yaml'], ['a/b', '../c'], ['/x', 'y', '.', 'z/'], ['', 'a'], ['a//b', './c']];
  for (const parts of cases) t.is(path.join(...parts), posix.join(...parts), parts.join(' + '));
  for (const p of ['a/b/c.yaml', '/a', 'a', 'a/b/', '/']) {
    t.is(path.dirname(p), posix.dirname(p), `dirname ${p}`);
    t.is(path.basename(p), posix.basename(p), `basename ${p}`);
    t.is(path.extname(p), posix.extname(p), `extname ${p}`);
  }
  t.is(path.basename('c.yaml', '.yaml'), 'c');
  t.is(path.relative('/a/b', '/a/c/d'), posix.relative('/a/b', '/a/c/d'));
});

test('list and map values: a schema with items, defaults and constraints, checked like any value', (t) => {
  const shape = {
    hosts: value.list(item.string({ minLength: 1 }), { default: ['a.example'], maxItems: 3 }),
    extra: value.map(item.map(item.string()), { default: {}, keyPattern: '^[a-z]+$' }),
    ports: value.list(item.object({ name: item.string(), port: item.integer({ minimum: 1 }), note: item.optional(item.string()) }), { default: [] }),
  };
  const schema = valuesSchema(shape);
  t.deepEqual((schema.properties as Record<string, unknown>).hosts, { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 3, default: ['a.example'] });
  t.deepEqual((schema.properties as Record<string, unknown>).extra, {
    type: 'object', additionalProperties: { type: 'object', additionalProperties: { type: 'string' } }, propertyNames: { pattern: '^[a-z]+$' }, default: {},
  });
  const good = resolveValues({ schema, values: { extra: { db: { url: 'x' } }, ports: [{ name: 'http', port: 80 }] } });
  t.true(good.ok);
  t.deepEqual(good.ok && good.values, { hosts: ['a.example'], extra: { db: { url: 'x' } }, ports: [{ name: 'http', port: 80 }] });
  const bad = resolveValues({ schema, values: { hosts: ['', 'b', 'c', 'd'], extra: { Bad: {} }, ports: [{ name: 'http', port: 0 }] } });
  t.false(bad.ok);
  const messages = bad.ok ? [] : bad.errors.map((e) => e.message);
  t.true(messages.some((m) => m.includes('values/hosts') && m.includes('3')), messages.join('\n'));
  t.true(messages.some((m) => m.includes('values/extra') && /pattern|property name/.test(m)), messages.join('\n'));
  t.true(messages.some((m) => m.includes('values/ports/0/port')), messages.join('\n'));
});
