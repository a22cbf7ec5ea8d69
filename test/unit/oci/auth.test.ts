// The auth state machine on plain data: which header goes out, when a token is
// requested, how long it is cached, and when a 401 is final. The token fetcher is
// a recording function returning canned token responses (the real flow runs
// against a real registry in test/integration/oci).
import test from 'ava';
import { AuthenticationError } from '../../../source-controller/oci/errors.ts';
import { RegistryAuth, parseToken, repositoryScope, type TokenResponse } from '../../../source-controller/oci/auth.ts';

const challenge = 'Bearer realm="https://auth.example.com/token",service="reg",scope="repository:team/web:pull"';

function setup(opts: { credentials?: { username: string; password: string }; answer?: TokenResponse } = {}) {
  let now = 1_000_000;
  const calls: Array<{ url: URL; authorization: string | undefined }> = [];
  const auth = new RegistryAuth({
    credentials: opts.credentials,
    now: () => now,
    fetchToken: (url, authorization) => {
      calls.push({ url, authorization });
      return Promise.resolve(opts.answer ?? { status: 200, body: JSON.stringify({ token: `tok-${calls.length}`, expires_in: 300 }) });
    },
  });
  return { auth, calls, advance: (ms: number) => { now += ms; } };
}

const pull = repositoryScope('team/web', false);

test('Basic first; after a Bearer challenge a token is fetched with basic credentials and cached per scope', async (t) => {
  const { auth, calls, advance } = setup({ credentials: { username: 'u', password: 'p' } });
  const basic = `Basic ${Buffer.from('u:p').toString('base64')}`;
  t.is(await auth.authorization('reg', pull), basic, 'configured credentials go out before any challenge');
  t.is(await setup().auth.authorization('reg', pull), undefined, 'without credentials the first request is anonymous');
  await auth.onChallenge('reg', challenge, pull, basic);
  t.is(calls.length, 1);
  t.is(calls[0]?.url.origin + calls[0]!.url.pathname, 'https://auth.example.com/token');
  t.is(calls[0]?.url.searchParams.get('service'), 'reg');
  t.deepEqual(calls[0]?.url.searchParams.getAll('scope'), [pull]);
  t.is(calls[0]?.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
  t.is(await auth.authorization('reg', pull), 'Bearer tok-1');
  advance(200_000);
  t.is(await auth.authorization('reg', pull), 'Bearer tok-1', 'still cached before expiry');
  t.is(calls.length, 1);
  advance(100_000);
  t.is(await auth.authorization('reg', pull), 'Bearer tok-2', 'renewed after expiry, without a new challenge');
  t.is(await auth.authorization('reg', repositoryScope('team/web', true)), 'Bearer tok-3', 'another scope, another token');
  t.deepEqual(calls[2]?.url.searchParams.getAll('scope'), ['repository:team/web:pull,push']);
});

test('a token endpoint that refuses the credentials is an AuthenticationError', async (t) => {
  const { auth } = setup({ credentials: { username: 'u', password: 'wrong-password' }, answer: { status: 401, body: '' } });
  const err = await t.throwsAsync(auth.onChallenge('reg', challenge, pull, undefined), { instanceOf: AuthenticationError });
  t.regex(err.message, /refused the credentials \(HTTP 401\)/);
  t.false(err.message.includes('wrong-password'));
});

test('Basic: no credentials, or credentials already refused, end at once', async (t) => {
  const anonymous = setup();
  await t.throwsAsync(anonymous.auth.onChallenge('reg', 'Basic realm="r"', pull, undefined),
    { instanceOf: AuthenticationError, message: /requires credentials and none were configured/ });
  const { auth, calls } = setup({ credentials: { username: 'u', password: 'p' } });
  const header = await auth.authorization('reg', pull);
  t.is(header, `Basic ${Buffer.from('u:p').toString('base64')}`);
  await t.throwsAsync(auth.onChallenge('reg', 'Basic realm="r"', pull, header), { instanceOf: AuthenticationError, message: /refused the credentials/ });
  t.is(calls.length, 0);
});

test('credentials are not sent to a plain-http realm unless allowed', async (t) => {
  const { auth } = setup({ credentials: { username: 'u', password: 'p' } });
  await t.throwsAsync(auth.onChallenge('reg', 'Bearer realm="http://auth.example.com/token"', pull, undefined),
    { instanceOf: AuthenticationError, message: /plain-http token realm/ });
});

test('a challenge with no usable scheme is an AuthenticationError', async (t) => {
  const { auth } = setup();
  await t.throwsAsync(auth.onChallenge('reg', 'Negotiate abc==', pull, undefined), { instanceOf: AuthenticationError, message: /schemes: negotiate/ });
  await t.throwsAsync(auth.onChallenge('reg', undefined, pull, undefined), { instanceOf: AuthenticationError, message: /schemes: none/ });
});

test('token responses: token or access_token, default lifetime 60 s', (t) => {
  t.deepEqual(parseToken('{"token":"a","expires_in":10}'), { value: 'a', expiresIn: 10 });
  t.deepEqual(parseToken('{"access_token":"b"}'), { value: 'b', expiresIn: 60 });
  t.is(parseToken('{"expires_in":10}'), undefined);
  t.is(parseToken('<html>'), undefined);
});
