/**
 * Typed install-time values. An author declares each value once, in TypeScript
 * (type, default, description, constraints), and uses it in the package as an
 * ordinary typed value (`values.replicas` is a `number`). From the same
 * declaration the build derives the JSON Schema that package.yaml carries and the
 * apply controller checks install-time values against.
 *
 * ```ts
 * const shape = {
 *   replicas: value.integer({ default: 2, minimum: 0, description: 'Pods of the web server' }),
 *   image: value.object({ tag: value.string({ default: '1.25.3' }) }),
 * };
 * type Web = ValuesOf<typeof shape>;   // { readonly replicas: number; readonly image: { readonly tag: string } }
 * ```
 *
 * Every value has a default: the build writes each value's default where it
 * lands, and the apply controller replaces it at install time.
 */
import { PackageDefinitionError } from './errors.ts';
import { listKeywords, mapKeywords, type ItemType, type ListOptions, type MapOptions } from './items.ts';

export { item, isItemType, type ItemOptions, type ItemShape, type ItemShapeOf, type ItemType, type ListOptions, type MapOptions, type NumberItemOptions, type OptionalItem, type StringItemOptions } from './items.ts';

const DECLARATION = Symbol.for('trellis.kit.value');

/** The JSON Schema draft of the values schema the build writes. */
export const VALUES_SCHEMA_URI = 'https://json-schema.org/draft/2020-12/schema';

/** The JSON type of a scalar value. `enum` is a string from a fixed list. */
export type ScalarKind = 'string' | 'integer' | 'number' | 'boolean' | 'enum';

/** A declared scalar value whose TypeScript type is `T`. */
export interface ScalarValue<T extends string | number | boolean = string | number | boolean> {
  readonly [DECLARATION]: 'scalar';
  readonly kind: ScalarKind;
  readonly default: T;
  /** The value's JSON Schema (type, constraints, default, description). */
  readonly schema: Readonly<Record<string, unknown>>;
  /** The allowed strings of an `enum` value. */
  readonly options?: readonly string[];
}

/** A declared group of values (a nested object in the values). */
export interface ObjectValue<S extends ValuesShape = ValuesShape> {
  readonly [DECLARATION]: 'object';
  readonly shape: S;
  readonly description?: string;
}

/** A declared list value (`value.list`): its entries are typed by an {@link ItemType}. */
export interface ListValue<T = unknown> {
  readonly [DECLARATION]: 'collection';
  readonly kind: 'list';
  readonly default: readonly T[];
  readonly schema: Readonly<Record<string, unknown>>;
}

/** A declared map value (`value.map`): string keys, entries typed by an {@link ItemType}. */
export interface MapValue<T = unknown> {
  readonly [DECLARATION]: 'collection';
  readonly kind: 'map';
  readonly default: Readonly<Record<string, T>>;
  readonly schema: Readonly<Record<string, unknown>>;
}

/** One declaration: a scalar, a group, a list or a map. */
export type ValueDeclaration = ScalarValue | ObjectValue | ListValue | MapValue;

/** The values a package declares, by name. */
export interface ValuesShape {
  readonly [name: string]: ValueDeclaration;
}

/** The TypeScript type of the values a shape declares (what the package code receives). */
export type ValuesOf<S extends ValuesShape> = {
  readonly [K in keyof S]: S[K] extends ScalarValue<infer T> ? T : S[K] extends ObjectValue<infer N> ? ValuesOf<N>
    : S[K] extends ListValue<infer T> ? readonly T[] : S[K] extends MapValue<infer T> ? Readonly<Record<string, T>> : never;
};

/** Values as a user gives them: any subset, the rest comes from the defaults. */
export type ValuesInput<S extends ValuesShape> = {
  readonly [K in keyof S]?: S[K] extends ScalarValue<infer T> ? T : S[K] extends ObjectValue<infer N> ? ValuesInput<N>
    : S[K] extends ListValue<infer T> ? readonly T[] : S[K] extends MapValue<infer T> ? Readonly<Record<string, T>> : never;
};

/** What every value declaration takes. */
export interface ValueOptions<T> {
  readonly default: T;
  /** Shown to people installing the package (in the schema). */
  readonly description?: string;
}

