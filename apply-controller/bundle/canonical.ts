/**
 * Canonical JSON: object keys sorted at every level, no whitespace. The same data
 * gives the same text whatever order its keys were written in, which makes it fit
 * for hashes and cache keys.
 */
import { isPlainObject } from './object.ts';

/** The canonical JSON text of `value`; `undefined` members are dropped like JSON does. */
export function canonicalJSON(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJSON(v === undefined ? null : v)).join(',')}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJSON(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
