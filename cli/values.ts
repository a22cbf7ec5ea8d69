/**
 * Install-time values from the command line, as Helm users write them, typed by
 * the package's values schema before anything is written:
 *
 * - `--set a.b=true`, `--set list[0]=x`, `--set servers[1].port=8080`: a dotted
 *   path with list indexes; the text is typed by the schema at that path
 *   (`true` is a boolean where the schema says boolean, a string where it says
 *   string; see cli/package/set-values.ts for the rules).
 * - `--set-json 'extraConfigs={"db": {"url": "x"}}'`: the value as JSON, any shape.
 * - `-f values.yaml` (read by the command): the base the others merge over.
 *
 * Precedence, lowest first: the files, then each `--set-json`, then each `--set`,
 * in the order given. Objects merge key by key; a list index writes into the
 * list given so far (files included), and a list without an index replaces it.
 * The result is validated against the schema with every error listed (the path
 * and the rule, never the value). Pure; no I/O.
 */
import { isPlainObject, mergeValues, resolveValues, type Values } from '../apply-controller/index.ts';
import { SetValueError, typeAssignment } from './package/set-values.ts';

/** One step of a value path: a key of an object or an index of a list. */
export type PathSegment = string | number;

/** A parsed `--set` or `--set-json`: the path and the text after `=`. */
export interface ValueAssignment {
  readonly path: readonly PathSegment[];
  readonly raw: string;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** Largest list index accepted: an index makes the list that long. */
const MAX_INDEX = 10_000;

/**
 * Splits `a.b[0].c=x` into `['a', 'b', 0, 'c']` and `x`. A literal dot is `\.`,
 * a literal `[` is `\[`. Throws {@link SetValueError} for a malformed argument.
 */
export function parseValueAssignment(arg: string, flag = '--set'): ValueAssignment {
  const eq = arg.indexOf('=');
  if (eq < 0) throw new SetValueError(`${flag} ${arg}: expected key=value`);
  const key = arg.slice(0, eq);
  const path: PathSegment[] = [];
  let current = '';
  let pendingKey = true;
  const pushKey = (): void => {
    if (pendingKey) {
      if (current === '') throw new SetValueError(`${flag} ${key}=…: the key has an empty part`);
      if (FORBIDDEN_KEYS.has(current)) throw new SetValueError(`${flag} ${key}=…: "${current}" cannot be a key`);
      path.push(current);
    }
    current = '';
  };
  for (let i = 0; i < key.length; i += 1) {
    const ch = key[i]!;
    if (ch === '\\' && (key[i + 1] === '.' || key[i + 1] === '[')) {
      current += key[i + 1];
      i += 1;
    } else if (ch === '.') {
      pushKey();
      pendingKey = true;
    } else if (ch === '[') {
      pushKey();
      const close = key.indexOf(']', i);
      const index = close < 0 ? '' : key.slice(i + 1, close);
      if (!/^\d+$/.test(index) || Number(index) > MAX_INDEX) {
        throw new SetValueError(`${flag} ${key}=…: a list index must be a whole number from 0 to ${MAX_INDEX}`);
      }
      path.push(Number(index));
      i = close;
      pendingKey = false;
      if (key[i + 1] !== undefined && key[i + 1] !== '.' && key[i + 1] !== '[') {
        throw new SetValueError(`${flag} ${key}=…: expected . or [ after ]`);
      }
    } else {
      current += ch;
      pendingKey = true;
    }
  }
  if (pendingKey || current !== '') pushKey();
  return { path, raw: arg.slice(eq + 1) };
}

/** The schema of the list entries at `schema` (its `items`, or `{}` when untyped). */
function itemsOf(schema: Record<string, unknown>): Record<string, unknown> {
  return isPlainObject(schema.items) ? schema.items : {};
}

/** The schema at `path` (keys through properties/additionalProperties, indexes through items), for typing. */
function schemaAt(schema: Record<string, unknown>, path: readonly PathSegment[]): Record<string, unknown> {
  let node = schema;
  for (const segment of path) {
    if (typeof segment === 'number') node = itemsOf(node);
    else if (isPlainObject(node.properties) && isPlainObject(node.properties[segment])) node = node.properties[segment];
    else node = isPlainObject(node.additionalProperties) ? node.additionalProperties : {};
  }
  return node;
}

/** The path as written: `servers[1].port`. */
export function formatPath(path: readonly PathSegment[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/**
 * The text of a `--set` typed by the schema. Paths without indexes go through
 * the shared typing (cli/package/set-values.ts), which also refuses keys the
 * schema does not know; a path with an index is typed by the schema of its
 * entries.
 */
function typeSet(schema: Record<string, unknown>, assignment: ValueAssignment): unknown {
  const key = formatPath(assignment.path);
  if (assignment.path.every((s) => typeof s === 'string')) {
    return typeAssignment(schema, { path: assignment.path, raw: assignment.raw });
  }
  const lastIndex = assignment.path.findLastIndex((s) => typeof s === 'number');
  const head = assignment.path.slice(0, lastIndex + 1);
  const tail = assignment.path.slice(lastIndex + 1) as string[];
  const entrySchema = schemaAt(schema, head);
  try {
    if (tail.length === 0) return typeAssignment({ type: 'object', properties: { v: entrySchema } }, { path: ['v'], raw: assignment.raw });
    return typeAssignment(entrySchema, { path: tail, raw: assignment.raw });
  } catch (err) {
    // The message names the path inside the entry: say the whole path instead.
    if (err instanceof SetValueError) throw new SetValueError(err.message.replace(/^--set [^=]*=/, `--set ${key}=`).replace(/: \S+ must be/, `: ${key} must be`));
    throw err;
  }
}

/** `values` with `value` written at `path` (objects and lists copied, never changed in place). */
export function writeAt(values: unknown, path: readonly PathSegment[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [PathSegment, ...PathSegment[]];
  if (typeof head === 'number') {
    const list = Array.isArray(values) ? [...values as unknown[]] : [];
    while (list.length < head) list.push(null);
    list[head] = writeAt(list[head], rest, value);
    return list;
  }
  const obj: Values = isPlainObject(values) ? { ...values } : {};
  Object.defineProperty(obj, head, { value: writeAt(obj[head], rest, value), enumerable: true, writable: true, configurable: true });
  return obj;
}

/** What the value flags of one command were. */
export interface ValueFlags {
  readonly set?: readonly string[];
  readonly setJson?: readonly string[];
}

/**
 * `base` (the `-f` files merged) with every `--set-json` and then every `--set`
 * applied, typed by `schema`, and validated against it. Returns what goes into
 * `spec.values` (without the defaults). Throws {@link SetValueError} naming the
 * flag, the path and the rule.
 */
export function applyValueFlags(schema: Record<string, unknown>, base: Values, flags: ValueFlags): Values {
  let values: Values = base;
  for (const arg of flags.setJson ?? []) {
    const assignment = parseValueAssignment(arg, '--set-json');
    let parsed: unknown;
    try {
      parsed = JSON.parse(assignment.raw);
    } catch {
      throw new SetValueError(`--set-json ${formatPath(assignment.path)}=…: the value is not JSON`);
    }
    values = applyAt(values, assignment.path, parsed);
  }
  for (const arg of flags.set ?? []) {
    const assignment = parseValueAssignment(arg);
    values = applyAt(values, assignment.path, typeSet(schema, assignment));
  }
  const resolved = resolveValues({ schema, values });
  if (!resolved.ok) throw new SetValueError(`the values do not fit the package's schema:\n  ${resolved.errors.map((e) => e.message).join('\n  ')}`);
  return values;
}

/** Writes at an index path; merges an object at a key path (as `--set` always did). */
function applyAt(values: Values, path: readonly PathSegment[], value: unknown): Values {
  if (path.some((s) => typeof s === 'number')) return writeAt(values, path, value) as Values;
  let nested: unknown = value;
  for (const key of [...path].reverse()) nested = Object.fromEntries([[key, nested]]);
  return mergeValues(values, nested as Values);
}
