// OCI reference parsing: the forms the CLI and OCIRepository accept, and the
// mistakes they refuse with a message that says what is wrong.
import test from 'ava';
import {
  InvalidReferenceError, formatReference, parseReference, referenceUrl, withDigest, withTag,
} from '../../../source-controller/oci/index.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;

test('host, port, nested repository, tag and digest are parsed', (t) => {
  t.deepEqual(parseReference('oci://registry.example.com/team/web'), { host: 'registry.example.com', repository: 'team/web' });
  t.deepEqual(parseReference('oci://127.0.0.1:5000/a/b/c:1.4.0'), { host: '127.0.0.1:5000', repository: 'a/b/c', tag: '1.4.0' });
  t.deepEqual(parseReference(`oci://localhost:5000/web@${DIGEST}`), { host: 'localhost:5000', repository: 'web', digest: DIGEST });
  t.deepEqual(parseReference(`oci://r.io/web:v1@${DIGEST}`), { host: 'r.io', repository: 'web', tag: 'v1', digest: DIGEST });
  t.deepEqual(parseReference('oci://[::1]:5000/web:latest'), { host: '[::1]:5000', repository: 'web', tag: 'latest' });
  t.deepEqual(parseReference('oci://Registry.Example.COM/my_repo/x-y.z__w'), { host: 'registry.example.com', repository: 'my_repo/x-y.z__w' });
});

test('formatting round-trips', (t) => {
  for (const input of ['oci://r.io/a/b', 'oci://127.0.0.1:5000/x:1.0.0', `oci://r.io/x:t@${DIGEST}`]) {
    t.is(referenceUrl(parseReference(input)), input);
  }
  const repo = parseReference('oci://r.io/a');
  t.is(formatReference(withTag(repo, '2.0.0')), 'r.io/a:2.0.0');
  t.is(formatReference(withDigest(repo, DIGEST)), `r.io/a@${DIGEST}`);
});

test('a repository URL may be required to carry no tag or digest', (t) => {
  t.deepEqual(parseReference('oci://r.io/web', { allowTagOrDigest: false }), { host: 'r.io', repository: 'web' });
  const err = t.throws(() => parseReference('oci://r.io/web:1.0', { allowTagOrDigest: false }), { instanceOf: InvalidReferenceError });
  t.regex(err.message, /not in the URL/);
  t.is(err.reason, 'InvalidReference');
});

const bad: Array<[string, RegExp]> = [
  ['registry.example.com/web', /must start with oci:\/\//],
  ['https://registry.example.com/web', /must start with oci:\/\//],
  ['oci://registry.example.com', /repository path is required/],
  ['oci://registry.example.com/', /repository path is required/],
  ['oci://bad_host!/web', /not a valid registry host/],
  ['oci://r.io:99999/web', /port 99999 is out of range/],
  ['oci://r.io/Web', /repository component "Web"/],
  ['oci://r.io/a//b', /repository component ""/],
  ['oci://r.io/a-/b', /repository component "a-"/],
  ['oci://r.io/web:-bad', /tag "-bad"/],
  [`oci://r.io/web:${'x'.repeat(129)}`, /tag "x+"/],
  ['oci://r.io/web@sha256:abc', /digest "sha256:abc"/],
  [`oci://r.io/web@md5:${'a'.repeat(32)}`, /digest "md5:/],
  [`oci://r.io/web@sha256:${'A'.repeat(64)}`, /digest/],
  [`oci://r.io/${'a/'.repeat(130)}b`, /longer than 255/],
];

for (const [input, message] of bad) {
  test(`refuses ${input.slice(0, 60)}`, (t) => {
    const err = t.throws(() => parseReference(input), { instanceOf: InvalidReferenceError });
    t.regex(err.message, message);
  });
}

test('credentials in the URL are refused without being echoed', (t) => {
  const err = t.throws(() => parseReference('oci://alice:s3cr3t-pass@r.io/web:1.0'), { instanceOf: InvalidReferenceError });
  t.regex(err.message, /credentials must not be part of the URL/);
  t.false(err.message.includes('s3cr3t-pass'));
  t.false(err.message.includes('alice'));
});
