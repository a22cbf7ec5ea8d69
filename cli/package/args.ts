/**
 * Argument parsers shared by the `package` commands (commander calls them and
 * prints their InvalidArgumentError as `error: option '--timeout <duration>'
 * argument '5 minutes' is invalid. …`). Pure.
 */
import { InvalidArgumentError, Option } from 'commander';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go-style duration (`90s`, `5m`, `1h30m`, `500ms`) in milliseconds; a bare number is seconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new InvalidArgumentError('expected a duration such as 30s, 5m or 1h30m');
  }
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_MS[p[2] ?? 's'] ?? 1000), 0);
  if (ms <= 0) throw new InvalidArgumentError('the duration must be above zero');
  return Math.round(ms);
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
