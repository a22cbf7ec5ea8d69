/**
 * The declarative form of a health check: conditions and field equalities
 * instead of a CEL expression (`currentWhen: {conditions: [{type: Available,
 * status: "True"}]}`). It is turned into CEL, so both forms are evaluated,
 * reported and bounded alike; a field or condition that is not there yet makes
 * it false rather than an evaluation error.
 */
import { InvalidExpressionError } from './cel.ts';

/** A condition of `status.conditions` that must be present with this status (and reason, when given). */
export interface ConditionMatch {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
}

/** A field (dotted path, e.g. `status.phase`) whose value, written out as text, must equal `equals`. */
export interface FieldMatch {
  readonly path: string;
  readonly equals: string;
}

/** All of these hold (at least one entry). */
export interface HealthWhen {
  readonly conditions?: readonly ConditionMatch[];
  readonly fields?: readonly FieldMatch[];
}

/** The most conditions and fields one `*When` may list. */
export const MAX_WHEN_ENTRIES = 16;

const literal = (text: string): string => JSON.stringify(text);

function conditionCel(c: ConditionMatch): string {
  const parts = [`c.type == ${literal(c.type)}`, `c.status == ${literal(c.status)}`];
  if (c.reason !== undefined) parts.push(`"reason" in c && c.reason == ${literal(c.reason)}`);
  return `object.status.conditions.exists(c, ${parts.join(' && ')})`;
}

function fieldCel(f: FieldMatch, at: string): string {
  const keys = f.path.split('.');
  if (keys.some((k) => k === '')) throw new InvalidExpressionError(`${at}.path "${f.path}" must be a dotted path like status.phase`);
  const guards: string[] = [];
  let target = 'object';
  for (const key of keys) {
    guards.push(`${literal(key)} in ${target}`);
    target = `${target}[${literal(key)}]`;
  }
  return `${guards.join(' && ')} && string(${target}) == ${literal(f.equals)}`;
}

/**
 * The CEL expression that holds when every condition and field of `when`
 * does; throws an {@link InvalidExpressionError} naming `at` when it is empty,
 * too long a list, or a path is malformed.
 */
export function whenToCel(when: HealthWhen, at: string): string {
  const conditions = when.conditions ?? [];
  const fields = when.fields ?? [];
  if (conditions.length + fields.length === 0) throw new InvalidExpressionError(`${at} needs at least one condition or field`);
  if (conditions.length > MAX_WHEN_ENTRIES || fields.length > MAX_WHEN_ENTRIES) {
    throw new InvalidExpressionError(`${at} may list at most ${MAX_WHEN_ENTRIES} conditions and ${MAX_WHEN_ENTRIES} fields`);
  }
  const parts: string[] = [];
  if (conditions.length > 0) {
    parts.push('"status" in object && "conditions" in object.status', ...conditions.map(conditionCel));
  }
  parts.push(...fields.map((f, i) => fieldCel(f, `${at}.fields[${i}]`)));
  return parts.join(' && ');
}

/** `Available=True, status.phase=Ready`: the declarative form in messages. */
export function describeWhen(when: HealthWhen): string {
  return [
    ...(when.conditions ?? []).map((c) => `${c.type}=${c.status}${c.reason === undefined ? '' : ` (${c.reason})`}`),
    ...(when.fields ?? []).map((f) => `${f.path}=${f.equals}`),
  ].join(', ');
}
