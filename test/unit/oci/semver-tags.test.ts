// Choosing a tag for a semver range among a repository's tags.
import test from 'ava';
import { InvalidReferenceError, NoMatchingVersionError, selectSemverTag, tagVersion } from '../../../source-controller/oci/index.ts';

const tags = ['latest', '1.0.0', 'v1.4.2', '1.4.10', '1.10.0-rc.1', '2.0.0', 'main-3f2a1b', '1.4', 'v1.5.0_build.7', 'sha256-abc.sig'];

test('the highest tag satisfying the range wins (numeric, not lexical, order)', (t) => {
  t.deepEqual(selectSemverTag(tags, '^1.4', 'r.io/web'), { tag: 'v1.5.0_build.7', version: '1.5.0+build.7' });
  t.deepEqual(selectSemverTag(tags, '~1.4.0', 'r.io/web'), { tag: '1.4.10', version: '1.4.10' });
  t.deepEqual(selectSemverTag(tags, '>=1.0.0', 'r.io/web'), { tag: '2.0.0', version: '2.0.0' });
  t.deepEqual(selectSemverTag(tags, '1.0.0', 'r.io/web'), { tag: '1.0.0', version: '1.0.0' });
});

test('non-semver tags are ignored; a leading v is allowed; _ stands for +', (t) => {
  t.is(tagVersion('latest'), undefined);
  t.is(tagVersion('1.4'), undefined);
  t.is(tagVersion('main-3f2a1b'), undefined);
  t.is(tagVersion('v1.4.2'), '1.4.2');
  t.is(tagVersion('1.5.0_build.7'), '1.5.0+build.7');
});

test('pre-releases match only when the range asks for them', (t) => {
  // 1.10.0-rc.1 is the only tag in [1.6.0, 2.0.0), and a plain range does not take pre-releases.
  t.throws(() => selectSemverTag(tags, '>=1.6.0 <2.0.0', 'r.io/web'), { instanceOf: NoMatchingVersionError });
  t.is(selectSemverTag(tags, '>=1.10.0-rc.0 <2.0.0', 'r.io/web').tag, '1.10.0-rc.1');
});

test('equal versions under two tags give a stable choice', (t) => {
  t.is(selectSemverTag(['v1.2.0', '1.2.0'], '1.x', 'r').tag, '1.2.0');
  t.is(selectSemverTag(['1.2.0', 'v1.2.0'], '1.x', 'r').tag, '1.2.0');
});

test('no matching tag is a clear NoMatchingVersion error naming the repository and the range', (t) => {
  const err = t.throws(() => selectSemverTag(tags, '^3.0.0', '127.0.0.1:5000/team/web'), { instanceOf: NoMatchingVersionError });
  t.is(err.reason, 'NoMatchingVersion');
  t.regex(err.message, /127\.0\.0\.1:5000\/team\/web/);
  t.regex(err.message, /"\^3\.0\.0"/);
  t.regex(err.message, /highest versions: 2\.0\.0, 1\.10\.0-rc\.1/);
  const none = t.throws(() => selectSemverTag(['latest', 'main'], '*', 'r'), { instanceOf: NoMatchingVersionError });
  t.regex(none.message, /no tag is a semver version/);
});

test('an invalid range is an InvalidReference error', (t) => {
  t.throws(() => selectSemverTag(tags, 'not a range', 'r'), { instanceOf: InvalidReferenceError });
  t.throws(() => selectSemverTag(tags, '', 'r'), { instanceOf: InvalidReferenceError });
});
