/**
 * Registry authentication: anonymous, Basic, a static bearer token, and the
 * bearer-token challenge flow of the distribution spec. A registry answers 401 with
 * `WWW-Authenticate: Bearer realm=…,service=…,scope=…`; the client asks the realm
 * for a token (with Basic credentials when it has some), caches it per scope until
 * it expires, and presents it from then on without a second 401. Credentials are
 * never put in an error message.
 */
import type { Credentials } from './docker-config.ts';
import { AuthenticationError, RegistryError } from './errors.ts';
import { parseWwwAuthenticate, type AuthChallenge } from './www-authenticate.ts';

/** Credentials for a client: one set for every registry, or looked up per host. */
export type CredentialSource = Credentials | ((host: string) => Credentials | undefined);

/** The answer of a token endpoint, as the transport fetched it (status and body text). */
export interface TokenResponse {
  readonly status: number;
  readonly body: string;
}

/** Fetches `url` with an optional Authorization header (the transport's job: retries, TLS, limits). */
export type TokenFetcher = (url: URL, authorization: string | undefined, signal: AbortSignal | undefined) => Promise<TokenResponse>;

/** Options for {@link RegistryAuth}. */
export interface RegistryAuthOptions {
  readonly credentials?: CredentialSource | undefined;
  readonly fetchToken: TokenFetcher;
  /** Allow sending credentials to a plain-http token realm (only for `insecure` clients). */
  readonly allowPlainHttpRealm?: boolean;
  readonly now?: () => number;
}

type HostScheme = { readonly scheme: 'basic' } | { readonly scheme: 'bearer'; readonly realm: string; readonly service: string | undefined };

interface CachedToken {
  readonly value: string;
  readonly expiresAt: number;
}

/** Token lifetime when the endpoint does not say (the token spec's default). */
const DEFAULT_TOKEN_SECONDS = 60;

/** The scope string a request needs: `repository:<name>:pull` or `…:pull,push`. */
export function repositoryScope(repository: string, push: boolean): string {
  return `repository:${repository}:${push ? 'pull,push' : 'pull'}`;
}

/** Per-client authentication state: what each host asked for, and tokens per scope. */
export class RegistryAuth {
  readonly #credentials: CredentialSource | undefined;
  readonly #fetchToken: TokenFetcher;
  readonly #allowPlainHttpRealm: boolean;
  readonly #now: () => number;
  readonly #hosts = new Map<string, HostScheme>();
  readonly #tokens = new Map<string, CachedToken>();

  constructor(opts: RegistryAuthOptions) {
    this.#credentials = opts.credentials;
    this.#fetchToken = opts.fetchToken;
    this.#allowPlainHttpRealm = opts.allowPlainHttpRealm ?? false;
    this.#now = opts.now ?? Date.now;
  }

  /** The credentials configured for `host`, if any. */
  credentialsFor(host: string): Credentials | undefined {
    return typeof this.#credentials === 'function' ? this.#credentials(host) : this.#credentials;
  }

