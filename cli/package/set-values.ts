/**
 * `--set key=value` typed by the package's values schema, the way a person
 * means it: `--set replicas=3` is the integer 3 when the schema says integer,
 * `--set image=3` stays the string "3" when it says string. Keys are dotted paths
 * (`image.tag=1.2`; a literal dot is written `\.`). A value that fits none of the
 * types the schema allows, or a key the schema does not know, is an error naming
 * the key and what was expected — never silently a string. Pure; no I/O.
 * Parsing the flags and merging them is cli/values.ts's.
 */
import { isPlainObject } from '../../apply-controller/index.ts';

/** A `--set` argument that cannot be used; the message names the key and the reason. */
export class SetValueError extends Error {
  override readonly name = 'SetValueError';
}

/** One parsed `--set` argument. */
export interface SetAssignment {
  /** The key split at unescaped dots: `image.tag` -> `['image', 'tag']`. */
  readonly path: readonly string[];
  /** The text after the first `=`. */
  readonly raw: string;
}

/** A JSON Schema node, as far as typing a value needs it. */
type Schema = Record<string, unknown>;

const MAX_REF_DEPTH = 32;
const INTEGER = /^[-+]?\d+$/;
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function resolveRef(root: Schema, ref: string): Schema | undefined {
  if (!ref.startsWith('#')) return undefined;
  let current: unknown = root;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isPlainObject(current)) return undefined;
    current = current[token];
  }
  return isPlainObject(current) ? current : undefined;
}

/**
 * The schema itself and every schema it combines with (`$ref`, `allOf`,
 * `anyOf`, `oneOf`), flattened: a value must fit one of them (for anyOf/oneOf)
 * or all (allOf) — for typing, knowing which types any of them allow is enough;
 * the full validation afterwards decides the rest.
 */
function expand(schema: unknown, root: Schema, depth = 0): Schema[] {
  if (schema === true || schema === undefined) return [{}];
  if (!isPlainObject(schema) || depth > MAX_REF_DEPTH) return [];
  const out: Schema[] = [schema];
  if (typeof schema.$ref === 'string') out.push(...expand(resolveRef(root, schema.$ref), root, depth + 1));
  for (const combinator of ['allOf', 'anyOf', 'oneOf']) {
    const list = schema[combinator];
    if (Array.isArray(list)) for (const sub of list) out.push(...expand(sub, root, depth + 1));
  }
  return out;
}

/** The schemas a key of an object described by `schemas` may have; empty when no schema allows the key. */
function childSchemas(schemas: readonly Schema[], key: string, root: Schema): Schema[] {
  const out: Schema[] = [];
  let closed = true;
  for (const s of schemas) {
    if (isPlainObject(s.properties) && Object.hasOwn(s.properties, key)) {
      out.push(...expand(s.properties[key], root));
      continue;
    }
    if (isPlainObject(s.patternProperties)) {
      const matching = Object.entries(s.patternProperties).filter(([pattern]) => safeTest(pattern, key));
      if (matching.length > 0) {
        for (const [, sub] of matching) out.push(...expand(sub, root));
        continue;
      }
    }
    // JSON Schema objects are open unless `additionalProperties: false` (or
    // unevaluatedProperties) closes them; an open one takes any key, untyped.
    // A bare combinator (`{anyOf: [...]}`) leaves the answer to the schemas it combines.
    if (s.additionalProperties === false || s.unevaluatedProperties === false) continue;
    const combinesOnly = ['$ref', 'allOf', 'anyOf', 'oneOf'].some((k) => k in s) && !isPlainObject(s.properties);
    if (isPlainObject(s.additionalProperties)) out.push(...expand(s.additionalProperties, root));
    else if (!combinesOnly) closed = false;
  }
  if (out.length === 0 && !closed) out.push({});
  return out;
}

function safeTest(pattern: string, key: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(key);
  } catch {
    return false;
  }
}

/** Every property name the schemas declare, for "did you mean" messages. */
function knownKeys(schemas: readonly Schema[]): string[] {
  const keys = new Set<string>();
  for (const s of schemas) if (isPlainObject(s.properties)) for (const k of Object.keys(s.properties)) keys.add(k);
  return [...keys].sort();
}

