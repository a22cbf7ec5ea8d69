/**
 * The local OCI registry: the Distribution registry server (Debian package
 * `docker-registry`) on a loopback port chosen at start, storing blobs in a folder,
 * optionally behind htpasswd basic auth and optionally serving TLS with a certificate
 * from a private CA. Starting again on the same folder reuses a registry that is still
 * running with the same settings; different folders give independent registries.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { ensureCA, ensureServingCert } from './lib/pki.ts';
import { freePort, isAlive, startProcess, waitFor } from './lib/processes.ts';
import { ensureDebianTool } from './lib/system-tools.ts';

/** Basic-auth credentials of a registry user. */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** Options for {@link startRegistry}. */
export interface RegistryOptions {
  /** Folder for the configuration, the storage, the certificates and the log. */
  readonly dir: string;
  /** When set, every request needs these credentials (htpasswd, bcrypt). */
  readonly auth?: RegistryCredentials;
  /** Serve HTTPS with a certificate from a CA kept in `dir/pki`. */
  readonly tls?: boolean;
  /** Progress lines go here (default: stderr with a `[trellis]` prefix). */
  readonly log?: (line: string) => void;
}

/** A running registry. */
export interface Registry {
  /** `127.0.0.1:<port>`, the host part of an image reference. */
  readonly host: string;
  /** `http://127.0.0.1:<port>`, or `https://` with TLS. */
  readonly url: string;
  /** The CA certificate that verifies the serving certificate (TLS only). */
  readonly caFile?: string;
  /** The credentials the registry requires, when it requires any. */
  readonly auth?: { username: string; password: string };
  readonly pid: number;
  /** Stops the registry process; the storage stays in the folder. */
  stop(): Promise<void>;
}

/** Raised when the registry cannot be started; the message carries the end of its log. */
export class RegistryStartError extends Error {
  override readonly name = 'RegistryStartError';
}

interface State {
  readonly pid: number;
  readonly port: number;
  /** sha256 of the configuration the process was started with. */
  readonly configDigest: string;
}

const defaultLog = (line: string): void => { process.stderr.write(`[trellis] ${line}\n`); };

/** Starts (or reuses) the registry whose state is in `opts.dir`. */
export async function startRegistry(opts: RegistryOptions): Promise<Registry> {
  const log = opts.log ?? defaultLog;
  const dir = opts.dir;
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const binary = ensureDebianTool('docker-registry', 'docker-registry', log);
  const configPath = join(dir, 'config.yml');
  const statePath = join(dir, 'registry.json');
  const htpasswdPath = join(dir, 'htpasswd');

  let tlsFiles: { certFile: string; keyFile: string; caFile: string } | undefined;
  if (opts.tls) {
    const pki = join(dir, 'pki');
    const ca = ensureCA(pki, 'trellis-registry-ca');
    const serving = ensureServingCert(pki, ca, 'registry');
    tlsFiles = { ...serving, caFile: ca.certFile };
  }
  if (opts.auth) writeHtpasswd(htpasswdPath, opts.auth);

  const settings = { dir, htpasswdPath: opts.auth ? htpasswdPath : undefined, tls: tlsFiles };
  const handle = (pid: number, port: number, stop: () => Promise<void>): Registry => {
    const host = `127.0.0.1:${port}`;
    return {
      host,
      url: `${tlsFiles ? 'https' : 'http'}://${host}`,
      ...(tlsFiles ? { caFile: tlsFiles.caFile } : {}),
      ...(opts.auth ? { auth: { username: opts.auth.username, password: opts.auth.password } } : {}),
      pid,
      stop,
    };
  };

  const previous = readState(statePath);
  if (previous && isAlive(previous.pid) && isOurs(previous.pid, configPath)) {
    const config = registryConfig({ ...settings, port: previous.port });
    const answers = await probeV2(`${tlsFiles ? 'https' : 'http'}://127.0.0.1:${previous.port}`, tlsFiles?.caFile)
      .catch(() => false);
    if (config.digest === previous.configDigest && answers) {
      log(`reusing the running registry at 127.0.0.1:${previous.port}`);
      return handle(previous.pid, previous.port, () => stopPid(previous.pid));
    }
    // Running with other settings (or not answering): replace it.
    await stopPid(previous.pid);
  }

  const port = await freePort();
  const config = registryConfig({ ...settings, port });
  writeFileSync(configPath, config.text);
  log(`starting the registry on 127.0.0.1:${port}${tlsFiles ? ' (TLS)' : ''}${opts.auth ? ' (auth)' : ''}`);
  const proc = startProcess('docker-registry', binary, ['serve', configPath], { logFile: join(dir, 'registry.log') });
  const url = `${tlsFiles ? 'https' : 'http'}://127.0.0.1:${port}`;
  try {
    await waitFor('registry GET /v2/', () => probeV2(url, tlsFiles?.caFile), { timeoutMs: 30_000, process: proc });
  } catch (err) {
    await proc.stop();
    throw new RegistryStartError(`${err instanceof Error ? err.message : String(err)}\n${proc.tail()}`);
  }
  const state: State = { pid: proc.pid, port, configDigest: config.digest };
  writeFileSync(statePath, JSON.stringify(state, null, 2));
  return handle(proc.pid, port, () => proc.stop());
}