/** Options of {@link value.string}. */
export interface StringOptions extends ValueOptions<string> {
  readonly minLength?: number;
  readonly maxLength?: number;
  /** ECMA-262 regular expression the value must match. */
  readonly pattern?: string;
  /** A JSON Schema format (`uri`, `hostname`, `email`, ...). */
  readonly format?: string;
}

/** Options of {@link value.integer} and {@link value.number}. */
export interface NumberOptions extends ValueOptions<number> {
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly multipleOf?: number;
}

function scalar<T extends string | number | boolean>(kind: ScalarKind, type: string, opts: ValueOptions<T>,
  constraints: Record<string, unknown>, options?: readonly string[]): ScalarValue<T> {
  const schema: Record<string, unknown> = { type };
  if (options) schema.enum = [...options];
  for (const [key, v] of Object.entries(constraints)) if (v !== undefined) schema[key] = v;
  schema.default = opts.default;
  if (opts.description !== undefined) schema.description = opts.description;
  return Object.freeze({
    [DECLARATION]: 'scalar' as const, kind, default: opts.default, schema: Object.freeze(schema),
    ...(options ? { options: Object.freeze([...options]) } : {}),
  });
}

function collection(kind: 'list' | 'map', keywords: Record<string, unknown>, opts: ValueOptions<unknown>): ListValue | MapValue {
  const schema: Record<string, unknown> = { ...keywords, default: structuredClone(opts.default) };
  if (opts.description !== undefined) schema.description = opts.description;
  return Object.freeze({ [DECLARATION]: 'collection' as const, kind, default: opts.default, schema: Object.freeze(schema) }) as ListValue | MapValue;
}

/** Declarations of values; see the module comment. */
export const value = {
  /** A string value. */
  string(opts: StringOptions): ScalarValue<string> {
    const { minLength, maxLength, pattern, format } = opts;
    return scalar('string', 'string', opts, { minLength, maxLength, pattern, format });
  },
  /** A whole number (JSON Schema `integer`). */
  integer(opts: NumberOptions): ScalarValue<number> {
    const { minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf } = opts;
    return scalar('integer', 'integer', opts, { minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf });
  },
  /** Any number. */
  number(opts: NumberOptions): ScalarValue<number> {
    const { minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf } = opts;
    return scalar('number', 'number', opts, { minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf });
  },
  /** true or false. */
  boolean(opts: ValueOptions<boolean>): ScalarValue<boolean> {
    return scalar('boolean', 'boolean', opts, {});
  },
  /** One of a fixed list of strings; its TypeScript type is the union of them. */
  enum<const O extends readonly [string, ...string[]]>(options: O, opts: ValueOptions<O[number]>): ScalarValue<O[number]> {
    return scalar('enum', 'string', opts, {}, options);
  },
  /** A list of entries of one type (`item.string()`, `item.object({...})`, ...), with its default. */
  list<T>(of: ItemType<T>, opts: ValueOptions<readonly T[]> & ListOptions): ListValue<T> {
    return collection('list', listKeywords(of.schema, opts), opts) as ListValue<T>;
  },
  /** A map from string keys to entries of one type, with its default. */
  map<T>(of: ItemType<T>, opts: ValueOptions<Readonly<Record<string, T>>> & MapOptions): MapValue<T> {
    return collection('map', mapKeywords(of.schema, opts), opts) as MapValue<T>;
  },
  /** A group of values: a nested object (`image.tag`). */
  object<const S extends ValuesShape>(shape: S, opts: { readonly description?: string } = {}): ObjectValue<S> {
    return Object.freeze({
      [DECLARATION]: 'object' as const, shape,
      ...(opts.description !== undefined ? { description: opts.description } : {}),
    });
  },
};

/** Whether `x` is a value declaration made by {@link value}. */
export function isValueDeclaration(x: unknown): x is ValueDeclaration {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[DECLARATION] !== undefined;
}

/** One scalar value of a shape, with where it sits in the values. */
export interface ValueLeaf {
  /** JSON pointer into the values, e.g. `/image/tag`. */
  readonly pointer: string;
  /** The keys from the root, e.g. `['image', 'tag']`. */
  readonly path: readonly string[];
  readonly declaration: ScalarValue;
}

