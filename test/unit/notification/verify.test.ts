// Webhook verification on plain data: each Receiver type accepts a request
// signed (or carrying the token) as its sender does it, and refuses a wrong,
// missing, malformed or ambiguous proof; the path hides the token.
import test from 'ava';
import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { decideEvent, ociRepositoryPath, registryRepositories } from '../../../source-controller/notification/receiver/events.ts';
import { secretsEqual, verifyRequest, webhookPath } from '../../../source-controller/notification/receiver/verify.ts';

const token = 'a-token-of-enough-length-1234';
const body = Buffer.from('{"ref":"refs/heads/main"}');
const sig = (key: string, data: Buffer, alg = 'sha256'): string => `${alg}=${createHmac(alg, key).update(data).digest('hex')}`;

test('github: X-Hub-Signature-256 over the exact body', (t) => {
  t.true(verifyRequest('github', { 'x-hub-signature-256': sig(token, body) }, body, token).ok);
  t.true(verifyRequest('github', { 'x-hub-signature-256': sig(token, body).toUpperCase().replace('SHA256', 'sha256') }, body, token).ok, 'hex case does not matter');
  const refusals: IncomingHttpHeaders[] = [
    {},
    { 'x-hub-signature-256': sig('another-token-of-length-xx', body) },
    { 'x-hub-signature-256': sig(token, Buffer.from(`${body.toString()} `)) },
    { 'x-hub-signature-256': sig(token, body).slice(0, 20) },
    { 'x-hub-signature-256': 'sha1=' + createHmac('sha1', token).update(body).digest('hex') },
    { 'x-hub-signature': 'sha1=' + createHmac('sha1', token).update(body).digest('hex') },
  ];
  for (const headers of refusals) t.false(verifyRequest('github', headers, body, token).ok, JSON.stringify(headers));
});

test('generic-hmac: X-Signature with sha256 or sha512', (t) => {
  t.true(verifyRequest('generic-hmac', { 'x-signature': sig(token, body) }, body, token).ok);
  t.true(verifyRequest('generic-hmac', { 'x-signature': sig(token, body, 'sha512') }, body, token).ok);
  t.false(verifyRequest('generic-hmac', { 'x-signature': sig(token, body, 'md5') }, body, token).ok);
  t.false(verifyRequest('generic-hmac', { authorization: `Bearer ${token}` }, body, token).ok, 'the token alone is not a signature');
});

test('gitlab: X-Gitlab-Token; generic and registry: a bearer token', (t) => {
  t.true(verifyRequest('gitlab', { 'x-gitlab-token': token }, body, token).ok);
  t.false(verifyRequest('gitlab', { 'x-gitlab-token': `${token}x` }, body, token).ok);
  t.false(verifyRequest('gitlab', { 'x-gitlab-token': token.slice(1) }, body, token).ok);
  for (const type of ['generic', 'registry'] as const) {
    t.true(verifyRequest(type, { authorization: `Bearer ${token}` }, body, token).ok, type);
    t.false(verifyRequest(type, { authorization: `Basic ${token}` }, body, token).ok, type);
    t.false(verifyRequest(type, { authorization: 'Bearer wrong-token-but-long-enough' }, body, token).ok, type);
    t.false(verifyRequest(type, {}, body, token).ok, type);
  }
});

test('a refusal says which check failed, never a value', (t) => {
  const v = verifyRequest('github', { 'x-hub-signature-256': sig('another-token-of-length-xx', body) }, body, token);
  t.false(v.ok);
  if (!v.ok) {
    t.false(v.why.includes(token));
    t.false(v.why.includes(sig(token, body).slice(7)));
    t.regex(v.why, /X-Hub-Signature-256 does not match/);
  }
});

test('secretsEqual compares content, not a prefix, whatever the lengths', (t) => {
  t.true(secretsEqual('abc', 'abc'));
  t.false(secretsEqual('abc', 'abcd'));
  t.false(secretsEqual('', 'a'));
  t.true(secretsEqual(Buffer.from('x'), 'x'));
});

test('the webhook path depends on the token, the namespace and the name, and shows none of them', (t) => {
  const p = webhookPath(token, 'team', 'app');
  t.regex(p, /^\/hook\/[a-f0-9]{64}$/);
  t.is(webhookPath(token, 'team', 'app'), p, 'stable');
  t.not(webhookPath(`${token}2`, 'team', 'app'), p, 'a new token moves it');
  t.not(webhookPath(token, 'team2', 'app'), p);
  t.not(webhookPath(token, 'team', 'app2'), p);
  t.false(p.includes('team') || p.includes(Buffer.from(token).toString('hex')));
});

test('event types: github push acts, ping answers, others are ignored; gitlab by X-Gitlab-Event', (t) => {
  t.like(decideEvent('github', [], { 'x-github-event': 'push' }, body), { act: true });
  t.like(decideEvent('github', [], { 'x-github-event': 'ping' }, body), { act: false, why: 'ping' });
  t.like(decideEvent('github', [], { 'x-github-event': 'issues' }, body), { act: false });
  t.like(decideEvent('github', ['release'], { 'x-github-event': 'release' }, body), { act: true });
  t.like(decideEvent('github', ['release'], { 'x-github-event': 'push' }, body), { act: false }, 'events replace the default');
  t.like(decideEvent('gitlab', [], { 'x-gitlab-event': 'Tag Push Hook' }, body), { act: true });
  t.like(decideEvent('gitlab', [], { 'x-gitlab-event': 'Merge Request Hook' }, body), { act: false });
  t.like(decideEvent('generic', [], {}, body), { act: true });
});

/** An envelope as Distribution 2.8 sends it: the layer push, then the manifest push with its tag, then a pull. */
const envelope = Buffer.from(JSON.stringify({
  events: [
    { id: '1', action: 'push', target: { mediaType: 'application/octet-stream', repository: 'team/app', digest: 'sha256:aa' } },
    { id: '2', action: 'push', target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', repository: 'team/app', tag: '1.2.0', digest: 'sha256:bb' } },
    { id: '3', action: 'pull', target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', repository: 'team/other', tag: '1.0.0' } },
  ],
}));

test('registry envelopes: only manifest pushes count, by repository', (t) => {
  t.deepEqual([...registryRepositories(envelope, ['push'])], ['team/app']);
  t.deepEqual([...registryRepositories(envelope, ['push', 'pull'])].sort(), ['team/app', 'team/other']);
  const d = decideEvent('registry', [], {}, envelope);
  t.true(d.act && d.repositories?.has('team/app'));
  t.like(decideEvent('registry', [], {}, Buffer.from('not json')), { act: false, event: 'invalid' });
  t.like(decideEvent('registry', [], {}, Buffer.from('{"events":[]}')), { act: false });
  t.like(decideEvent('registry', [], {}, Buffer.from('{"events":{"x":1}}')), { act: false, event: 'invalid' });
  t.is(ociRepositoryPath('oci://127.0.0.1:5000/team/app'), 'team/app');
});
