/**
 * Parsers for the command-line flags the controllers share (commander calls them
 * and prints their InvalidArgumentError next to the flag's name).
 */
import { InvalidArgumentError } from 'commander';
import type { Level } from 'pino';
import { InvalidDurationError, parsePositiveDuration } from './duration.ts';

/** The log levels `--log-level` accepts. */
export const LOG_LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** A whole number of at least 1 (`--concurrent`, `--kube-api-burst`). */
export function positiveIntFlag(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

/** A number above 0 (`--kube-api-qps`). */
export function positiveNumberFlag(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number above 0');
  return n;
}

/** A Go duration such as `10s` or `1m`, in milliseconds. */
export function durationFlag(value: string): number {
  try {
    return parsePositiveDuration(value, 'the duration');
  } catch (err) {
    if (err instanceof InvalidDurationError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

/** One of {@link LOG_LEVELS}. */
export function logLevelFlag(value: string): Level {
  const level = LOG_LEVELS.find((l) => l === value);
  if (!level) throw new InvalidArgumentError(`must be one of ${LOG_LEVELS.join(', ')}`);
  return level;
}
