/**
 * The local Git server: Git's own smart-HTTP server side (`git http-backend`), run
 * as a CGI program for each request behind a small node:http server on loopback,
 * optionally behind basic auth. Repositories are bare repos in one folder, so a
 * server stopped and started again on the same folder serves the same repos (tests
 * use that to make the server unreachable for a while).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, timingSafeEqual } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ensureDebianTool } from './lib/system-tools.ts';

/** Basic-auth credentials for the Git server. */
export interface GitCredentials {
  readonly username: string;
  readonly password: string;
}

/** Options for {@link startGitServer}. */
export interface GitServerOptions {
  /** Folder for the bare repos (`dir/repos`), work clones and the request log. */
  readonly dir: string;
  /** When set, every request needs these credentials (HTTP basic auth). */
  readonly auth?: GitCredentials;
  /** Listen on this port (default: a free one), e.g. to come back on the same URL after stop(). */
  readonly port?: number;
  /** Progress lines go here (default: stderr with a `[trellis]` prefix). */
  readonly log?: (line: string) => void;
}

/** A running Git smart-HTTP server. */
export interface GitServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The folder given as `dir`. */
  readonly dir: string;
  /** The folder of bare repos. */
  readonly root: string;
  /** The credentials the server requires, when it requires any. */
  readonly auth?: { username: string; password: string };
  /** `url + "/" + name + ".git"` */
  repoUrl(name: string): string;
  /** Creates the bare repo `name` (HEAD -> refs/heads/main, pushes allowed); keeps an existing one. */
  createRepo(name: string): Promise<void>;
  /** Closes the listener and every connection and ends running CGI processes. */
  stop(): Promise<void>;
}

/** Raised for a repo name that is not a plain relative path. */
export class InvalidRepoNameError extends Error {
  override readonly name = 'InvalidRepoNameError';
}

const defaultLog = (line: string): void => { process.stderr.write(`[trellis] ${line}\n`); };

/** Repo names are relative paths of plain segments: `app`, `team/app`. */
const REPO_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;

/** Starts a Git server over the repos in `opts.dir/repos`. */
export async function startGitServer(opts: GitServerOptions): Promise<GitServer> {
  const log = opts.log ?? defaultLog;
  const git = ensureDebianTool('git', 'git', log);
  const dir = opts.dir;
  const root = join(dir, 'repos');
  mkdirSync(root, { recursive: true });
  const logFile = join(dir, 'git-server.log');
  const children = new Set<ChildProcess>();
  const expected = opts.auth ? digest(`${opts.auth.username}:${opts.auth.password}`) : undefined;

  const server = createServer((req, res) => {
    const user = authenticate(req, expected);
    if (user === false) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="trellis-git", charset="UTF-8"', 'content-type': 'text/plain' });
      res.end('authentication required\n');
      appendFileSync(logFile, `${req.method} ${req.url} 401\n`);
      return;
    }
    let child: ChildProcess;
    try {
      child = runBackend(git, root, req, res, user, (line) => appendFileSync(logFile, `${line}\n`));
    } catch (err) {
      // A malformed request (say, a bad %-escape in the path) must not take the server down.
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`bad request: ${err instanceof Error ? err.message : String(err)}\n`);
      return;
    }
    children.add(child);
    child.on('close', () => { if (child.pid === undefined || !groupAlive(child.pid)) children.delete(child); });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  log(`git server at ${url}${opts.auth ? ' (auth)' : ''}, repos in ${root}`);

  const repoPath = (name: string): string => {
    if (!REPO_NAME.test(name) || name.split('/').some((s) => s === '..' || s.endsWith('.git'))) {
      throw new InvalidRepoNameError(`invalid repo name ${JSON.stringify(name)}`);
    }
    return join(root, `${name}.git`);
  };
  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    dir,
    root,
    ...(opts.auth ? { auth: { username: opts.auth.username, password: opts.auth.password } } : {}),
    repoUrl: (name) => { repoPath(name); return `${url}/${name}.git`; },
    async createRepo(name) {
      const path = repoPath(name);
      if (!existsSync(join(path, 'HEAD'))) {
        mkdirSync(path, { recursive: true });
        await runGit(git, ['init', '--quiet', '--bare', '--initial-branch=main', path]);
      }
      await runGit(git, ['-C', path, 'symbolic-ref', 'HEAD', 'refs/heads/main']);
      // http-backend refuses pushes from unauthenticated users unless this is set explicitly.
      await runGit(git, ['-C', path, 'config', 'http.receivepack', 'true']);
    },
    stop() {
      stopped ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        for (const c of children) killGroup(c);
        // Wait for whole groups: http-backend's own children (upload-pack, pack-objects) too.
        const deadline = Date.now() + 5_000;
        while ([...children].some((c) => c.pid !== undefined && groupAlive(c.pid))) {
          if (Date.now() > deadline) for (const c of children) killGroup(c, 'SIGKILL');
          await new Promise((r) => setTimeout(r, 50));
        }
        children.clear();
        await closed;
      })();
      return stopped;
    },
  };
}

