/**
 * Proof that a webhook request comes from a sender that holds the Receiver's
 * token, one scheme per Receiver type. Pure functions over the headers and
 * the raw body; every comparison of secret material is constant-time, and a
 * refusal says which check failed, never what was sent or expected.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ReceiverType } from '../api.ts';

/** The outcome of {@link verifyRequest}. */
export type Verification = { readonly ok: true } | { readonly ok: false; readonly why: string };

/** The shortest token a Receiver accepts: shorter ones could be guessed. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Compares two secrets in time that depends on neither content nor length:
 * both sides are hashed first, so `timingSafeEqual` always sees 32 bytes.
 */
export function secretsEqual(a: string | Buffer, b: string | Buffer): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** The single value of a header (a repeated header is refused as ambiguous). */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  if (Array.isArray(v)) return v.length === 1 ? v[0] : undefined;
  return v;
}

/** `sha256=<hex>` of the body with `token` as the key. */
export function hmacSignature(token: string, body: Buffer, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return `${algorithm}=${createHmac(algorithm, token).update(body).digest('hex')}`;
}

/** Checks an `<algorithm>=<hex>` signature header against the body; sha256 and sha512 only. */
function verifySignature(header: string | undefined, name: string, token: string, body: Buffer): Verification {
  if (header === undefined) return { ok: false, why: `missing ${name} header` };
  const m = /^(sha256|sha512)=([a-f0-9]+)$/i.exec(header.trim());
  if (!m?.[1] || !m[2]) return { ok: false, why: `${name} is not <sha256|sha512>=<hex>` };
  const algorithm = m[1].toLowerCase() as 'sha256' | 'sha512';
  const expected = hmacSignature(token, body, algorithm);
  return secretsEqual(`${algorithm}=${m[2].toLowerCase()}`, expected) ? { ok: true } : { ok: false, why: `${name} does not match the body` };
}

/** Checks `Authorization: Bearer <token>`. */
function verifyBearer(headers: IncomingHttpHeaders, token: string): Verification {
  const auth = headerValue(headers, 'authorization');
  if (auth === undefined) return { ok: false, why: 'missing Authorization header' };
  const m = /^Bearer\s+(\S+)$/i.exec(auth.trim());
  if (!m?.[1]) return { ok: false, why: 'Authorization is not a bearer token' };
  return secretsEqual(m[1], token) ? { ok: true } : { ok: false, why: 'bearer token does not match' };
}

/** Verifies a request for a Receiver of `type` holding `token`. */
export function verifyRequest(type: ReceiverType, headers: IncomingHttpHeaders, body: Buffer, token: string): Verification {
  switch (type) {
    case 'generic':
    case 'registry':
      return verifyBearer(headers, token);
    case 'generic-hmac':
      return verifySignature(headerValue(headers, 'x-signature'), 'X-Signature', token, body);
    case 'github':
      // X-Hub-Signature (SHA-1) is not accepted: GitHub sends the SHA-256 header as well.
      return verifySignature(headerValue(headers, 'x-hub-signature-256'), 'X-Hub-Signature-256', token, body);
    case 'gitlab': {
      const sent = headerValue(headers, 'x-gitlab-token');
      if (sent === undefined) return { ok: false, why: 'missing X-Gitlab-Token header' };
      return secretsEqual(sent, token) ? { ok: true } : { ok: false, why: 'X-Gitlab-Token does not match' };
    }
  }
}

/**
 * The webhook path of a Receiver: an HMAC of its namespace and name keyed by
 * its token. Unguessable without the token, stable while the token is, and a
 * new token moves it (an old path stops working at once).
 */
export function webhookPath(token: string, namespace: string, name: string): string {
  return `/hook/${createHmac('sha256', token).update(`${namespace}/${name}`).digest('hex')}`;
}

/** Default event types per Receiver type (see the `events` field). */
export const DEFAULT_EVENTS: Readonly<Record<ReceiverType, readonly string[]>> = {
  'generic': [],
  'generic-hmac': [],
  'github': ['push'],
  'gitlab': ['Push Hook', 'Tag Push Hook'],
  'registry': ['push'],
};
