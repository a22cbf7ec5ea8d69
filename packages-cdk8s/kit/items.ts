/**
 * Types of the entries of list and map values: `item.string()`,
 * `item.object({...})`, ... They describe a shape (JSON Schema plus a TypeScript
 * type) without a default: the default belongs to the list or map value itself.
 *
 * ```ts
 * hosts: value.list(item.string({ format: 'hostname' }), { default: ['web.example'] }),
 * extraConfigs: value.map(item.map(item.string()), { default: {} }),
 * ports: value.list(item.object({ name: item.string(), port: item.integer({ minimum: 1 }) }), { default: [] }),
 * ```
 */

const ITEM = Symbol.for('trellis.kit.item');

/** The shape of an entry, whose TypeScript type is `T`. */
export interface ItemType<T = unknown> {
  readonly [ITEM]: true;
  /** The entry's JSON Schema. */
  readonly schema: Readonly<Record<string, unknown>>;
  /** Type-level only: what the package code receives. */
  readonly type?: T;
}

/** Options every item type takes. */
export interface ItemOptions {
  readonly description?: string;
}

/** Constraints of string items. */
export interface StringItemOptions extends ItemOptions {
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly format?: string;
}

/** Constraints of number items. */
export interface NumberItemOptions extends ItemOptions {
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly multipleOf?: number;
}

/** Constraints of list items and list values. */
export interface ListOptions extends ItemOptions {
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly uniqueItems?: boolean;
}

/** Constraints of map items and map values. */
export interface MapOptions extends ItemOptions {
  readonly minProperties?: number;
  readonly maxProperties?: number;
  /** A pattern every key must match (`^[a-z0-9-]+$` for names). */
  readonly keyPattern?: string;
}

/** The properties of an object item: item types, each required unless wrapped in `item.optional`. */
export interface ItemShape {
  readonly [name: string]: ItemType | OptionalItem;
}

/** An object item property that may be left out. */
export interface OptionalItem<T = unknown> {
  readonly [ITEM]: 'optional';
  readonly inner: ItemType<T>;
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The TypeScript type of an object item's shape. */
export type ItemShapeOf<S extends ItemShape> = Simplify<
  { readonly [K in keyof S as S[K] extends OptionalItem ? never : K]: S[K] extends ItemType<infer T> ? T : never }
  & { readonly [K in keyof S as S[K] extends OptionalItem ? K : never]?: S[K] extends OptionalItem<infer T> ? T : never }
>;

function make<T>(schema: Record<string, unknown>, opts: ItemOptions | undefined, constraints: Record<string, unknown> = {}): ItemType<T> {
  const out: Record<string, unknown> = { ...schema };
  for (const [key, v] of Object.entries(constraints)) if (v !== undefined && key !== 'description' && key !== 'keyPattern') out[key] = v;
  if (opts?.description !== undefined) out.description = opts.description;
  return Object.freeze({ [ITEM]: true as const, schema: Object.freeze(out) });
}

/** The JSON Schema keywords of list options. */
export function listKeywords(itemSchema: Readonly<Record<string, unknown>>, opts: ListOptions = {}): Record<string, unknown> {
  const { minItems, maxItems, uniqueItems } = opts;
  return Object.fromEntries(Object.entries({ type: 'array', items: itemSchema, minItems, maxItems, uniqueItems })
    .filter(([, v]) => v !== undefined));
}

/** The JSON Schema keywords of map options. */
export function mapKeywords(itemSchema: Readonly<Record<string, unknown>>, opts: MapOptions = {}): Record<string, unknown> {
  const { minProperties, maxProperties, keyPattern } = opts;
  return Object.fromEntries(Object.entries({
    type: 'object', additionalProperties: itemSchema, minProperties, maxProperties,
    propertyNames: keyPattern === undefined ? undefined : { pattern: keyPattern },
  }).filter(([, v]) => v !== undefined));
}

/** Item type builders; see the module comment. */
export const item = {
  /** A string. */
  string(opts: StringItemOptions = {}): ItemType<string> {
    return make({ type: 'string' }, opts, { ...opts });
  },
  /** A whole number. */
  integer(opts: NumberItemOptions = {}): ItemType<number> {
    return make({ type: 'integer' }, opts, { ...opts });
  },
  /** Any number. */
  number(opts: NumberItemOptions = {}): ItemType<number> {
    return make({ type: 'number' }, opts, { ...opts });
  },
  /** true or false. */
  boolean(opts: ItemOptions = {}): ItemType<boolean> {
    return make({ type: 'boolean' }, opts);
  },
  /** One of a fixed list of strings. */
  enum<const O extends readonly [string, ...string[]]>(options: O, opts: ItemOptions = {}): ItemType<O[number]> {
    return make({ type: 'string', enum: [...options] }, opts);
  },
  /** A list of entries of one type. */
  list<T>(of: ItemType<T>, opts: ListOptions = {}): ItemType<readonly T[]> {
    return make(listKeywords(of.schema, opts), opts);
  },
  /** A map from string keys to entries of one type. */
  map<T>(of: ItemType<T>, opts: MapOptions = {}): ItemType<Readonly<Record<string, T>>> {
    return make(mapKeywords(of.schema, opts), opts);
  },
  /** An object with fixed properties (closed: other keys are refused). */
  object<const S extends ItemShape>(shape: S, opts: ItemOptions = {}): ItemType<ItemShapeOf<S>> {
    const properties: Record<string, unknown> = {};
    const required: string[] = [];
    for (const [key, p] of Object.entries(shape)) {
      const optional = p[ITEM] === 'optional';
      Object.defineProperty(properties, key, {
        value: optional ? (p).inner.schema : (p).schema, enumerable: true, writable: true, configurable: true,
      });
      if (!optional) required.push(key);
    }
    return make({ type: 'object', additionalProperties: false, properties, ...(required.length > 0 ? { required } : {}) }, opts);
  },
  /** Marks an object item's property as one that may be left out. */
  optional<T>(inner: ItemType<T>): OptionalItem<T> {
    return Object.freeze({ [ITEM]: 'optional' as const, inner });
  },
};

/** Whether `x` is an item type made by {@link item}. */
export function isItemType(x: unknown): x is ItemType {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[ITEM] === true;
}
