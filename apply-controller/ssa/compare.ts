/**
 * Comparing what the apiserver would make of an apply (the dry-run result) with
 * what is live, and listing the fields that differ as JSON pointers.
 */

type Json = unknown;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A copy of `obj` without what the apiserver changes on every write or on its
 * own schedule: `metadata.managedFields` (timestamps), `resourceVersion`,
 * `generation` (bumped by the dry run itself when the spec changes), and `status`
 * (controllers write it at any time, and an apply never sets it).
 */
export function comparable(obj: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(obj);
  delete copy.status;
  if (isRecord(copy.metadata)) {
    delete copy.metadata.managedFields;
    delete copy.metadata.resourceVersion;
    delete copy.metadata.generation;
  }
  return copy;
}

/** Deep equality of JSON values (key order does not matter). */
export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** True when the dry-run result differs from the live object in anything an apply decides (see {@link comparable}). */
export function wouldChange(live: Record<string, unknown>, dryRun: Record<string, unknown>): boolean {
  return !jsonEqual(comparable(live), comparable(dryRun));
}

/** Escapes one JSON pointer token (RFC 6901). */
export function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** One field that differs: added (only in `to`), removed (only in `from`) or replaced. */
export interface FieldChange {
  /** JSON pointer of the field, e.g. `/spec/replicas`. */
  readonly path: string;
  readonly op: 'add' | 'remove' | 'replace';
  /** The value before (absent for `add`). */
  readonly from?: unknown;
  /** The value after (absent for `remove`). */
  readonly to?: unknown;
}

/**
 * The fields that differ between two JSON values, deepest first where both sides
 * are objects. Arrays of equal length are compared item by item; arrays whose
 * length changed are reported as one replacement (an index-by-index diff of a
 * shifted list says nothing useful).
 */
export function fieldChanges(from: Json, to: Json, path = ''): FieldChange[] {
  if (jsonEqual(from, to)) return [];
  if (isRecord(from) && isRecord(to)) {
    const changes: FieldChange[] = [];
    const keys = new Set([...Object.keys(from), ...Object.keys(to)]);
    for (const key of [...keys].sort()) {
      const p = `${path}/${escapeToken(key)}`;
      if (!Object.hasOwn(to, key)) changes.push({ path: p, op: 'remove', from: from[key] });
      else if (!Object.hasOwn(from, key)) changes.push({ path: p, op: 'add', to: to[key] });
      else changes.push(...fieldChanges(from[key], to[key], p));
    }
    return changes;
  }
  if (Array.isArray(from) && Array.isArray(to) && from.length === to.length) {
    return from.flatMap((item, i) => fieldChanges(item, to[i], `${path}/${i}`));
  }
  return [{ path, op: 'replace', from, to }];
}
