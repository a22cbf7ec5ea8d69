/**
 * Registry credentials from a docker `config.json`, the content of a
 * `kubernetes.io/dockerconfigjson` Secret (`.dockerconfigjson`). Entries are keyed
 * by host, sometimes written as a URL (`https://index.docker.io/v1/`); each holds
 * `auth` (base64 of `user:password`), or `username` + `password`, or a
 * `registrytoken` (a bearer token used as is). Errors name the entry, never its
 * content.
 */
import { InvalidCredentialsError } from './errors.ts';

/** Credentials for one registry. */
export type Credentials =
  | { readonly username: string; readonly password: string }
  /** A bearer token presented as is (docker's `registrytoken`). */
  | { readonly token: string };

/** A parsed docker config: credentials per normalized host (`host[:port]`, lowercase). */
export interface DockerConfig {
  readonly auths: ReadonlyMap<string, Credentials>;
}

/** Docker Hub is known by several names; they share one entry. */
const DOCKER_HUB_ALIASES = ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'];

/** Parses the JSON of a docker config (a string, bytes, or the already parsed object). */
export function parseDockerConfig(input: string | Uint8Array | object): DockerConfig {
  let doc: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const text = typeof input === 'string' ? input : new TextDecoder().decode(input);
    try {
      doc = JSON.parse(text);
    } catch {
      throw new InvalidCredentialsError('the docker config is not valid JSON');
    }
  }
  if (!isRecord(doc)) throw new InvalidCredentialsError('the docker config must be a JSON object');
  const auths = doc.auths ?? {};
  if (!isRecord(auths)) throw new InvalidCredentialsError('the docker config\'s "auths" must be an object');
  const out = new Map<string, Credentials>();
  for (const [key, entry] of Object.entries(auths)) {
    const host = normalizeRegistryHost(key);
    if (!host) continue;
    const credentials = entryCredentials(key, entry);
    if (credentials) out.set(host, credentials);
  }
  return { auths: out };
}

/** The credentials for `host` (`registry.example.com:5000`), or undefined (anonymous). */
export function credentialsForHost(config: DockerConfig, host: string): Credentials | undefined {
  const wanted = normalizeRegistryHost(host);
  const direct = config.auths.get(wanted);
  if (direct) return direct;
  if (DOCKER_HUB_ALIASES.includes(wanted)) {
    for (const alias of DOCKER_HUB_ALIASES) {
      const c = config.auths.get(alias);
      if (c) return c;
    }
  }
  return undefined;
}

/** `https://Registry.example.com:5000/v1/` -> `registry.example.com:5000`. */
export function normalizeRegistryHost(key: string): string {
  let host = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = host.indexOf('/');
  if (slash >= 0) host = host.slice(0, slash);
  return host.toLowerCase();
}

function entryCredentials(key: string, entry: unknown): Credentials | undefined {
  const where = `the docker config entry for "${normalizeRegistryHost(key)}"`;
  if (!isRecord(entry)) throw new InvalidCredentialsError(`${where} must be an object`);
  const { auth, username, password, registrytoken, identitytoken } = entry;
  if (typeof identitytoken === 'string' && identitytoken !== '') {
    // Its `auth` is then a placeholder user; using it would fail in a confusing way.
    throw new InvalidCredentialsError(`${where}: "identitytoken" (an OAuth2 refresh token) is not supported; use username and password`);
  }
  if (typeof auth === 'string' && auth !== '') {
    let decoded: string;
    try {
      decoded = Buffer.from(auth, 'base64').toString('utf8');
    } catch {
      throw new InvalidCredentialsError(`${where}: "auth" is not base64`);
    }
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new InvalidCredentialsError(`${where}: "auth" must be base64 of "username:password"`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof username === 'string' && username !== '') {
    if (typeof password !== 'string') throw new InvalidCredentialsError(`${where}: "username" is set but "password" is missing`);
    return { username, password };
  }
  if (typeof registrytoken === 'string' && registrytoken !== '') return { token: registrytoken };
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
