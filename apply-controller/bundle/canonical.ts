/**
 * Canonical JSON: object keys sorted at every level, no whitespace. The same data
 * gives the same text whatever order its keys were written in, which makes it fit
 * for hashes and cache keys.
 */
import { flattened } from './flat-string.ts';

/**
 * The canonical JSON text of `value`; `undefined` members are dropped like JSON
 * does (and become `null` in arrays). Built by appending to one string: the
 * engine computes this for every object it records or applies, and intermediate
 * arrays and joins cost twice the time. The text is returned in one piece
 * (flat-string.ts): the record keeps thousands of them through a reconcile.
 */
export function canonicalJSON(value: unknown): string {
  return flattened(canonicalText(value));
}

function canonicalText(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item: unknown = value[i];
      out += item === undefined ? 'null' : canonicalText(item);
    }
    return `${out}]`;
  }
  let out = '{';
  let first = true;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record).sort()) {
    const member = record[key];
    if (member === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += `${JSON.stringify(key)}:${typeof member === 'string' ? JSON.stringify(member) : canonicalText(member)}`;
  }
  return `${out}}`;
}
