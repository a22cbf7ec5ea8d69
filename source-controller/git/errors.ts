/**
 * Typed Git errors and the one place that turns whatever isomorphic-git or the
 * network threw into them. Every error that leaves this package went through
 * {@link toGitError}: its message is redacted (URL user info, auth headers, and
 * the exact credentials in use) and it carries no `cause`, because library errors
 * hold response bodies and request details we cannot vouch for. No message ever
 * quotes what a server sent: an HTTP failure is its status code and the standard
 * reason phrase for it, so a URL aimed at an internal service cannot read that
 * service's answers back through the status or the Events.
 */
import { STATUS_CODES } from 'node:http';
import { REDACTED, redactString } from '../../runtime/redact.ts';
import { HostDeniedError } from '../net/host-policy.ts';
import type { GitCredentials } from './transport.ts';

/** Why a Git operation failed, as a CamelCase condition reason. */
export type GitErrorReason =
  | 'AuthenticationFailed' | 'RefNotFound' | 'InvalidRef' | 'Unreachable' | 'RepositoryNotFound' | 'Timeout'
  | 'TooLarge' | 'GitOperationFailed' | 'HostDenied' | 'UnsafeTree';

/** Base class of every error this package throws. */
export class GitError extends Error {
  override readonly name: string = 'GitError';
  readonly reason: GitErrorReason;

  constructor(reason: GitErrorReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** The server refused the credentials (HTTP 401/403), or needs some and none were given. */
export class GitAuthError extends GitError {
  override readonly name = 'GitAuthError';
  readonly statusCode: number;

  constructor(message: string, statusCode: number) {
    super('AuthenticationFailed', message);
    this.statusCode = statusCode;
  }
}

/** The branch, tag or commit does not exist, no tag matches the semver range, or the ref itself is invalid. */
export class GitRefNotFoundError extends GitError {
  override readonly name = 'GitRefNotFoundError';

  constructor(message: string, reason: 'RefNotFound' | 'InvalidRef' = 'RefNotFound') {
    super(reason, message);
  }
}

/**
 * The server could not be reached or did not answer like a Git server:
 * connection refused or reset, DNS failure, HTTP 404 (no such repository) or 5xx.
 */
export class GitUnreachableError extends GitError {
  override readonly name: string = 'GitUnreachableError';
  /** The HTTP status when the server answered, else undefined. */
  readonly statusCode: number | undefined;

  constructor(message: string, statusCode?: number, reason: GitErrorReason = 'Unreachable') {
    super(reason, message);
    this.statusCode = statusCode;
  }
}

/** The operation ran past its time limit and was aborted (a kind of unreachable). */
export class GitTimeoutError extends GitUnreachableError {
  override readonly name = 'GitTimeoutError';

  constructor(timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`, undefined, 'Timeout');
  }
}

/** The download, or the tree it holds, exceeded a configured limit. */
export class GitTooLargeError extends GitError {
  override readonly name = 'GitTooLargeError';
  readonly limit: number;

  constructor(limit: number, message = `download exceeds the limit of ${limit} bytes`) {
    super('TooLarge', message);
    this.limit = limit;
  }
}

/** The source-host policy refused the server (or a redirect target, or an address its name resolves to). */
export class GitHostDeniedError extends GitError {
  override readonly name = 'GitHostDeniedError';

  constructor(message: string) {
    super('HostDenied', message);
  }
}

/** The commit's tree cannot be checked out safely: a hostile entry name, or over the checkout caps. */
export class GitUnsafeTreeError extends GitError {
  override readonly name = 'GitUnsafeTreeError';

  constructor(message: string) {
    super('UnsafeTree', message);
  }
}

/** The strings to scrub for these credentials: the secrets and their Basic encoding. */
function secretsOf(auth: GitCredentials | undefined): string[] {
  if (!auth) return [];
  if ('bearerToken' in auth) return [auth.bearerToken];
  return [auth.password, Buffer.from(`${auth.username}:${auth.password}`).toString('base64')];
}

/** Removes credentials from `text`: known patterns, plus the exact secrets in use. */
export function redactGitText(text: string, auth?: GitCredentials): string {
  let out = redactString(text);
  for (const secret of secretsOf(auth)) {
    if (secret.length > 0) out = out.replaceAll(secret, REDACTED);
  }
  return out;
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  'ECONNABORTED', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE',
]);

/** What went wrong, in a form that names the repository without credentials. */
export interface GitErrorContext {
  readonly url: string;
  readonly auth?: GitCredentials | undefined;
  /** Short description of the operation, e.g. `list refs` or `fetch refs/heads/main`. */
  readonly operation: string;
}

/**
 * Maps anything thrown during a Git operation to a {@link GitError} subclass
 * with a redacted message. GitErrors pass through (their messages were built here).
 */
export function toGitError(err: unknown, ctx: GitErrorContext): GitError {
  if (err instanceof GitError) return err;
  if (err instanceof HostDeniedError) return new GitHostDeniedError(redactGitText(`${ctx.operation}: ${err.message}`, ctx.auth));
  const e = (err ?? {}) as { code?: unknown; message?: unknown; data?: { statusCode?: unknown; statusMessage?: unknown } };
  const code = typeof e.code === 'string' ? e.code : '';
  const raw = typeof e.message === 'string' ? e.message : String(err);
  const where = `${ctx.operation} ${redactGitText(ctx.url, ctx.auth)}`;
  const say = (detail: string): string => redactGitText(`${where}: ${detail}`, ctx.auth);

  if (code === 'HttpError') {
    const status = typeof e.data?.statusCode === 'number' ? e.data.statusCode : 0;
    // The standard phrase, not the server's: a reason phrase is server-chosen text like a body.
    const phrase = STATUS_CODES[status];
    const statusText = phrase === undefined ? '' : ` ${phrase}`;
    if (status === 401 || status === 403) {
      const what = ctx.auth ? 'the credentials were refused' : 'the server requires credentials and none were given';
      return new GitAuthError(say(`${what} (HTTP ${status}${statusText})`), status);
    }
    if (status === 404) return new GitUnreachableError(say(`repository not found (HTTP 404)`), 404, 'RepositoryNotFound');
    return new GitUnreachableError(say(`server answered HTTP ${status}${statusText}`), status);
  }
  if (code === 'UserCanceledError') return new GitAuthError(say('the credentials were refused'), 401);
  if (code === 'SmartHttpError' || code === 'ParseError' || code === 'RemoteCapabilityError') {
    // The library's message quotes the server's answer; only its kind is safe to show.
    return new GitUnreachableError(say(`the server did not answer like a Git smart-HTTP server (${code})`));
  }
  if (code === 'NotFoundError') return new GitRefNotFoundError(say(raw));
  if (UNREACHABLE_CODES.has(code)) return new GitUnreachableError(say(`${code}: ${raw.slice(0, 200)}`));
  // Other library errors (their codes end in `Error`) may carry protocol text from the server: name the kind only.
  if (/^[A-Z][A-Za-z]*Error$/.test(code)) return new GitError('GitOperationFailed', say(`the Git operation failed (${code})`));
  return new GitError('GitOperationFailed', say(raw.slice(0, 300)));
}
