/**
 * Test fixtures for Git sources: real commits made and pushed with the real git
 * CLI, over the Git server's smart-HTTP URL (with its credentials when it has auth)
 * or straight into a folder of bare repos on disk. Each push works in a fresh
 * clone of the branch, so a spec only names the files that change.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import type { GitServer } from './git-server.ts';
import { ensureDebianTool } from './lib/system-tools.ts';

/** One commit to make on a branch. */
export interface CommitSpec {
  /** Files to write (path -> content); `null` deletes the path. Paths are relative with `/`. */
  readonly files: Readonly<Record<string, string | Buffer | null>>;
  readonly message?: string;
  /** Default `main`. A branch that does not exist yet starts from the remote's HEAD (or empty). */
  readonly branch?: string;
  /** Tags pointing at the new commit; an existing tag of that name is moved. */
  readonly tags?: readonly string[];
  /** Make annotated tags (message = tag name) instead of lightweight ones. */
  readonly annotatedTags?: boolean;
  /**
   * An orphan commit holding only `files` and `symlinks`, force-pushed over the
   * branch: what a rewritten (force-pushed) history looks like to a client.
   */
  readonly force?: boolean;
  /** Symbolic links to create: path -> link target. */
  readonly symlinks?: Readonly<Record<string, string>>;
  /** Sign the commit (and annotated tags) with this key (see {@link createGpgKey}, {@link createSshKey}). */
  readonly sign?: SigningKey;
}

/** A key that signs commits and tags. */
export type SigningKey = GpgKey | SshKey;

/** An SSH key pair for `gpg.format=ssh` signatures. */
export interface SshKey {
  readonly format: 'ssh';
  /** The private key file (what `user.signingkey` names). */
  readonly privateKeyFile: string;
  /** The `ssh-ed25519 AAAA… comment` line, as a verify Secret holds it. */
  readonly publicKey: string;
}

/** An OpenPGP key in its own GnuPG home, for signed commits and tags. */
export interface GpgKey {
  readonly format: 'openpgp';
  /** The GNUPGHOME holding the secret key. */
  readonly home: string;
  /** The key's fingerprint (what `-S` / `-u` take). */
  readonly fingerprint: string;
  /** The armored public key, as a verify Secret holds it. */
  readonly publicKey: string;
}

/** Raised when a git command of a fixture fails; the message never holds credentials. */
export class GitFixtureError extends Error {
  override readonly name = 'GitFixtureError';
}

/** Where a push goes: a running Git server, or a folder of bare repos on disk (`<root>/<repo>.git`). */
export type PushTarget = GitServer | string;

const AUTHOR = ['-c', 'user.name=Trellis Test', '-c', 'user.email=test@trellis.invalid'];

/**
 * Makes one commit per `spec` on `spec.branch` of `repo` and pushes it (with its
 * tags). Creates the repo when it does not exist. Resolves with the commit sha.
 */
