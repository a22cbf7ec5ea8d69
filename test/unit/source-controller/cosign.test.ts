// The pure parts of cosign verification: the signature tag, public keys from a
// Secret, signatures over payloads, and the digest a payload vouches for.
import test from 'ava';
import { generateKeyPairSync, sign } from 'node:crypto';
import { SourceFailure } from '../../../source-controller/reconcile/failure.ts';
import {
  cosignSignatureTag, parsePublicKeys, signatureVerifies, signedDigest,
} from '../../../source-controller/reconcile/cosign.ts';

const digest = `sha256:${'c'.repeat(64)}`;
const payload = (d: string, type = 'cosign container image signature'): Buffer =>
  Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': 'r/x' }, image: { 'docker-manifest-digest': d }, type }, optional: null }));

test('the signature tag of a digest', (t) => {
  t.is(cosignSignatureTag(digest), `sha256-${'c'.repeat(64)}.sig`);
});

test('ECDSA and Ed25519 signatures verify with the right key only', (t) => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed = generateKeyPairSync('ed25519');
  const wrong = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const body = payload(digest);
  const ecSig = sign('sha256', body, ec.privateKey).toString('base64');
  const edSig = sign(null, body, ed.privateKey).toString('base64');
  t.true(signatureVerifies(body, ecSig, [wrong.publicKey, ec.publicKey]));
  t.true(signatureVerifies(body, edSig, [ed.publicKey]));
  t.false(signatureVerifies(body, ecSig, [wrong.publicKey]));
  t.false(signatureVerifies(Buffer.concat([body, Buffer.from(' ')]), ecSig, [ec.publicKey]), 'a changed payload');
  t.false(signatureVerifies(body, '', [ec.publicKey]));
  t.false(signatureVerifies(body, 'bm90IGEgc2lnbmF0dXJl', [ec.publicKey]));
});

test('a payload vouches for the digest it names, only as an image signature', (t) => {
  t.is(signedDigest(payload(digest)), digest);
  t.is(signedDigest(payload(digest, 'something else')), undefined);
  t.is(signedDigest(Buffer.from('not json')), undefined);
  t.is(signedDigest(Buffer.from('{"critical":{}}')), undefined);
});

test('public keys come from *.pub entries; none or a broken one is VerificationFailed', (t) => {
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  t.is(parsePublicKeys(new Map([['cosign.pub', pem], ['notes.txt', 'x']]), 'ns/keys').length, 1);
  t.like(t.throws(() => parsePublicKeys(new Map([['notes.txt', pem]]), 'ns/keys'), { instanceOf: SourceFailure }),
    { condition: 'VerificationFailed', retry: 'interval', message: 'Secret ns/keys has no public key (an entry named *.pub)' });
  t.throws(() => parsePublicKeys(new Map([['cosign.pub', 'garbage']]), 'ns/keys'), { message: 'Secret ns/keys: cosign.pub is not a PEM public key' });
});
