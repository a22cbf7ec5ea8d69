/**
 * What `install` reads from the registry: the package manifest a Trellis bundle
 * carries as its OCI config (`application/vnd.trellis.package.config.v1+json`,
 * package.yaml as JSON), whose `values.schema` types `--set`. Only the manifest
 * and the small config blob are downloaded, never the content layer.
 * Credentials come from the Docker config (`$DOCKER_CONFIG/config.json` or
 * `~/.docker/config.json`) when it has some for the host.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import semver from 'semver';
import { isPlainObject } from '../../apply-controller/index.ts';
import {
  credentialsForHost, OciClient, parseDockerConfig, tagVersion, TRELLIS_CONFIG_MEDIA_TYPE, type CredentialSource, type OciReference,
  type RefSelector,
} from '../../source-controller/index.ts';
import { CliError } from './errors.ts';

/** The package manifest of one version in a registry. */
export interface RegistryPackage {
  /** `<tag>@sha256:…` or the digest: the version the ref resolved to. */
  readonly revision: string;
  /** The config media type; a bundle not built by Trellis has another one (or none). */
  readonly configMediaType: string;
  /** package.yaml's `name`/`version`, when a Trellis manifest. */
  readonly name?: string | undefined;
  readonly version?: string | undefined;
  /** `values.schema`, when the package declares values. */
  readonly valuesSchema?: Record<string, unknown> | undefined;
}

/** Options of {@link readRegistryPackage}. */
export interface RegistryReadOptions {
  readonly insecure: boolean;
  /** Environment for the Docker config location (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

/** Credentials from the Docker config file, if there is one. */
function dockerCredentials(env: NodeJS.ProcessEnv): CredentialSource | undefined {
  const file = join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker'), 'config.json');
  if (!existsSync(file)) return undefined;
  try {
    const config = parseDockerConfig(readFileSync(file));
    return (host: string) => credentialsForHost(config, host);
  } catch {
    return undefined; // a broken Docker config must not stop an anonymous pull
  }
}

/**
 * Resolves `selector` in `repository` and reads the package manifest of that
 * version. Throws CliError when the registry cannot be reached or the version
 * does not exist (the message carries the registry's reason, never credentials).
 */
export async function readRegistryPackage(repository: OciReference, selector: RefSelector,
  opts: RegistryReadOptions): Promise<RegistryPackage> {
  const credentials = dockerCredentials(opts.env ?? process.env);
  const client = new OciClient({
    insecure: opts.insecure, timeoutMs: opts.timeoutMs ?? 15_000, maxRetries: 1, userAgent: 'kubectl-package',
    ...(credentials ? { credentials } : {}),
  });
  const where = `oci://${repository.host}/${repository.repository}`;
  try {
    const resolved = await client.resolve(repository, selector);
    const fetched = await client.fetchManifest(repository, resolved.digest);
    const config = fetched.manifest.config;
    if (config.mediaType !== TRELLIS_CONFIG_MEDIA_TYPE) return { revision: resolved.revision, configMediaType: config.mediaType };
    const bytes = await client.fetchBlobBytes(repository, config);
    let manifest: unknown;
    try {
      manifest = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new CliError(`${where}@${resolved.digest}: the package manifest (OCI config) is not JSON`);
    }
    if (!isPlainObject(manifest)) throw new CliError(`${where}@${resolved.digest}: the package manifest (OCI config) is not an object`);
    const values = isPlainObject(manifest.values) ? manifest.values : undefined;
    return {
      revision: resolved.revision,
      configMediaType: config.mediaType,
      name: typeof manifest.name === 'string' ? manifest.name : undefined,
      version: typeof manifest.version === 'string' ? manifest.version : undefined,
      valuesSchema: values && isPlainObject(values.schema) ? values.schema : undefined,
    };
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read the package from ${where}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    client.close();
  }
}

/** The highest released version among a repository's tags (pre-releases only when there is nothing else). */
export interface HighestVersion {
  readonly tag: string;
  readonly version: string;
}

/** The highest semantic version among `tags` (a release over any pre-release), or undefined when none is one. */
export function highestVersion(tags: readonly string[]): HighestVersion | undefined {
  const versions = tags.flatMap((tag) => {
    const version = tagVersion(tag);
    return version === undefined ? [] : [{ tag, version }];
  });
  const releases = versions.filter((v) => semver.prerelease(v.version) === null);
  const pool = releases.length > 0 ? releases : versions;
  return pool.sort((a, b) => semver.rcompare(a.version, b.version) || a.tag.localeCompare(b.tag))[0];
}

/** Lists the tags of `repository` (credentials from the Docker config). Throws CliError naming the registry. */
export async function readRegistryTags(repository: OciReference, opts: RegistryReadOptions): Promise<string[]> {
  const credentials = dockerCredentials(opts.env ?? process.env);
  const client = new OciClient({
    insecure: opts.insecure, timeoutMs: opts.timeoutMs ?? 15_000, maxRetries: 1, userAgent: 'kubectl-package',
    ...(credentials ? { credentials } : {}),
  });
  try {
    return await client.listTags(repository);
  } catch (err) {
    throw new CliError(`cannot list the tags of oci://${repository.host}/${repository.repository}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    client.close();
  }
}
