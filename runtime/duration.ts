/**
 * Go durations as the CRDs accept them (`90s`, `5m`, `1h30m`, `1.5h`, `500ms`):
 * controllers turn the specs' `interval` and `timeout` and their duration flags into
 * milliseconds here.
 */

/** A duration the schema let through but that means nothing usable (zero, or absurdly large). */
export class InvalidDurationError extends Error {
  override readonly name = 'InvalidDurationError';
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
/** setTimeout cannot wait longer than 2^31-1 ms (about 24.8 days). */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** Milliseconds of a Go duration; throws {@link InvalidDurationError} for anything else. */
export function parseDuration(text: string): number {
  const input = text.trim();
  if (input === '') throw new InvalidDurationError('empty duration');
  let total = 0;
  let consumed = 0;
  PART.lastIndex = 0;
  for (let m = PART.exec(input); m; m = PART.exec(input)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? Number.NaN);
    consumed = PART.lastIndex;
  }
  if (consumed !== input.length || !Number.isFinite(total)) {
    throw new InvalidDurationError(`invalid duration ${JSON.stringify(text.slice(0, 64))} (want e.g. 90s, 5m, 1h30m)`);
  }
  return Math.round(total);
}

/** A positive duration within what a timer can wait; `what` names the field in the error. */
export function parsePositiveDuration(text: string, what: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new InvalidDurationError(`${what}: ${(err as Error).message}`);
  }
  if (ms <= 0) throw new InvalidDurationError(`${what} must be longer than 0`);
  if (ms > MAX_DELAY_MS) throw new InvalidDurationError(`${what} must be at most 24 days`);
  return ms;
}

/** An upper bound for a duration field: milliseconds, and how the error message writes it. */
export interface DurationLimit {
  readonly ms: number;
  readonly text: string;
}

/**
 * {@link parsePositiveDuration}, and at most `limit`: specs bound their
 * timeouts and intervals well below what a timer could wait (docs/security.md).
 */
export function parseBoundedDuration(text: string, what: string, limit: DurationLimit): number {
  const ms = parsePositiveDuration(text, what);
  if (ms > limit.ms) throw new InvalidDurationError(`${what} must be at most ${limit.text}`);
  return ms;
}

