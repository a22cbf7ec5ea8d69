// `--watch-label-selector` of both controllers: selectors are checked when the flags
// are parsed, and a selector gives the controller a Lease of its own.
import test from 'ava';
import { parseApplyControllerFlags } from '../../../apply-controller/main.ts';
import { labelSelectorFlag } from '../../../runtime/flags.ts';
import { shardLeaseName } from '../../../runtime/leader.ts';
import { parseSourceControllerFlags } from '../../../source-controller/main.ts';

test('label selectors Kubernetes accepts pass unchanged', (t) => {
  for (const selector of ['sharding.trellis.dev/key=shard1', '!sharding.trellis.dev/key', 'a==b', 'a!=b', 'a=', 'a',
    'tier in (web, api),!legacy', 'tier notin (x)']) {
    t.is(labelSelectorFlag(selector), selector);
  }
});

test('malformed label selectors are refused with the requirement at fault', (t) => {
  for (const [selector, fault] of [['=b', '"=b"'], ['a in x', '"a in x"'], ['a,,b', '""'], ['a=b c', '"a=b c"'], ['a/b/c=d', '"a/b/c=d"']] as const) {
    const err = t.throws(() => labelSelectorFlag(selector));
    t.true(err.message.startsWith(fault), `${selector}: ${err.message}`);
  }
  t.regex(t.throws(() => labelSelectorFlag('  ')).message, /must not be empty/);
});

test('each selector has its own lease; no selector keeps the plain id', (t) => {
  const shard1 = shardLeaseName('trellis-apply-controller', 'sharding.trellis.dev/key=shard1');
  const rest = shardLeaseName('trellis-apply-controller', '!sharding.trellis.dev/key');
  t.regex(shard1, /^trellis-apply-controller-[0-9a-f]{10}$/);
  t.not(shard1, rest);
  t.is(shardLeaseName('trellis-apply-controller', 'sharding.trellis.dev/key=shard1'), shard1, 'replicas of a shard agree');
  t.is(shardLeaseName('trellis-apply-controller', undefined), 'trellis-apply-controller');
  t.true(shardLeaseName('x'.repeat(300), 'a=b').length <= 253);
});

test('both controllers take --watch-label-selector', (t) => {
  t.is(parseApplyControllerFlags(['--watch-label-selector', 'k=v']).watchLabelSelector, 'k=v');
  t.is(parseSourceControllerFlags(['--watch-label-selector', '!k']).watchLabelSelector, '!k');
  t.is(parseSourceControllerFlags([]).watchLabelSelector, undefined);
  t.throws(() => parseSourceControllerFlags(['--watch-label-selector', 'a b'], {}, () => undefined));
});