/** Writes a bcrypt htpasswd file for `auth`, keeping one that already matches. */
function writeHtpasswd(path: string, auth: RegistryCredentials): void {
  if (!/^[^:\s]+$/.test(auth.username)) throw new TypeError('a registry username must not contain ":" or spaces');
  if (existsSync(path)) {
    const [user, hash] = readFileSync(path, 'utf8').trim().split(':');
    // Keeping a matching file keeps the config digest stable, so a running registry is reused.
    if (user === auth.username && hash && bcrypt.compareSync(auth.password, hash)) return;
  }
  writeFileSync(path, `${auth.username}:${bcrypt.hashSync(auth.password, 10)}\n`, { mode: 0o600 });
}

interface ConfigSettings {
  readonly dir: string;
  readonly port: number;
  readonly htpasswdPath?: string | undefined;
  readonly tls?: { certFile: string; keyFile: string } | undefined;
}

/** The registry's YAML configuration and a digest that also covers the htpasswd file. */
function registryConfig(s: ConfigSettings): { text: string; digest: string } {
  // JSON strings are valid YAML scalars, so paths need no further quoting.
  const q = (v: string): string => JSON.stringify(v);
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(join(s.dir, 'storage'))}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${q(`127.0.0.1:${s.port}`)}`,
    '  headers:',
    '    X-Content-Type-Options: [nosniff]',
  ];
  if (s.tls) lines.push('  tls:', `    certificate: ${q(s.tls.certFile)}`, `    key: ${q(s.tls.keyFile)}`);
  if (s.htpasswdPath) lines.push('auth:', '  htpasswd:', '    realm: trellis-registry', `    path: ${q(s.htpasswdPath)}`);
  const text = `${lines.join('\n')}\n`;
  const hash = createHash('sha256').update(text);
  if (s.htpasswdPath) hash.update(readFileSync(s.htpasswdPath));
  return { text, digest: hash.digest('hex') };
}

function readState(path: string): State | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as State;
  } catch {
    return undefined;
  }
}

/** True when `pid` is a registry serving this folder's config (not a recycled pid). */
function isOurs(pid: number, configPath: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(configPath);
  } catch {
    return false;
  }
}

async function stopPid(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  await waitFor('registry to stop', () => Promise.resolve(!isAlive(pid)), { timeoutMs: 10_000 })
    .catch(() => { if (isAlive(pid)) process.kill(pid, 'SIGKILL'); });
}

/** True when `GET /v2/` answers 200 or 401 (the registry is up, with or without auth). */
function probeV2(url: string, caFile: string | undefined): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const target = `${url}/v2/`;
    const req = caFile
      ? httpsRequest(target, { ca: readFileSync(caFile), timeout: 5_000 }, onResponse)
      : httpRequest(target, { timeout: 5_000 }, onResponse);
    function onResponse(res: IncomingMessage): void {
      res.resume();
      resolve(res.statusCode === 200 || res.statusCode === 401);
    }
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}
