/**
 * JSON Pointers (RFC 6901): where a value is read from (`/replicas`) and where it
 * lands in an object (`/spec/template/spec/containers/0/image`).
 */
import { isPlainObject } from './object.ts';

/** The typed error for a string that is not a JSON pointer. */
export class InvalidPointerError extends Error {
  override readonly name = 'InvalidPointerError';
}

/** Splits a pointer into its unescaped tokens; `""` is the whole document. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new InvalidPointerError(`"${pointer}" is not a JSON pointer (it must start with "/")`);
  return pointer.slice(1).split('/').map((token) => {
    if (/~[^01]|~$/.test(token)) throw new InvalidPointerError(`"${pointer}" has an invalid escape ("~" must be followed by 0 or 1)`);
    return token.replace(/~1/g, '/').replace(/~0/g, '~');
  });
}

/** Whether a string is a syntactically valid JSON pointer. */
export function isPointer(pointer: string): boolean {
  try {
    parsePointer(pointer);
    return true;
  } catch {
    return false;
  }
}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

/** The container and key a pointer's last token addresses, when every parent exists. */
function locate(doc: unknown, tokens: readonly string[]): { container: Record<string, unknown> | unknown[]; key: string } | undefined {
  let current: unknown = doc;
  for (let i = 0; i < tokens.length - 1; i++) {
    current = child(current, tokens[i] as string);
    if (current === undefined) return undefined;
  }
  if (!isPlainObject(current) && !Array.isArray(current)) return undefined;
  return { container: current, key: tokens[tokens.length - 1] as string };
}

function child(value: unknown, token: string): unknown {
  if (Array.isArray(value)) return ARRAY_INDEX.test(token) ? value[Number(token)] : undefined;
  if (isPlainObject(value) && Object.hasOwn(value, token)) return value[token];
  return undefined;
}

/** The value at `pointer`, or undefined when any step is missing. */
export function getAtPointer(doc: unknown, pointer: string): unknown {
  let current: unknown = doc;
  for (const token of parsePointer(pointer)) {
    current = child(current, token);
    if (current === undefined) return undefined;
  }
  return current;
}

/**
 * Replaces the value at `pointer`, which must already exist (a placement points at
 * the value the build wrote, so a missing target is a mistake to report, not a
 * field to invent). Returns false when the target does not exist.
 */
export function replaceAtPointer(doc: unknown, pointer: string, value: unknown): boolean {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return false;
  const at = locate(doc, tokens);
  if (!at) return false;
  if (Array.isArray(at.container)) {
    if (!ARRAY_INDEX.test(at.key) || Number(at.key) >= at.container.length) return false;
    at.container[Number(at.key)] = value;
    return true;
  }
  if (!Object.hasOwn(at.container, at.key)) return false;
  at.container[at.key] = value;
  return true;
}