/** Runs a git command for repo administration; rejects with git's stderr. */
function runGit(git: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(git, args, { env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } }, (err, _out, stderr) => {
      if (err) reject(new Error(`git ${args[0] === '-C' ? args[2] : args[0]} failed: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * The authenticated user name, `undefined` when the server needs no auth, or
 * `false` when the request's credentials are missing or wrong.
 */
function authenticate(req: IncomingMessage, expected: Buffer | undefined): string | undefined | false {
  if (!expected) return undefined;
  const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m?.[1]) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  // Comparing digests keeps the comparison constant-time whatever the lengths.
  if (!timingSafeEqual(digest(decoded), expected)) return false;
  return decoded.slice(0, decoded.indexOf(':'));
}

/** Runs `git http-backend` for one request: the body streams in, the CGI response streams out. */
function runBackend(git: string, root: string, req: IncomingMessage, res: ServerResponse,
  user: string | undefined, log: (line: string) => void): ChildProcess {
  const target = new URL(req.url ?? '/', 'http://localhost');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    // The machine's and the user's git configuration must not change what the server does.
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    PATH_INFO: decodeURIComponent(target.pathname),
    QUERY_STRING: target.search.replace(/^\?/, ''),
    REQUEST_METHOD: req.method ?? 'GET',
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
  };
  if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = req.headers['content-length'];
  // http-backend inflates gzip'ed request bodies itself when told the encoding.
  if (req.headers['content-encoding'] !== undefined) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
  const protocol = req.headers['git-protocol'];
  if (typeof protocol === 'string') env.HTTP_GIT_PROTOCOL = protocol;
  if (user !== undefined) env.REMOTE_USER = user;

  // Its own process group, so ending it also ends the upload-pack/pack-objects it runs.
  const child = spawn(git, ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => { if (stderr.length < 16_384) stderr += chunk; });
  child.stdin.on('error', () => { /* the backend may exit before reading the whole body */ });
  req.pipe(child.stdin);
  // A client that goes away mid-response ends the backend (the pid is ours while it has not exited).
  const abandon = (): void => { if (child.exitCode === null && child.signalCode === null) killGroup(child); };
  req.on('aborted', abandon);
  res.on('close', abandon);

  let head = Buffer.alloc(0);
  let headersSent = false;
  const readHeaders = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const parsed = parseCgiHeaders(head);
    if (!parsed) return;
    headersSent = true;
    res.writeHead(parsed.status, parsed.headers);
    log(`${req.method} ${req.url} ${parsed.status}`);
    if (parsed.body.length > 0) res.write(parsed.body);
    // From here on the body streams with backpressure: a slow client slows pack-objects down
    // instead of the whole pack piling up in memory.
    child.stdout.off('data', readHeaders);
    child.stdout.pipe(res);
  };
  child.stdout.on('data', readHeaders);
  child.on('close', (code) => {
    if (stderr.trim()) log(`http-backend: ${stderr.trim()}`);
    if (headersSent) return;
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`git http-backend failed (exit ${code})\n`);
    log(`${req.method} ${req.url} 502`);
  });
  return child;
}

/** Ends a CGI process and everything it started. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** True while any process of the group led by `pgid` exists. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Splits a CGI response into status, headers and the first bytes of the body, once the headers are complete. */
export function parseCgiHeaders(data: Buffer): { status: number; headers: OutgoingHttpHeaders; body: Buffer } | undefined {
  const crlf = data.indexOf('\r\n\r\n');
  const lf = data.indexOf('\n\n');
  let end: number;
  let sep: number;
  if (crlf >= 0 && (lf < 0 || crlf < lf)) { end = crlf; sep = 4; } else if (lf >= 0) { end = lf; sep = 2; } else return undefined;
  let status = 200;
  const headers: Record<string, string | string[]> = {};
  for (const line of data.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'status') {
      status = Number.parseInt(value, 10) || 500;
      continue;
    }
    const existing = headers[name];
    headers[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return { status, headers, body: data.subarray(end + sep) };
}
