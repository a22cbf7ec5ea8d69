// `kubectl package diff` masks Secret objects' data, and also every value that
// came from a valuesFrom Secret into another kind (a ConfigMap, an argument, an
// annotation): the diff shows that it changes, never what it is.
import test from 'ava';
import { MASK, maskSecretValues, secretLeaves, type ObjectDiff } from '../../../apply-controller/ssa/diff.ts';

test('secret-sourced values are masked in every kind, whole or inside a text; other values are shown', (t) => {
  const secrets = secretLeaves([{ db: { password: 'pw-0123456789', port: 5432 } }, { short: 'on' }]);
  t.deepEqual(secrets.sort(), ['5432', 'on', 'pw-0123456789']);
  const diffs: ObjectDiff[] = [{
    id: 'shop_cfg__ConfigMap', subject: 'ConfigMap/shop/cfg', action: 'update',
    changes: [
      { path: '/data/password', op: 'replace', from: 'old', to: 'pw-0123456789' },
      { path: '/data/url', op: 'add', to: 'postgres://app:pw-0123456789@db:5432/app' },
      { path: '/data/mode', op: 'replace', from: 'off', to: 'on' },
      { path: '/data/other', op: 'replace', from: 'one', to: 'cron' },
      { path: '/spec/args', op: 'add', to: ['--password', 'pw-0123456789', 5432] },
    ],
  }];
  const masked = maskSecretValues(diffs, secrets);
  const text = JSON.stringify(masked);
  t.false(text.includes('pw-0123456789'));
  t.deepEqual(masked[0]?.changes.map((c) => ('to' in c ? c.to : undefined)), [
    MASK, `postgres://app:${MASK}@db:${MASK}/app`, MASK, 'cron', ['--password', MASK, MASK],
  ]);
  // A field that now takes a secret shows no old value (most likely the secret's previous value); others keep theirs.
  t.deepEqual(masked[0]?.changes.map((c) => ('from' in c ? c.from : undefined)), [MASK, undefined, MASK, 'one', undefined]);
  t.deepEqual(maskSecretValues(diffs, []), diffs);
});
