/**
 * Registry credentials for `trellis push` and `trellis dev`: `--creds user:pass`,
 * or the docker `config.json` (`$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`) entry of the registry host. Credential helpers
 * (`credsStore`, `credHelpers`) are not run; only entries stored in the file are
 * read. Errors never include the credentials.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  credentialsForHost, InvalidCredentialsError, parseDockerConfig, type CredentialSource, type Credentials,
} from '../../source-controller/oci/index.ts';

/** Where credentials may come from. */
export interface CredentialOptions {
  /** `user:password` given on the command line. */
  readonly creds?: string;
  /** The environment to read DOCKER_CONFIG and HOME from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

/** Parses `user:password` (the password may contain `:`). */
export function parseCreds(creds: string): Credentials {
  const colon = creds.indexOf(':');
  if (colon <= 0) throw new InvalidCredentialsError('--creds must be "username:password"');
  return { username: creds.slice(0, colon), password: creds.slice(colon + 1) };
}

/** The docker config file the environment points at. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker'), 'config.json');
}

/**
 * The credentials to push with: `--creds` when given, else a per-host lookup in
 * the docker config (anonymous when the file or the host's entry is missing).
 */
export async function loadCredentials(opts: CredentialOptions = {}): Promise<CredentialSource | undefined> {
  if (opts.creds !== undefined) return parseCreds(opts.creds);
  const path = dockerConfigPath(opts.env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InvalidCredentialsError(`cannot read the docker config ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let config;
  try {
    config = parseDockerConfig(text);
  } catch (err) {
    throw new InvalidCredentialsError(`${path}: ${(err as Error).message}`);
  }
  return (host: string) => credentialsForHost(config, host);
}
