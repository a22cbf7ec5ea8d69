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

/** A number of at least 0 (`--kube-api-qps`, where 0 turns the client-side limit off). */
export function nonNegativeNumberFlag(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number of at least 0');
  return n;
}

/**
 * Help of `--kube-api-qps` and `--kube-api-burst`, the same in both controllers.
 * Neither has a default value: unset, the client follows the apiserver's API
 * Priority and Fairness (runtime/rate-limit.ts).
 */
export const KUBE_API_FLAG_HELP = {
  qps: 'fixed client-side limit of Kubernetes API requests per second (0: none); unset: no client-side limit once the '
    + 'apiserver shows API Priority and Fairness, 50/s until then; 429 Retry-After is honoured either way',
  burst: 'burst of the fixed client-side limit; unset: 300 (qps defaults to 50 when only the burst is given)',
} as const;

/** A Go duration such as `10s` or `1m`, in milliseconds. */
export function durationFlag(value: string): number {
  try {
    return parsePositiveDuration(value, 'the duration');
  } catch (err) {
    if (err instanceof InvalidDurationError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

/** {@link durationFlag}, or `0` for "off". */
export function durationOrOffFlag(value: string): number {
  return value.trim() === '0' ? 0 : durationFlag(value);
}

/** One of {@link LOG_LEVELS}. */
export function logLevelFlag(value: string): Level {
  const level = LOG_LEVELS.find((l) => l === value);
  if (!level) throw new InvalidArgumentError(`must be one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

const LABEL_NAME = '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
const LABEL_KEY = `([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?${LABEL_NAME}`;
const LABEL_VALUE = `(${LABEL_NAME})?`;
const REQUIREMENT = new RegExp([
  `!\\s*${LABEL_KEY}`,
  LABEL_KEY,
  `${LABEL_KEY}\\s*(=|==|!=)\\s*${LABEL_VALUE}`,
  `${LABEL_KEY}\\s+(in|notin)\\s*\\(\\s*${LABEL_VALUE}(\\s*,\\s*${LABEL_VALUE})*\\s*\\)`,
].map((form) => `^(${form})$`).join('|'));

/** The requirements of a label selector: split at the commas outside `in (…)` lists. */
function selectorRequirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(selector.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(selector.slice(start).trim());
  return parts;
}

/**
 * A Kubernetes label selector (`--watch-label-selector`): `key`, `!key`, `key=v`,
 * `key!=v`, `key in (a,b)`, `key notin (a,b)`, joined by commas. Checked here so a
 * typo stops the controller at start instead of failing every list and watch.
 */
export function labelSelectorFlag(value: string): string {
  const selector = value.trim();
  if (selector === '') throw new InvalidArgumentError('must not be empty (leave the flag out to watch every object)');
  const bad = selectorRequirements(selector).find((r) => !REQUIREMENT.test(r));
  if (bad !== undefined) {
    throw new InvalidArgumentError(`"${bad}" is not a label requirement (key, !key, key=value, key!=value, key in (a,b), key notin (a,b))`);
  }
  return selector;
}
