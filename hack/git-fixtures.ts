/**
 * Test fixtures for Git sources: real commits made and pushed with the real git
 * CLI, over the Git server's smart-HTTP URL (with its credentials when it has auth)
 * or straight into a folder of bare repos on disk. Each push works in a fresh
 * clone of the branch, so a spec only names the files that change.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import type { GitServer } from './git-server.ts';

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
  const git = (args: readonly string[]): Promise<string> => runGit(args, work, target);
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
    await git([...AUTHOR, 'commit', '--quiet', '--allow-empty', '--no-verify', '-m', spec.message ?? 'test commit']);
    const sha = (await git(['rev-parse', 'HEAD'])).trim();
    const refspecs = [`HEAD:refs/heads/${branch}`];
    for (const tag of spec.tags ?? []) {
      await git(spec.annotatedTags ? [...AUTHOR, 'tag', '--force', '-a', '-m', tag, tag] : ['tag', '--force', tag]);
      refspecs.push(`+refs/tags/${tag}:refs/tags/${tag}`);
    }
    await git(['push', '--quiet', ...(spec.force ? ['--force'] : []), target.url, ...refspecs]);
    return sha;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

interface ResolvedTarget {
  /** Clone/push URL (or path) of the repo, without credentials. */
  readonly url: string;
  readonly workParent: string;
  readonly auth?: { readonly username: string; readonly password: string } | undefined;
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
    execFile('git', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      let detail = stderr.trim() || err.message;
      for (const s of secrets) if (s) detail = detail.replaceAll(s, '***');
      reject(new GitFixtureError(`git ${args.filter((a) => a !== '-c' && !a.startsWith('user.'))[0] ?? ''} failed: ${detail}`));
    });
  });
}
