// WWW-Authenticate parsing: quoted values with commas and escapes, several
// challenges in one header, and garbage that must not throw.
import test from 'ava';
import { parseWwwAuthenticate } from '../../../source-controller/oci/www-authenticate.ts';

test('a registry Bearer challenge whose scope holds a comma', (t) => {
  const header = 'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/web:pull,push"';
  t.deepEqual(parseWwwAuthenticate(header), [{
    scheme: 'bearer',
    params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:team/web:pull,push' },
  }]);
});

test('Basic with a realm; scheme and parameter names are case-insensitive', (t) => {
  t.deepEqual(parseWwwAuthenticate('BASIC Realm="trellis-registry"'), [{ scheme: 'basic', params: { realm: 'trellis-registry' } }]);
});

test('several challenges in one header, with spaces around "=" and bare values', (t) => {
  const parsed = parseWwwAuthenticate('Basic realm="a, b", Bearer realm = "https://t/x" , service=svc,error=insufficient_scope');
  t.deepEqual(parsed, [
    { scheme: 'basic', params: { realm: 'a, b' } },
    { scheme: 'bearer', params: { realm: 'https://t/x', service: 'svc', error: 'insufficient_scope' } },
  ]);
});

test('escaped quotes and backslashes inside a quoted value', (t) => {
  const [c] = parseWwwAuthenticate('Bearer realm="https://t/\\"q\\"",scope="a\\\\b"');
  t.is(c?.params.realm, 'https://t/"q"');
  t.is(c?.params.scope, 'a\\b');
});

test('a token68 challenge and a scheme without parameters', (t) => {
  t.deepEqual(parseWwwAuthenticate('Negotiate abc123==, Basic'), [
    { scheme: 'negotiate', params: { token68: 'abc123==' } },
    { scheme: 'basic', params: {} },
  ]);
});

test('garbage and empty headers give what can be read and never throw', (t) => {
  t.deepEqual(parseWwwAuthenticate(''), []);
  t.deepEqual(parseWwwAuthenticate('  ,, '), []);
  t.notThrows(() => parseWwwAuthenticate('Bearer realm="unterminated'));
  t.is(parseWwwAuthenticate('Bearer realm="unterminated')[0]?.params.realm, 'unterminated');
  t.deepEqual(parseWwwAuthenticate('"quoted" , Basic realm=x'), [{ scheme: 'basic', params: { realm: 'x' } }]);
});
