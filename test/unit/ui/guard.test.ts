// The dashboard's request guard, case by case: which Host values it answers to, and what a
// request needs (token, Origin, Sec-Fetch-Site, content type) before it may read or act.
import test from 'ava';
import { allowedHosts, checkRequest, sameToken, TOKEN_HEADER } from '../../../ui/server/guard.ts';

const TOKEN = 'a'.repeat(43);
const hosts = allowedHosts({ address: '127.0.0.1', port: 9999 });

function request(method: string, url: string, headers: Record<string, string>) {
  return { method, url, headers };
}

const post = (headers: Record<string, string>) => request('POST', '/api/packages/ns/web/actions/suspend', {
  host: '127.0.0.1:9999', origin: 'http://127.0.0.1:9999', [TOKEN_HEADER]: TOKEN, 'content-type': 'application/json', ...headers,
});

test('loopback listeners answer to the loopback names with their port, nothing else', (t) => {
  t.deepEqual([...hosts].sort(), ['127.0.0.1:9999', '[::1]:9999', 'localhost:9999']);
  t.deepEqual([...allowedHosts({ address: '10.1.2.3', port: 80 })], ['10.1.2.3:80']);
  t.false(allowedHosts({ address: '0.0.0.0', port: 1 }).has('0.0.0.0:1'));
});

test('the page itself needs only a known Host', (t) => {
  t.is(checkRequest(request('GET', '/', { host: 'localhost:9999' }), hosts, TOKEN), undefined);
  t.is(checkRequest(request('GET', '/', { host: 'evil.example:9999' }), hosts, TOKEN)?.status, 421);
  t.is(checkRequest(request('GET', '/', { host: '127.0.0.1:8888' }), hosts, TOKEN)?.status, 421);
  t.is(checkRequest(request('GET', '/', {}), hosts, TOKEN)?.status, 421);
});

test('API reads need the token (header, or query for the event stream) and no cross-site fetch', (t) => {
  const host = '127.0.0.1:9999';
  t.is(checkRequest(request('GET', '/api/overview', { host, [TOKEN_HEADER]: TOKEN }), hosts, TOKEN), undefined);
  t.is(checkRequest(request('GET', `/api/events?token=${TOKEN}`, { host }), hosts, TOKEN), undefined);
  t.is(checkRequest(request('GET', '/api/overview', { host }), hosts, TOKEN)?.status, 403);
  t.is(checkRequest(request('GET', '/api/overview', { host, [TOKEN_HEADER]: 'b'.repeat(43) }), hosts, TOKEN)?.status, 403);
  t.is(checkRequest(request('GET', '/api/overview', { host, [TOKEN_HEADER]: TOKEN, 'sec-fetch-site': 'cross-site' }), hosts, TOKEN)?.status, 403);
  t.is(checkRequest(request('GET', '/api/overview', { host, [TOKEN_HEADER]: TOKEN, 'sec-fetch-site': 'same-site' }), hosts, TOKEN)?.status, 403);
  t.is(checkRequest(request('GET', '/api/overview', { host, [TOKEN_HEADER]: TOKEN, 'sec-fetch-site': 'same-origin' }), hosts, TOKEN), undefined);
});

test('actions need a same-origin Origin, the token header and a JSON body', (t) => {
  t.is(checkRequest(post({}), hosts, TOKEN), undefined);
  t.is(checkRequest(post({ origin: 'http://evil.example' }), hosts, TOKEN)?.status, 403);
  t.is(checkRequest(post({ origin: 'null' }), hosts, TOKEN)?.status, 403);
  t.is(checkRequest(post({ origin: 'https://127.0.0.1:9999' }), hosts, TOKEN)?.status, 403);
  const { origin: _o, ...noOrigin } = post({}).headers;
  t.is(checkRequest(request('POST', '/api/x', noOrigin), hosts, TOKEN)?.status, 403);
  const { [TOKEN_HEADER]: _t, ...noToken } = post({}).headers;
  t.is(checkRequest(request('POST', `/api/x?token=${TOKEN}`, noToken), hosts, TOKEN)?.status, 403);
  t.is(checkRequest(post({ 'content-type': 'application/x-www-form-urlencoded' }), hosts, TOKEN)?.status, 415);
  t.is(checkRequest(post({ 'content-type': 'text/plain' }), hosts, TOKEN)?.status, 415);
  t.is(checkRequest(request('DELETE', '/api/x', post({}).headers), hosts, TOKEN)?.status, 405);
});

test('tokens compare in full', (t) => {
  t.true(sameToken(TOKEN, TOKEN));
  t.false(sameToken(TOKEN.slice(1), TOKEN));
  t.false(sameToken(undefined, TOKEN));
});
