/**
 * From a Provider object to what a delivery needs: the address (the Secret's
 * `address` wins over the spec's), the headers (a bearer token, or an HMAC
 * signature of the body for generic-hmac), the timeout. Secrets come from the
 * Provider's own namespace. Every problem is a {@link ProviderProblem} with a
 * reason for the Provider's status; no message carries the address's path or
 * a token.
 */
import { parseBoundedDuration } from '../../../runtime/duration.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import type { Provider } from '../api.ts';
import { hmacSignature } from '../receiver/verify.ts';
import { readSecretData } from '../status.ts';

/** A Provider that cannot be used as it is. */
export class ProviderProblem extends Error {
  override readonly name = 'ProviderProblem';
  readonly reason: string;

  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** A Provider ready to send to. */
export interface ResolvedProvider {
  readonly url: URL;
  readonly timeoutMs: number;
  /** The headers for one body. */
  headersFor(body: string): Record<string, string>;
  /** Secret values read, for scrubbing messages. */
  readonly secrets: readonly string[];
}

const MAX_TIMEOUT = { ms: 60_000, text: '1m' } as const;

/** Reads the Provider's Secret and checks its address and timeout. */
export async function resolveProvider(client: KubeClient, provider: Provider): Promise<ResolvedProvider> {
  const namespace = provider.metadata.namespace ?? '';
  const where = `Provider ${namespace}/${provider.metadata.name ?? ''}`;
  let timeoutMs: number;
  try {
    timeoutMs = parseBoundedDuration(provider.spec.timeout, 'spec.timeout', MAX_TIMEOUT);
  } catch (err) {
    throw new ProviderProblem('InvalidSpec', `${where}: ${(err as Error).message}`);
  }
  let address = provider.spec.address;
  let token: string | undefined;
  const secretRef = provider.spec.secretRef;
  if (secretRef) {
    const data = await readSecretData(client, namespace, secretRef.name);
    if (!data) throw new ProviderProblem('SecretNotFound', `Secret ${namespace}/${secretRef.name} not found`);
    address = data.get('address')?.trim() || address;
    token = data.get('token')?.trim() || undefined;
  }
  if (address === undefined) throw new ProviderProblem('InvalidSpec', `${where}: no address in the spec or the Secret (key "address")`);
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new ProviderProblem('InvalidSpec', `${where}: the address is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ProviderProblem('InvalidSpec', `${where}: the address must be http or https`);
  if (url.username !== '' || url.password !== '') throw new ProviderProblem('InvalidSpec', `${where}: credentials go in the Secret's "token", not in the address`);
  if (provider.spec.type === 'generic-hmac' && token === undefined) {
    throw new ProviderProblem('InvalidSecret', `${where}: generic-hmac needs a Secret with the key "token"`);
  }
  const type = provider.spec.type;
  return {
    url, timeoutMs, secrets: [address, ...(token ? [token] : [])],
    headersFor(body): Record<string, string> {
      if (token === undefined) return {};
      if (type === 'generic-hmac') return { 'x-signature': hmacSignature(token, Buffer.from(body)) };
      return { authorization: `Bearer ${token}` };
    },
  };
}
