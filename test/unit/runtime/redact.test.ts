// Credential redaction on plain data: URLs, headers, errors and objects.
import test from 'ava';
import { errorMessage, redact, redactError, redactString, REDACTED } from '../../../runtime/redact.ts';

const cases: Array<[string, string, string]> = [
  ['user and password in a URL', 'fetch https://alice:s3cr3t-pass@git.example.com/org/repo.git', 's3cr3t-pass'],
  ['a token as URL user', 'clone https://ghp_abcdefTOKEN123@github.com/x/y', 'ghp_abcdefTOKEN123'],
  ['a token query parameter', 'GET https://registry.example.com/v2/token?service=x&access_token=tok-987654&scope=y', 'tok-987654'],
  ['a signed URL', 'https://bucket.s3.amazonaws.com/blob?X-Amz-Signature=deadbeefcafe&X-Amz-Credential=AKIA123', 'deadbeefcafe'],
  ['an Authorization header', 'request headers: {"Authorization": "Bearer eyJhbGciOi.payload.sig"}', 'eyJhbGciOi.payload.sig'],
  ['a raw header line', 'Authorization: Basic YWxpY2U6c2VjcmV0', 'YWxpY2U6c2VjcmV0'],
  ['a free bearer token', 'server said: invalid Bearer abcdef123456789 token', 'abcdef123456789'],
  ['password=value', 'login failed for password=hunter2 user=bob', 'hunter2'],
  ['json secret field', '{"username":"bob","password":"hunter2"}', 'hunter2'],
];

for (const [title, input, secret] of cases) {
  test(`redactString removes ${title}`, (t) => {
    const out = redactString(input);
    t.false(out.includes(secret), out);
    t.true(out.includes(REDACTED), out);
  });
}

test('redactString keeps what is not secret', (t) => {
  const text = 'fetch https://git.example.com/org/repo.git?ref=main failed: connection refused (status 503)';
  t.is(redactString(text), text);
  t.is(redactString('https://bob:pw@host/p'), `https://${REDACTED}@host/p`, 'the host and path stay readable');
});

test('redactError scrubs message, stack, fields and cause, and keeps the name', (t) => {
  const cause = new Error('inner: https://u:innerpass@h/x');
  const err = Object.assign(new Error('outer Authorization: Bearer abcdefghijkl', { cause }), {
    name: 'FetchError', url: 'https://u:fieldpass@h/', password: 'plainpass', statusCode: 401,
  });
  const out = redactError(err);
  const dump = JSON.stringify({ ...out, message: out.message, stack: out.stack, cause: (out.cause as Error).message });
  for (const secret of ['abcdefghijkl', 'innerpass', 'fieldpass', 'plainpass']) t.false(dump.includes(secret), secret);
  t.is(out.name, 'FetchError');
  t.is((out as unknown as { statusCode: number }).statusCode, 401);
  t.true(err.message.includes('abcdefghijkl'), 'the original is untouched');
});

test('redact replaces secret-named fields wholesale, at any depth, and leaves the input alone', (t) => {
  const input = {
    url: 'https://x:y@host', nested: { Token: 'abc', list: [{ password: 'p' }, 'Bearer 1234567890'] },
    headers: { authorization: 'Basic Zm9vOmJhcg==', accept: 'json' }, count: 3, empty: '',
  };
  const out = redact(input);
  t.deepEqual(out, {
    url: `https://${REDACTED}@host`, nested: { Token: REDACTED, list: [{ password: REDACTED }, `Bearer ${REDACTED}`] },
    headers: { authorization: REDACTED, accept: 'json' }, count: 3, empty: '',
  });
  t.is(input.nested.Token, 'abc');
});

test('errorMessage describes anything thrown, redacted', (t) => {
  t.is(errorMessage(new Error('https://a:b@c')), `https://${REDACTED}@c`);
  t.is(errorMessage('password=x'), `password=${REDACTED}`);
  t.is(errorMessage({ code: 1 }), '{"code":1}');
  t.is(errorMessage(undefined), 'undefined');
});
