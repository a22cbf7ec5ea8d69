/**
 * JSON merge patches (RFC 7386) between two versions of a document, so a
 * reconciler writes only what changed in a status — and nothing when nothing did.
 */
import { isDeepStrictEqual } from 'node:util';

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The merge patch from `before` to `after`: changed and new fields, `null` for
 * removed ones, arrays replaced whole. Undefined when the two are equal.
 */
export function mergePatch(before: unknown, after: unknown): Json | undefined {
  if (isDeepStrictEqual(before, after)) return undefined;
  if (!isPlainObject(before) || !isPlainObject(after)) return (after ?? null) as Json;
  const patch: Record<string, Json> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (after[key] === undefined) {
      if (before[key] !== undefined) patch[key] = null;
      continue;
    }
    const sub = mergePatch(before[key], after[key]);
    if (sub !== undefined) patch[key] = sub;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}
