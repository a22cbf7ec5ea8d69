/**
 * JSON Schema validation with ajv for package manifests and package values: one
 * place that picks the draft a schema declares and turns ajv's errors into
 * readable messages (`values/replicas must be integer`).
 *
 * A values schema comes from whoever publishes the package, and its `pattern`
 * and `patternProperties` run inside the controller: with JavaScript's
 * backtracking RegExp, `^(a+)+$` against thirty characters holds the event loop
 * for seconds, and every other Package with it. So patterns run on RE2
 * (re2js), whose time is linear in the input; a pattern RE2 cannot express
 * (backreferences, lookaround) makes the schema invalid, refused before
 * anything is written.
 */
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { RE2JS } from 're2js';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';
import { canonicalJSON } from './canonical.ts';

/** The JSON Schema drafts a values schema may declare in `$schema`. */
export type SchemaDraft = 'draft-07' | '2019-09' | '2020-12';

/** The typed error for a schema that ajv cannot compile, or an unsupported `$schema`. */
export class InvalidSchemaError extends Error {
  override readonly name = 'InvalidSchemaError';
}

const DRAFTS: ReadonlyArray<readonly [RegExp, SchemaDraft]> = [
  [/^https?:\/\/json-schema\.org\/draft-07\/schema#?$/, 'draft-07'],
  [/^https?:\/\/json-schema\.org\/draft\/2019-09\/schema#?$/, '2019-09'],
  [/^https?:\/\/json-schema\.org\/draft\/2020-12\/schema#?$/, '2020-12'],
];

/** The draft a schema declares; 2020-12 when it declares none. */
export function schemaDraft(schema: Record<string, unknown>): SchemaDraft {
  const declared = schema.$schema;
  if (declared === undefined) return '2020-12';
  if (typeof declared === 'string') {
    for (const [pattern, draft] of DRAFTS) if (pattern.test(declared)) return draft;
  }
  throw new InvalidSchemaError(`$schema ${JSON.stringify(declared)} is not supported (use JSON Schema draft-07, 2019-09 or 2020-12)`);
}

// ajv-formats is CommonJS with `exports.default`; under NodeNext the plugin is the
// default export of the namespace, whichever way the loader exposes it.
const addFormats = ((ajvFormats as unknown as { default: { default?: unknown } }).default.default
  ?? (ajvFormats as unknown as { default: unknown }).default) as (ajv: Ajv) => Ajv;

/** ajv's type for a regular-expression engine (not exported by its index). */
type RegExpEngine = NonNullable<NonNullable<Options['code']>['regExp']>;

/**
 * ajv's regular-expression engine, on RE2: `test` finds the pattern anywhere in
 * the string, as JSON Schema's `pattern` asks. JavaScript syntax is translated
 * first (`(?<name>…)`, `\/`); what RE2 cannot run throws, and ajv reports the
 * schema as invalid.
 */
export const linearRegExp: RegExpEngine = Object.assign((pattern: string) => {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(RE2JS.translateRegExp(pattern));
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new InvalidSchemaError(`pattern ${JSON.stringify(pattern)} cannot be evaluated in linear time (RE2 syntax, no backreferences or lookaround): ${detail}`);
  }
  return { test: (text: string) => compiled.test(text), toString: () => `re2:${pattern}` };
}, { code: 're2js' });

/**
 * How a package's values schema is compiled, wherever it is: defaults filled in,
 * no type coercion (typing is the schema's job; "3" is not an integer).
 */
export const VALUES_SCHEMA_OPTIONS: Readonly<Options> = { useDefaults: true, coerceTypes: false };

/** Compiled validators by draft, options and canonical schema text, most recently used last. */
const compiled = new Map<string, ValidateFunction>();
const MAX_COMPILED = 64;

/**
 * Compiles `schema` for its declared draft with `options` (formats included).
 * User schemas are not held to ajv's strict mode: unknown keywords such as
 * `x-...` annotations are legal JSON Schema and must not break a package.
 *
 * Each schema gets its own ajv instance (two packages may use the same `$id`), and
 * the result is cached: a reconcile of an unchanged package compiles nothing,
 * where a fresh instance and compile cost milliseconds each time.
 */
export function compileSchema(schema: Record<string, unknown>, options: Options = {}): ValidateFunction {
  const draft = schemaDraft(schema);
  const plain: Options = { strict: false, allErrors: true, ...options };
  const key = `${draft}\n${canonicalJSON(plain)}\n${canonicalJSON(schema)}`;
  const opts: Options = { ...plain, code: { ...plain.code, regExp: linearRegExp } };
  const hit = compiled.get(key);
  if (hit) {
    compiled.delete(key);
    compiled.set(key, hit);
    return hit;
  }
  const ajv = draft === '2020-12' ? new Ajv2020(opts) : draft === '2019-09' ? new Ajv2019(opts) : new Ajv(opts);
  addFormats(ajv);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (err) {
    if (err instanceof InvalidSchemaError) throw err;
    throw new InvalidSchemaError(err instanceof Error ? err.message : String(err), { cause: err });
  }
  compiled.set(key, validate);
  if (compiled.size > MAX_COMPILED) compiled.delete(compiled.keys().next().value as string);
  return validate;
}

/** `/values/placements/0/file` as `values.placements[0].file`. */
export function dottedPath(instancePath: string): string {
  return instancePath.split('/').slice(1)
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((out, t) => (/^[0-9]+$/.test(t) ? `${out}[${t}]` : out === '' ? t : `${out}.${t}`), '');
}

/**
 * One readable line per ajv error: `<root><instancePath> <message>` plus the
 * offending property or the allowed values from the schema. Never includes the
 * data itself (values may come from Secrets). With `dotted`, paths are written
 * `a.b[0]` instead of `root/a/b/0`, and `root` is ignored.
 */
export function formatSchemaErrors(errors: readonly ErrorObject[] | null | undefined, root: string, dotted = false): string[] {
  const lines: string[] = [];
  for (const e of errors ?? []) {
    // `if`/`then` report the failing branch as their own error: the branch's
    // errors are already listed, so this one adds nothing.
    if (e.keyword === 'if') continue;
    const params = e.params as Record<string, unknown>;
    let detail = e.message ?? `fails ${e.keyword}`;
    if (e.keyword === 'additionalProperties') detail += ` ("${String(params.additionalProperty)}")`;
    else if (e.keyword === 'enum') detail += `: ${JSON.stringify(params.allowedValues)}`;
    else if (e.keyword === 'const') detail += ` ${JSON.stringify(params.allowedValue)}`;
    else if (e.keyword === 'unevaluatedProperties') detail += ` ("${String(params.unevaluatedProperty)}")`;
    const where = dotted ? dottedPath(e.instancePath) : `${root}${e.instancePath}`;
    lines.push(where === '' ? detail : `${where} ${detail}`);
  }
  return [...new Set(lines)];
}
