/**
 * Install-time values: the package's defaults, overridden by `valuesFrom`
 * (ConfigMaps/Secrets, read by the reconciler), overridden by `spec.values`;
 * checked against the package's JSON Schema and hashed, so a reconcile can tell
 * that the values did not change without comparing them.
 */
import { createHash } from 'node:crypto';
import { canonicalJSON } from './canonical.ts';
import { isPlainObject } from './object.ts';
import { problem, type BundleProblem } from './problems.ts';
import { compileSchema, formatSchemaErrors, InvalidSchemaError, VALUES_SCHEMA_OPTIONS } from './schema.ts';

export { canonicalJSON } from './canonical.ts';
export { applyPlacements, type PlacementOptions, type PlacementResult } from './placements.ts';

/** A values object: JSON. */
export type Values = Record<string, unknown>;

/** Inputs of {@link resolveValues}. */
export interface ResolveValuesInput {
  /** The package's values schema (`values.schema` of package.yaml); its defaults are the base. */
  readonly schema: Record<string, unknown>;
  /** Maps read from `spec.valuesFrom`, in order; each is merged over the ones before it. */
  readonly valuesFrom?: readonly Values[];
  /** `spec.values`, merged last. */
  readonly values?: Values;
}

/** The outcome of {@link resolveValues}. */
export type ResolvedValues =
  | { readonly ok: true; readonly values: Values; readonly valuesHash: string }
  | { readonly ok: false; readonly errors: readonly BundleProblem[] };

/**
 * Merges defaults <- valuesFrom (in order) <- values, then validates the result
 * against the schema with every error reported (`values/replicas must be
 * integer`). No type coercion: a string "3" for an integer is an error, since
 * typing is the schema's job. Defaults in places `properties` cannot reach (inside
 * `allOf`, `then`, ...) are still filled in by the validator.
 */
export function resolveValues(input: ResolveValuesInput): ResolvedValues {
  const defaults = schemaDefaults(input.schema);
  let merged: Values = isPlainObject(defaults) ? defaults : {};
  for (const layer of input.valuesFrom ?? []) merged = mergeValues(merged, layer);
  if (input.values) merged = mergeValues(merged, input.values);
  let validate;
  try {
    validate = compileSchema(input.schema, VALUES_SCHEMA_OPTIONS);
  } catch (err) {
    const why = err instanceof InvalidSchemaError ? err.message : String(err);
    return { ok: false, errors: [problem('InvalidPackageManifest', `values.schema is not a valid JSON Schema: ${why}`)] };
  }
  if (!validate(merged)) {
    return { ok: false, errors: formatSchemaErrors(validate.errors, 'values').map((m) => problem('InvalidValues', m)) };
  }
  return { ok: true, values: merged, valuesHash: valuesHash(merged) };
}

/**
 * Deep merge of `over` onto `base`: objects merge key by key, everything else
 * (arrays included) is replaced. Neither input is modified.
 */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = {};
  for (const [key, value] of Object.entries(base)) setOwn(out, key, value);
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    setOwn(out, key, isPlainObject(prev) && isPlainObject(value) ? mergeValues(prev, value) : structuredClone(value));
  }
  return out;
}

/**
 * `obj[key] = value` as a data property: a plain assignment to a key named
 * `__proto__` would replace the object's prototype instead of storing a value.
 */
function setOwn(obj: Values, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

const MAX_REF_DEPTH = 32;

/**
 * The defaults a schema declares, as a value: a `default` where one is given,
 * otherwise for an object schema the defaults of its `properties` (an object is
 * created only when something inside it has a default). Local `$ref`s
 * (`#/$defs/...`, `#/definitions/...`) are followed.
 */
export function schemaDefaults(schema: unknown, root: unknown = schema, depth = 0): unknown {
  if (!isPlainObject(schema) || depth > MAX_REF_DEPTH) return undefined;
  if (schema.default !== undefined) return structuredClone(schema.default);
  if (typeof schema.$ref === 'string' && schema.$ref.startsWith('#/')) {
    return schemaDefaults(resolveLocalRef(root, schema.$ref), root, depth + 1);
  }
  if (!isPlainObject(schema.properties)) return undefined;
  const out: Values = {};
  for (const [key, sub] of Object.entries(schema.properties)) {
    const value = schemaDefaults(sub, root, depth + 1);
    if (value !== undefined) setOwn(out, key, value);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function resolveLocalRef(root: unknown, ref: string): unknown {
  let current = root;
  for (const raw of ref.slice(2).split('/')) {
    const token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isPlainObject(current)) return undefined;
    current = current[token];
  }
  return current;
}

/** `sha256:<hex>` of the canonical JSON of the values. */
export function valuesHash(values: Values): string {
  return `sha256:${createHash('sha256').update(canonicalJSON(values)).digest('hex')}`;
}
