// valuesFrom entries: YAML maps at the root, typed scalars at a dotted path, and
// errors that never show the content.
import test from 'ava';
import { nestAtPath, valuesOfEntry } from '../../../apply-controller/reconcile/values.ts';

test('without targetPath an entry is a YAML mapping merged at the root', (t) => {
  t.deepEqual(valuesOfEntry('replicas: 2\nimage: {tag: "1.25"}\n', undefined), { replicas: 2, image: { tag: '1.25' } });
  t.deepEqual(valuesOfEntry('', undefined), {});
  t.is(valuesOfEntry('- a\n- b\n', undefined), 'is not a YAML mapping of values');
  t.is(valuesOfEntry('a: [unclosed', undefined), 'is not valid YAML');
});

test('with targetPath the value lands at the dotted path and keeps its YAML type', (t) => {
  t.deepEqual(valuesOfEntry('3', 'replicas'), { replicas: 3 });
  t.deepEqual(valuesOfEntry('true', 'feature.enabled'), { feature: { enabled: true } });
  t.deepEqual(valuesOfEntry('s3cr3t', 'db.password'), { db: { password: 's3cr3t' } });
  t.deepEqual(valuesOfEntry('a: [unclosed', 'raw'), { raw: 'a: [unclosed' }, 'text that is not YAML stays text');
  t.deepEqual(valuesOfEntry('', 'empty'), { empty: '' });
});

test('paths that are empty or reach prototypes are refused', (t) => {
  t.is(nestAtPath('a..b', 1), undefined);
  t.is(nestAtPath('__proto__.polluted', 1), undefined);
  t.is(typeof valuesOfEntry('1', 'constructor.prototype'), 'string');
  t.deepEqual(nestAtPath('a.b', 1), { a: { b: 1 } });
});

test('an error about an entry never includes its content', (t) => {
  const secret = 'password: [hunter2';
  const message = valuesOfEntry(secret, undefined);
  if (typeof message !== 'string') return t.fail('expected an error text');
  t.false(message.includes('hunter2'));
});