/** The JSON types the schemas allow; empty when none of them says. */
function typesOf(schemas: readonly Schema[]): Set<string> {
  const types = new Set<string>();
  for (const s of schemas) {
    if (typeof s.type === 'string') types.add(s.type);
    else if (Array.isArray(s.type)) for (const t of s.type) if (typeof t === 'string') types.add(t);
    const literals: unknown[] = [...(Array.isArray(s.enum) ? s.enum as unknown[] : []), ...('const' in s ? [s.const] : [])];
    for (const v of literals) types.add(jsonType(v));
  }
  return types;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** A value without schema guidance: read like a YAML scalar, as `helm --set` does. */
function inferScalar(raw: string): unknown {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw === 'null') return null;
  if (INTEGER.test(raw) && Number.isSafeInteger(Number(raw))) return Number(raw);
  return raw;
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** Splits `a,b` or `{a,b}` into items; `[...]` is read as JSON by the caller. */
function listItems(raw: string): string[] {
  const inner = raw.startsWith('{') && raw.endsWith('}') ? raw.slice(1, -1) : raw;
  return inner === '' ? [] : inner.split(',');
}

/**
 * `raw` as the type the schemas ask for, trying the stricter readings first
 * (null, boolean, integer, number, object, array) and a string last, so
 * `--set port=80` is 80 for `integer | string` and "80" for `string`.
 */
function typeRaw(raw: string, schemas: readonly Schema[], root: Schema, key: string): unknown {
  const types = typesOf(schemas);
  if (types.size === 0) return inferScalar(raw);
  if (types.has('null') && raw === 'null') return null;
  if (types.has('boolean') && (raw === 'true' || raw === 'false')) return raw === 'true';
  if (types.has('integer') && INTEGER.test(raw) && Number.isSafeInteger(Number(raw))) return Number(raw);
  if (types.has('number') && NUMBER.test(raw) && Number.isFinite(Number(raw))) return Number(raw);
  if (types.has('object') && raw.startsWith('{')) {
    const parsed = parseJson(raw);
    if (isPlainObject(parsed)) return parsed;
  }
  if (types.has('array')) {
    if (raw.startsWith('[')) {
      const parsed = parseJson(raw);
      if (Array.isArray(parsed)) return parsed;
    } else {
      const items = schemas.flatMap((s) => expand(s.items, root));
      return listItems(raw).map((item, i) => typeRaw(item, items.length > 0 ? items : [{}], root, `${key}[${i}]`));
    }
  }
  if (types.has('string')) return raw;
  throw new SetValueError(`--set ${key}=${shownRaw(raw)}: ${key} must be ${describeTypes(types)}`);
}

function describeTypes(types: ReadonlySet<string>): string {
  const words: Record<string, string> = {
    integer: 'an integer', number: 'a number', boolean: 'true or false', string: 'a string',
    object: 'an object (JSON)', array: 'a list (a,b or JSON)', null: 'null',
  };
  return [...types].map((t) => words[t] ?? t).join(' or ');
}

/** The value as typed, shortened: a value may be long, and it is echoed only to its author's terminal. */
function shownRaw(raw: string): string {
  return raw.length > 40 ? `${raw.slice(0, 37)}...` : raw;
}

/**
 * The value of one `--set` typed by `schema` (the package's values schema), at
 * its path. Throws {@link SetValueError} for a key the schema does not allow or
 * a value that fits none of its types.
 */
export function typeAssignment(schema: Record<string, unknown>, assignment: SetAssignment): unknown {
  let schemas = expand(schema, schema);
  const walked: string[] = [];
  for (const key of assignment.path) {
    const types = typesOf(schemas);
    const key0 = [...walked, key].join('.');
    if (types.size > 0 && !types.has('object')) {
      throw new SetValueError(`--set ${key0}=…: ${walked.join('.')} is ${describeTypes(types)}, it has no field ${key}`);
    }
    const next = childSchemas(schemas, key, schema);
    if (next.length === 0) {
      const known = knownKeys(schemas);
      const where = walked.length === 0 ? 'the package has no value' : `${walked.join('.')} has no field`;
      throw new SetValueError(`--set ${key0}=…: ${where} ${key}${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`);
    }
    schemas = next;
    walked.push(key);
  }
  return typeRaw(assignment.raw, schemas, schema, assignment.path.join('.'));
}

/** `--set` without a schema to type by (a plain bundle has none): an error, since the values would have nowhere to go. */
export function setsWithoutSchema(sets: readonly string[]): SetValueError {
  return new SetValueError(`--set ${sets[0] ?? ''}: the package declares no values (it has no Trellis package manifest with a values schema)`);
}