export async function pushCommit(server: PushTarget, repo: string, spec: CommitSpec): Promise<string> {
  const target = await resolveTarget(server, repo);
  const branch = spec.branch ?? 'main';
  mkdirSync(target.workParent, { recursive: true });
  const work = mkdtempSync(join(target.workParent, 'push-'));
  const git = (args: readonly string[]): Promise<string> =>
    runGit(args, work, spec.sign?.format === 'openpgp' ? { ...target, env: { GNUPGHOME: spec.sign.home } } : target);
  try {
    await git(['init', '--quiet', `--initial-branch=${branch}`]);
    if (!spec.force) {
      const refs = parseLsRemote(await git(['ls-remote', target.url]));
      const from = refs.has(`refs/heads/${branch}`) ? `refs/heads/${branch}` : refs.has('HEAD') ? 'HEAD' : undefined;
      if (from) {
        await git(['fetch', '--quiet', target.url, from]);
        await git(['checkout', '--quiet', '-B', branch, 'FETCH_HEAD']);
      }
    }
    writeTree(work, spec);
    await git(['add', '--all']);
    const signing = signingConfig(spec.sign);
    await git([...AUTHOR, ...signing, 'commit', '--quiet', '--allow-empty', '--no-verify', ...(spec.sign ? ['-S'] : []),
      '-m', spec.message ?? 'test commit']);
    const sha = (await git(['rev-parse', 'HEAD'])).trim();
    const refspecs = [`HEAD:refs/heads/${branch}`];
    for (const tag of spec.tags ?? []) {
      const kind = spec.sign ? ['-s'] : ['-a'];
      await git(spec.annotatedTags ? [...AUTHOR, ...signing, 'tag', '--force', ...kind, '-m', tag, tag] : ['tag', '--force', tag]);
      refspecs.push(`+refs/tags/${tag}:refs/tags/${tag}`);
    }
    await git(['push', '--quiet', ...(spec.force ? ['--force'] : []), target.url, ...refspecs]);
    return sha;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The `-c` options that make git sign with `key`. */
function signingConfig(key: SigningKey | undefined): string[] {
  if (!key) return [];
  if (key.format === 'ssh') {
    const sshKeygen = ensureDebianTool('ssh-keygen', 'openssh-client', defaultLog);
    return ['-c', 'gpg.format=ssh', '-c', `gpg.ssh.program=${sshKeygen}`, '-c', `user.signingkey=${key.privateKeyFile}`];
  }
  return ['-c', `gpg.program=${ensureDebianTool('gpg', 'gnupg', defaultLog)}`, '-c', `user.signingkey=${key.fingerprint}`];
}

const defaultLog = (line: string): void => { process.stderr.write(`[trellis] ${line}\n`); };

interface ResolvedTarget {
  /** Clone/push URL (or path) of the repo, without credentials. */
  readonly url: string;
  readonly workParent: string;
  readonly auth?: { readonly username: string; readonly password: string } | undefined;
  /** More environment for git (GNUPGHOME, GIT_DIR). */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Bytes for git's standard input. */
  readonly input?: Buffer | undefined;
}

async function resolveTarget(server: PushTarget, repo: string): Promise<ResolvedTarget> {
  if (typeof server === 'string') {
    const path = join(server, `${repo}.git`);
    if (!existsSync(join(path, 'HEAD'))) {
      mkdirSync(path, { recursive: true });
      await runGit(['init', '--quiet', '--bare', '--initial-branch=main', path], server, { url: path, workParent: server });
    }
    return { url: path, workParent: join(dirname(server), 'work') };
  }
  const url = server.repoUrl(repo);
  if (!existsSync(join(server.root, `${repo}.git`, 'HEAD'))) await server.createRepo(repo);
  return { url, workParent: join(server.dir, 'work'), auth: server.auth };
}

/** Writes the spec's files, deletions and symlinks into the work tree. */
function writeTree(work: string, spec: CommitSpec): void {
  const place = (path: string): string => {
    const rel = normalize(path);
    if (isAbsolute(rel) || rel.startsWith('..') || rel === '.' || rel.split('/')[0] === '.git') {
      throw new GitFixtureError(`invalid path in commit spec: ${JSON.stringify(path)}`);
    }
    return join(work, rel);
  };
  for (const [path, content] of Object.entries(spec.files)) {
    const full = place(path);
    rmSync(full, { recursive: true, force: true });
    if (content === null) continue;
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  for (const [path, linkTarget] of Object.entries(spec.symlinks ?? {})) {
    const full = place(path);
    rmSync(full, { recursive: true, force: true });
    mkdirSync(dirname(full), { recursive: true });
    symlinkSync(linkTarget, full);
  }
}

/** `ls-remote` output as ref -> sha. */
function parseLsRemote(output: string): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of output.split('\n')) {
    const [sha, ref] = line.split('\t');
    if (sha && ref) refs.set(ref, sha);
  }
  return refs;
}

/**
 * Runs git isolated from the machine's configuration. Credentials go in through
 * environment config (never the command line, which `ps` shows), and are
 * removed from any error message.
 */
function runGit(args: readonly string[], cwd: string, target: ResolvedTarget): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    ...target.env,
  };
  const secrets: string[] = [];
  if (target.auth) {
    const basic = Buffer.from(`${target.auth.username}:${target.auth.password}`).toString('base64');
    env.GIT_CONFIG_COUNT = '1';
    env.GIT_CONFIG_KEY_0 = 'http.extraHeader';
    env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${basic}`;
    secrets.push(basic, target.auth.password);
  }
  return new Promise((resolve, reject) => {
    const child = execFile('git', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      let detail = stderr.trim() || err.message;
      for (const s of secrets) if (s) detail = detail.replaceAll(s, '***');
      reject(new GitFixtureError(`git ${args.filter((a) => a !== '-c' && !a.startsWith('user.') && !a.includes('='))[0] ?? ''} failed: ${detail}`));
    });
    child.stdin?.end(target.input);
  });
}

/**
 * Makes a fresh OpenPGP signing key (ed25519, no passphrase) in its own
 * GnuPG home under `dir`, with the real `gpg`.
 */
export async function createGpgKey(dir: string, uid = 'Trellis Test <test@trellis.invalid>'): Promise<GpgKey> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const home = mkdtempSync(join(dir, 'gnupg-'));
  const binary = ensureDebianTool('gpg', 'gnupg', defaultLog);
  const gpg = (args: readonly string[]): Promise<string> => new Promise((resolve, reject) => {
    execFile(binary, ['--homedir', home, '--batch', '--no-tty', ...args], { maxBuffer: 1024 * 1024 }, (err, stdout, stderr) =>
      (err ? reject(new GitFixtureError(`gpg ${args[0] ?? ''} failed: ${stderr.trim()}`)) : resolve(stdout)));
  });
  await gpg(['--passphrase', '', '--quick-generate-key', uid, 'ed25519', 'sign', 'never']);
  const listing = await gpg(['--with-colons', '--list-secret-keys']);
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing)?.[1];
  if (!fingerprint) throw new GitFixtureError('gpg made no key');
  const publicKey = await gpg(['--armor', '--export', fingerprint]);
  return { format: 'openpgp', home, fingerprint, publicKey };
}

/**
 * Stops the gpg-agent that `gpg` started for the key's home (signing and key
 * generation start one, and it outlives the test otherwise).
 */
export async function stopGpgAgent(key: GpgKey): Promise<void> {
  const gpgconf = join(dirname(ensureDebianTool('gpg', 'gnupg', defaultLog)), 'gpgconf');
  await new Promise<void>((resolve) => {
    execFile(gpgconf, ['--homedir', key.home, '--kill', 'gpg-agent'], () => resolve());
  });
}

/** Makes a fresh Ed25519 SSH key pair (no passphrase) under `dir`, with the real `ssh-keygen`. */
export async function createSshKey(dir: string, comment = 'trellis-test'): Promise<SshKey> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const privateKeyFile = join(mkdtempSync(join(dir, 'ssh-')), 'id_ed25519');
  const sshKeygen = ensureDebianTool('ssh-keygen', 'openssh-client', defaultLog);
  await new Promise<void>((resolve, reject) => {
    execFile(sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', privateKeyFile], (err, _out, stderr) =>
      (err ? reject(new GitFixtureError(`ssh-keygen failed: ${stderr.trim()}`)) : resolve()));
  });
  return { format: 'ssh', privateKeyFile, publicKey: readFileSync(`${privateKeyFile}.pub`, 'utf8').trim() };
}

/** One entry of a tree written byte for byte (see {@link pushRawTree}). */
export interface RawEntry {
  /** The name as stored: may be `..`, `.git`, hold a `/` — whatever the test needs. */
  readonly name: string;
  /** Default `100644` for content, `40000` for a subtree. */
  readonly mode?: string;
  readonly content?: string | Buffer;
  readonly tree?: readonly RawEntry[];
  /** An object already written (to share one blob or tree many times). */
  readonly oid?: string;
}

/** Writes objects into a bare repo with git's plumbing, skipping every check git's porcelain makes. */
export class RawRepoWriter {
  readonly #gitDir: string;
  readonly #target: ResolvedTarget;

  constructor(gitDir: string) {
    this.#gitDir = gitDir;
    this.#target = { url: gitDir, workParent: dirname(gitDir), env: { GIT_DIR: gitDir } };
  }

  async #git(args: readonly string[], input?: Buffer): Promise<string> {
    return (await runGit(args, this.#gitDir, { ...this.#target, input })).trim();
  }

  /** Writes a blob; resolves with its id. */
  blob(content: string | Buffer): Promise<string> {
    return this.#git(['hash-object', '-w', '--stdin'], Buffer.from(content));
  }

  /** Writes a tree holding exactly `entries`, in the given order, without validation. */
  async tree(entries: readonly RawEntry[]): Promise<string> {
    const parts: Buffer[] = [];
    for (const entry of entries) {
      const oid = entry.oid ?? (entry.tree !== undefined ? await this.tree(entry.tree) : await this.blob(entry.content ?? ''));
      const mode = entry.mode ?? (entry.tree !== undefined ? '40000' : '100644');
      parts.push(Buffer.from(`${mode} ${entry.name}\0`, 'utf8'), Buffer.from(oid, 'hex'));
    }
    return this.#git(['hash-object', '-w', '-t', 'tree', '--literally', '--stdin'], Buffer.concat(parts));
  }

  /** Writes a blob of `size` zero bytes, streamed by git from a sparse file (never in this process's memory). */
  async zeroBlob(size: number): Promise<string> {
    const file = join(mkdtempSync(join(dirname(this.#gitDir), 'zeros-')), 'zeros');
    try {
      writeFileSync(file, '');
      truncateSync(file, size);
      return await this.#git(['hash-object', '-w', file]);
    } finally {
      rmSync(dirname(file), { recursive: true, force: true });
    }
  }

  /** The content of an object (`git cat-file <type> <oid>`). */
  async catFile(type: string, oid: string): Promise<Buffer> {
    return Buffer.from(await runGit(['cat-file', type, oid], this.#gitDir, this.#target), 'utf8');
  }

  /** Writes any object byte for byte; resolves with its id. */
  object(type: string, content: Buffer): Promise<string> {
    return this.#git(['hash-object', '-w', '-t', type, '--literally', '--stdin'], content);
  }

  /** Points `ref` at `oid`. */
  async updateRef(ref: string, oid: string): Promise<void> {
    await this.#git(['update-ref', ref, oid]);
  }

  /** Commits `tree` and points `refs/heads/<branch>` at the commit; resolves with its id. */
  async commit(tree: string, branch = 'main', message = 'raw tree'): Promise<string> {
    const sha = await this.#git([...AUTHOR, 'commit-tree', tree, '-m', message]);
    await this.#git(['update-ref', `refs/heads/${branch}`, sha]);
    return sha;
  }
}

/**
 * Makes `repo` (on a Git server or in a folder of bare repos) hold one commit
 * on `branch` whose tree is `entries`, written byte for byte: hostile names
 * and modes included. Resolves with the commit id.
 */
export async function pushRawTree(server: PushTarget, repo: string, entries: readonly RawEntry[], branch = 'main'): Promise<string> {
  return rawRepo(server, repo).then(async (writer) => writer.commit(await writer.tree(entries), branch));
}

/** A {@link RawRepoWriter} on `repo`, created when it does not exist. */
export async function rawRepo(server: PushTarget, repo: string): Promise<RawRepoWriter> {
  const target = await resolveTarget(server, repo);
  const gitDir = typeof server === 'string' ? target.url : join(server.root, `${repo}.git`);
  return new RawRepoWriter(gitDir);
}
