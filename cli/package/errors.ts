/**
 * Errors of `kubectl package` commands. Each carries the exit code the process
 * ends with; `describeError` turns any error into the one line a person reads
 * (apiserver errors the way kubectl prints them), never a stack trace.
 */
import { KubeApiError } from '../../runtime/kube-transport.ts';

/** A command failed in a way the user can act on; `message` says how. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  /** The process exit code (default 1). */
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** A `--wait` that ran out of time; the message says what was awaited and the last state seen. */
export class WaitTimeoutError extends CliError {
  override readonly name = 'WaitTimeoutError';
}

/** A `--wait` that saw the object fail (Stalled, or not Ready after the reconcile it asked for). */
export class WaitFailedError extends CliError {
  override readonly name = 'WaitFailedError';
}

/** The named object does not exist. */
export class NotFoundError extends CliError {
  override readonly name = 'NotFoundError';
}

/**
 * Not an error: a result told by the exit code alone (`diff` exits 1 when there
 * are differences, as `kubectl diff` does). Nothing is printed for it.
 */
export class ExitStatus extends CliError {
  override readonly name = 'ExitStatus';

  constructor(exitCode: number) {
    super('', exitCode);
  }
}

/** One line for the terminal: `Error from server (NotFound): …` for apiserver errors, the message otherwise. */
export function describeError(err: unknown): string {
  if (err instanceof KubeApiError) return `Error from server (${err.reason}): ${err.message}`;
  if (err instanceof Error) return `error: ${err.message}`;
  return `error: ${String(err)}`;
}

/** The exit code for an error: its own for CLI errors, 1 otherwise. */
export function exitCodeOf(err: unknown): number {
  return err instanceof CliError ? err.exitCode : 1;
}

/** Error codes of a connection that never reached the server (or was cut). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined && (NETWORK_CODES.has(code) || /CERT|TLS|SSL/.test(code))) return code;
    if (/ timed out$/.test(e.message)) return 'timed out';
  }
  return undefined;
}

/**
 * The line for an error that is a failure to reach the API server (refused,
 * unknown host, timeout, TLS), naming the server, as kubectl does; undefined
 * for any other error.
 */
export function unreachableServer(err: unknown, server: string): string | undefined {
  const code = networkCode(err);
  if (code === undefined) return undefined;
  const tls = /CERT|TLS|SSL/.test(code);
  return `error: ${tls ? 'no trusted TLS connection to' : 'cannot reach'} the Kubernetes API server at ${server} (${code}): is the cluster running, and is this the right kubeconfig context?`;
}
