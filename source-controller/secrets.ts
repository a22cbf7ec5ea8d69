/**
 * Reading the Secrets a source references (`secretRef`, `certSecretRef`) through
 * the KubeClient, in the source's own namespace. Every secret value read is
 * added to a {@link SensitiveValues} set first, so whatever the reconcile later
 * writes (conditions, Events, logs) can be scrubbed of exactly those strings.
 * Errors name the Secret and the key, never a value.
 */
import type { KubeClient } from '../runtime/kube.ts';
import type { KubeObject } from '../runtime/object.ts';
import { REDACTED, redactString } from '../runtime/redact.ts';
import type { GitCredentials } from './git/transport.ts';
import { credentialsForHost, parseDockerConfig } from './oci/docker-config.ts';
import { OciError } from './oci/errors.ts';
import type { Credentials } from './oci/index.ts';
import { fetchFailed, type SourceFailure } from './reconcile/failure.ts';

/** A Secret as the apiserver returns it. */
export interface SecretObject extends KubeObject {
  type?: string;
  /** Base64 values. */
  data?: Record<string, string>;
}

/** The Secret type that holds registry credentials. */
export const DOCKER_CONFIG_JSON_TYPE = 'kubernetes.io/dockerconfigjson';
/** The key of a dockerconfigjson Secret. */
export const DOCKER_CONFIG_JSON_KEY = '.dockerconfigjson';
/** The key of the CA certificate in a `certSecretRef` Secret. */
export const CA_CERT_KEY = 'ca.crt';

/** Secret values seen during one reconcile; {@link SensitiveValues.scrub} removes them from text. */
export class SensitiveValues {
  readonly #values = new Set<string>();

  /** Remembers `value` (and its base64 form) as secret; short values are ignored (they would mangle text). */
  add(value: string | undefined): void {
    if (value === undefined || value.length < 4) return;
    this.#values.add(value);
    this.#values.add(Buffer.from(value).toString('base64'));
  }

  /** `text` with credential patterns and every remembered value replaced by `[REDACTED]`. */
  scrub(text: string): string {
    let out = redactString(text);
    // Longest first, so a value that contains another is replaced whole.
    for (const value of [...this.#values].sort((a, b) => b.length - a.length)) out = out.replaceAll(value, REDACTED);
    return out;
  }
}

/** The data of Secret `name` in `namespace`, decoded; a FetchFailed failure when it is missing. */
export async function readSecret(client: KubeClient, namespace: string, name: string,
  sensitive: SensitiveValues): Promise<{ type: string | undefined; data: Map<string, string> }> {
  const secret = await client.get<SecretObject>({ apiVersion: 'v1', kind: 'Secret', namespace, name });
  if (!secret) throw fetchFailed('SecretNotFound', `Secret ${namespace}/${name} not found`, 'interval');
  const data = new Map<string, string>();
  for (const [key, value] of Object.entries(secret.data ?? {})) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    sensitive.add(decoded);
    data.set(key, decoded);
  }
  return { type: secret.type, data };
}

function invalidSecret(namespace: string, name: string, detail: string): SourceFailure {
  return fetchFailed('InvalidSecret', `Secret ${namespace}/${name}: ${detail}`, 'interval');
}

/**
 * Git HTTP credentials from a Secret with `username` and `password`, or with
 * `bearerToken`.
 */
export async function readGitCredentials(client: KubeClient, namespace: string, name: string,
  sensitive: SensitiveValues): Promise<GitCredentials> {
  const { data } = await readSecret(client, namespace, name, sensitive);
  const username = data.get('username');
  const password = data.get('password');
  const bearerToken = data.get('bearerToken');
  if (bearerToken !== undefined && bearerToken !== '') return { bearerToken };
  if (username !== undefined && password !== undefined) {
    sensitive.add(`${username}:${password}`);
    return { username, password };
  }
  throw invalidSecret(namespace, name, 'needs the keys "username" and "password", or "bearerToken"');
}

/**
 * Registry credentials for `host` from a `kubernetes.io/dockerconfigjson`
 * Secret; undefined when the config has no entry for the host (anonymous).
 */
export async function readRegistryCredentials(client: KubeClient, namespace: string, name: string, host: string,
  sensitive: SensitiveValues): Promise<Credentials | undefined> {
  const { type, data } = await readSecret(client, namespace, name, sensitive);
  const json = data.get(DOCKER_CONFIG_JSON_KEY);
  if (json === undefined) {
    throw invalidSecret(namespace, name, `needs the key "${DOCKER_CONFIG_JSON_KEY}" (type ${DOCKER_CONFIG_JSON_TYPE}, got ${type ?? 'no type'})`);
  }
  try {
    const credentials = credentialsForHost(parseDockerConfig(json), host);
    if (credentials && 'password' in credentials) {
      sensitive.add(credentials.password);
      sensitive.add(`${credentials.username}:${credentials.password}`);
    } else if (credentials) {
      sensitive.add(credentials.token);
    }
    return credentials;
  } catch (err) {
    if (err instanceof OciError) throw invalidSecret(namespace, name, err.message);
    throw err;
  }
}

/** The PEM CA certificate (`ca.crt`) of a `certSecretRef` Secret. */
export async function readCaCertificate(client: KubeClient, namespace: string, name: string,
  sensitive: SensitiveValues): Promise<string> {
  const { data } = await readSecret(client, namespace, name, sensitive);
  const ca = data.get(CA_CERT_KEY);
  if (ca === undefined || !ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw invalidSecret(namespace, name, `needs the key "${CA_CERT_KEY}" with a PEM certificate`);
  }
  return ca;
}