const escapeToken = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** Every scalar value of `shape`, depth first in declaration order. Throws on malformed shapes. */
export function valueLeaves(shape: ValuesShape): ValueLeaf[] {
  const out: ValueLeaf[] = [];
  const walk = (s: ValuesShape, path: readonly string[]): void => {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) {
      throw new PackageDefinitionError(`values${path.length ? ` at /${path.map(escapeToken).join('/')}` : ''} must be an object of value declarations`);
    }
    for (const [key, decl] of Object.entries(s)) {
      const here = [...path, key];
      const pointer = `/${here.map(escapeToken).join('/')}`;
      if (key === '') throw new PackageDefinitionError('a value name must not be empty');
      if (!isValueDeclaration(decl)) {
        throw new PackageDefinitionError(`value ${pointer} is not a declaration (use value.string(...), value.integer(...), value.object(...), ...)`);
      }
      if (decl[DECLARATION] === 'object') walk((decl).shape, here);
      else if (decl[DECLARATION] === 'scalar') out.push({ pointer, path: here, declaration: decl });
      // Lists and maps are not leaves: only a program bundle can use them (see hasCollections).
    }
  };
  walk(shape, []);
  return out;
}

/** The JSON Schema (2020-12) of the values object: closed objects, a default on every scalar. */
export function valuesSchema(shape: ValuesShape): Record<string, unknown> {
  const objectSchema = (s: ValuesShape, description?: string): Record<string, unknown> => {
    const properties: Record<string, unknown> = {};
    for (const [key, decl] of Object.entries(s)) {
      Object.defineProperty(properties, key, {
        value: decl[DECLARATION] === 'object' ? objectSchema((decl).shape, (decl).description)
          : structuredClone((decl).schema),
        enumerable: true, writable: true, configurable: true,
      });
    }
    return {
      type: 'object',
      ...(description !== undefined ? { description } : {}),
      additionalProperties: false,
      properties,
    };
  };
  valueLeaves(shape); // reports malformed shapes with a clear message
  return { $schema: VALUES_SCHEMA_URI, ...objectSchema(shape) };
}

/** Pointers of the list and map values of `shape` (which a pre-rendered bundle cannot carry). */
export function collectionValues(shape: ValuesShape, path = ''): string[] {
  return Object.entries(shape).flatMap(([key, decl]) => {
    const here = `${path}/${escapeToken(key)}`;
    if (decl[DECLARATION] === 'object') return collectionValues((decl).shape, here);
    return decl[DECLARATION] === 'collection' ? [here] : [];
  });
}

/** Builds a values object with the shape's structure, each scalar from `pick`. */
export function assembleValues(shape: ValuesShape, pick: (leaf: ValueLeaf) => unknown): Record<string, unknown> {
  return valuesFromLeaves(valueLeaves(shape), pick);
}

/** Builds a values object from leaves (see {@link valueLeaves}), each scalar from `pick`. */
export function valuesFromLeaves(leaves: readonly ValueLeaf[], pick: (leaf: ValueLeaf) => unknown): Record<string, unknown> {
  const define = (node: Record<string, unknown>, key: string, v: unknown): void => {
    // A data property even for a key named __proto__.
    Object.defineProperty(node, key, { value: v, enumerable: true, writable: true, configurable: true });
  };
  const root: Record<string, unknown> = {};
  for (const leaf of leaves) {
    let node = root;
    for (const key of leaf.path.slice(0, -1)) {
      if (!Object.hasOwn(node, key)) define(node, key, {});
      node = node[key] as Record<string, unknown>;
    }
    define(node, leaf.path[leaf.path.length - 1]!, pick(leaf));
  }
  return root;
}

/** Freezes a values object so package code cannot change what other code reads. */
export function deepFreeze<T>(obj: T): T {
  if (typeof obj === 'object' && obj !== null && !Object.isFrozen(obj)) {
    Object.freeze(obj);
    for (const v of Object.values(obj)) deepFreeze(v);
  }
  return obj;
}
