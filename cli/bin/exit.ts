/**
 * How the CLI's entry points end on a usage error that a command turned into
 * an exception (commander's exit hook, cli/package/context.ts
 * `usageErrorExitCode`): with that error's exit code, the message having been
 * printed by commander already. Anything else is re-thrown (an unhandled
 * rejection shows its stack: a bug).
 */
import { CommanderError } from 'commander';

/** Ends the process with a CommanderError's exit code; re-throws anything else. */
export function endOnUsageError(err: unknown): void {
  if (!(err instanceof CommanderError)) throw err;
  process.exitCode = err.exitCode;
}