  /**
   * The Authorization header to send to `host` for `scope`, from what earlier
   * challenges taught: Basic credentials, a cached token, or a fresh token from the
   * known realm. Before the host challenged anything, configured username/password
   * credentials go out as Basic (they were configured for this very host, and it
   * saves the 401 round trip on a registry with Basic auth); without credentials the
   * first request is anonymous.
   */
  async authorization(host: string, scope: string, signal?: AbortSignal): Promise<string | undefined> {
    const credentials = this.credentialsFor(host);
    if (credentials && 'token' in credentials) return `Bearer ${credentials.token}`;
    const known = this.#hosts.get(host);
    if (!known || known.scheme === 'basic') return credentials ? basicHeader(credentials) : undefined;
    const cached = this.#tokens.get(tokenKey(host, scope));
    if (cached && cached.expiresAt > this.#now()) return `Bearer ${cached.value}`;
    return `Bearer ${await this.#requestToken(host, known, [scope], signal)}`;
  }

  /**
   * Handles a 401: learns the host's scheme from `header` and prepares the next
   * attempt (a new token for the scope). Throws {@link AuthenticationError} when
   * another attempt cannot succeed: Basic credentials were already refused, none are
   * configured, or the challenge is not one this client speaks.
   */
  async onChallenge(host: string, header: string | undefined, scope: string, presented: string | undefined,
    signal?: AbortSignal): Promise<void> {
    const challenges = parseWwwAuthenticate(header ?? '');
    const credentials = this.credentialsFor(host);
    if (credentials && 'token' in credentials) {
      throw new AuthenticationError(`${host} refused the configured bearer token (HTTP 401)`, 401);
    }
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer) {
      const known: HostScheme = { scheme: 'bearer', realm: bearer.params.realm!, service: bearer.params.service };
      this.#hosts.set(host, known);
      this.#tokens.delete(tokenKey(host, scope));
      await this.#requestToken(host, known, [scope, ...challengeScopes(bearer)], signal);
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      this.#hosts.set(host, { scheme: 'basic' });
      if (!credentials) throw new AuthenticationError(`${host} requires credentials and none were configured (HTTP 401)`, 401);
      if (presented?.startsWith('Basic ')) throw new AuthenticationError(`${host} refused the credentials (HTTP 401)`, 401);
      return;
    }
    const schemes = challenges.map((c) => c.scheme).join(', ') || 'none';
    throw new AuthenticationError(`${host} answered HTTP 401 with no Basic or Bearer challenge (schemes: ${schemes})`, 401);
  }

  /** Fetches a token for `scopes` from the host's realm and caches it under the first scope. */
  async #requestToken(host: string, known: Extract<HostScheme, { scheme: 'bearer' }>, scopes: readonly string[],
    signal: AbortSignal | undefined): Promise<string> {
    let url: URL;
    try {
      url = new URL(known.realm);
    } catch {
      throw new AuthenticationError(`${host} named a token realm that is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new AuthenticationError(`${host} named a token realm with an unsupported scheme (${url.protocol})`);
    }
    const credentials = this.credentialsFor(host);
    const basic = credentials && 'username' in credentials ? basicHeader(credentials) : undefined;
    if (basic && url.protocol === 'http:' && !this.#allowPlainHttpRealm) {
      throw new AuthenticationError(`${host} asks for credentials at a plain-http token realm (${url.host}); refusing to send them unencrypted (set insecure to allow)`);
    }
    if (known.service) url.searchParams.set('service', known.service);
    for (const scope of new Set(scopes)) url.searchParams.append('scope', scope);
    const answer = await this.#fetchToken(url, basic, signal);
    if (answer.status === 401 || answer.status === 403) {
      const why = basic ? 'refused the credentials' : 'requires credentials and none were configured';
      throw new AuthenticationError(`the token service of ${host} (${url.host}) ${why} (HTTP ${answer.status})`, answer.status);
    }
    if (answer.status !== 200) {
      throw new RegistryError(`the token service of ${host} (${url.host}) answered HTTP ${answer.status}`, answer.status);
    }
    const token = parseToken(answer.body);
    if (!token) throw new AuthenticationError(`the token service of ${host} (${url.host}) answered without a token`);
    const lifetimeMs = token.expiresIn * 1000;
    // Renew a little early so a token does not expire between lookup and use.
    const expiresAt = this.#now() + lifetimeMs - Math.min(lifetimeMs / 10, 30_000);
    this.#tokens.set(tokenKey(host, scopes[0]!), { value: token.value, expiresAt });
    return token.value;
  }
}

function tokenKey(host: string, scope: string): string {
  return `${host} ${scope}`;
}

function basicHeader(credentials: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

/** The scopes a challenge asks for (space separated), so the token covers them too. */
function challengeScopes(challenge: AuthChallenge): string[] {
  return (challenge.params.scope ?? '').split(' ').filter((s) => s.length > 0);
}

/** `{token | access_token, expires_in}` from a token endpoint's JSON. */
export function parseToken(body: string): { value: string; expiresIn: number } | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const { token, access_token: accessToken, expires_in: expiresIn } = doc as Record<string, unknown>;
  const value = typeof token === 'string' && token ? token : typeof accessToken === 'string' && accessToken ? accessToken : undefined;
  if (!value) return undefined;
  const seconds = typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_TOKEN_SECONDS;
  return { value, expiresIn: seconds };
}
