// Credentials from the content of a kubernetes.io/dockerconfigjson Secret.
import test from 'ava';
import { InvalidCredentialsError, credentialsForHost, parseDockerConfig } from '../../../source-controller/oci/index.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

test('auth (base64 user:password), username/password and registrytoken entries', (t) => {
  const config = parseDockerConfig(JSON.stringify({
    auths: {
      'registry.example.com': { auth: b64('alice:pa:ss') },
      '127.0.0.1:5000': { username: 'bob', password: 'hunter2' },
      'tokens.example.com': { registrytoken: 'tok-123' },
    },
  }));
  t.deepEqual(credentialsForHost(config, 'registry.example.com'), { username: 'alice', password: 'pa:ss' });
  t.deepEqual(credentialsForHost(config, '127.0.0.1:5000'), { username: 'bob', password: 'hunter2' });
  t.deepEqual(credentialsForHost(config, 'tokens.example.com'), { token: 'tok-123' });
  t.is(credentialsForHost(config, 'other.example.com'), undefined);
  t.is(credentialsForHost(config, '127.0.0.1:5001'), undefined, 'the port is part of the host');
});

test('keys written as URLs, with paths or in another case match the host', (t) => {
  const config = parseDockerConfig({
    auths: {
      'https://Registry.Example.com:8443/v2/': { auth: b64('a:1') },
      'http://plain.local:5000': { auth: b64('b:2') },
      'https://index.docker.io/v1/': { auth: b64('c:3') },
    },
  });
  t.deepEqual(credentialsForHost(config, 'registry.example.com:8443'), { username: 'a', password: '1' });
  t.deepEqual(credentialsForHost(config, 'plain.local:5000'), { username: 'b', password: '2' });
  t.deepEqual(credentialsForHost(config, 'registry-1.docker.io'), { username: 'c', password: '3' }, 'Docker Hub aliases');
});

test('bytes (as read from a Secret) are accepted; entries without credentials are anonymous', (t) => {
  const config = parseDockerConfig(new TextEncoder().encode('{"auths":{"r.io":{"email":"x@y"}}}'));
  t.is(credentialsForHost(config, 'r.io'), undefined);
  t.is(parseDockerConfig('{}').auths.size, 0);
});

test('malformed configs fail with InvalidCredentials and never quote the secret', (t) => {
  const secret = 'very-secret-password';
  const cases: Array<[string | object, RegExp]> = [
    [`{"auths": {"r.io": {"auth": "${secret}"`, /not valid JSON/],
    ['[]', /must be a JSON object/],
    [{ auths: [] }, /"auths" must be an object/],
    [{ auths: { 'r.io': secret } }, /entry for "r\.io" must be an object/],
    [{ auths: { 'r.io': { auth: b64(secret) } } }, /base64 of "username:password"/],
    [{ auths: { 'r.io': { username: 'u' } } }, /"password" is missing/],
    [{ auths: { 'r.io': { auth: b64('00000000:'), identitytoken: secret } } }, /identitytoken.*not supported/],
  ];
  for (const [input, message] of cases) {
    const err = t.throws(() => parseDockerConfig(input), { instanceOf: InvalidCredentialsError });
    t.regex(err.message, message);
    t.false(err.message.includes(secret));
    t.is(err.reason, 'InvalidCredentials');
  }
});
