/**
 * Argument parsers shared by the `package` commands (commander calls them and
 * prints their InvalidArgumentError as `error: option '--timeout <duration>'
 * argument '5 minutes' is invalid. …`). Pure.
 */
import { InvalidArgumentError, Option } from 'commander';
import { InvalidDurationError, parsePositiveDuration } from '../../runtime/duration.ts';

/** A Go-style duration (`90s`, `5m`, `1h30m`, `500ms`) in milliseconds; a bare number is seconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed) && Number(trimmed) > 0) return Number(trimmed) * 1000;
  try {
    return parsePositiveDuration(trimmed, 'the duration');
  } catch (err) {
    if (!(err instanceof InvalidDurationError)) throw err;
    throw new InvalidArgumentError(/must be/.test(err.message) ? err.message : 'expected a duration such as 30s, 5m or 1h30m');
  }
}

/** A Kubernetes duration field (`interval`): the same grammar, kept as text for the object. */
export function parseDurationText(text: string): string {
  parseDuration(text);
  return text.trim();
}

/** A whole number of at least 1 (a revision number). */
export function parsePositiveInt(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

/** commander collector for repeatable options (`--set a=1 --set b=2`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `--timeout <duration>` for `--wait`, default five minutes (shown as `5m` in help). */
export function timeoutOption(): Option {
  return new Option('--timeout <duration>', 'how long --wait waits').argParser(parseDuration).default(300_000, '5m');
}
