/**
 * A small typed builder for OpenAPI v3 structural schemas (the dialect of
 * CustomResourceDefinitions on Kubernetes 1.20, which has no CEL rules).
 *
 * Each builder returns a {@link Schema}: the JSON schema the apiserver enforces plus,
 * as phantom type parameters, the TypeScript type of a value that satisfies it. So an
 * API is written once and both its types and its CRD come from that one definition:
 *
 * ```ts
 * const spec = s.object({ url: s.string({ pattern: '^https?://' }), interval: s.duration({ default: '5m' }) },
 *   { required: ['url'] });
 * type Spec = Infer<typeof spec>;        // { url: string; interval: string } (as read back)
 * type SpecInput = Input<typeof spec>;   // { url: string; interval?: string } (as written)
 * ```
 *
 * A field with a `default` is required in {@link Infer} (the apiserver fills it in
 * before anyone reads the object) and optional in {@link Input}.
 */
import type { ObjectMeta } from './object.ts';

/** The subset of OpenAPI v3 `JSONSchemaProps` that structural CRD schemas use. */
export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  additionalProperties?: JSONSchemaProps;
  items?: JSONSchemaProps;
  enum?: readonly string[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  oneOf?: JSONSchemaProps[];
  default?: unknown;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

/**
 * A schema for values of type `T` (as read from the apiserver) and `In` (as written
 * by a client). `D` is true when the schema carries a default. The three optional
 * properties exist only in the type system: they are never set.
 */
export interface Schema<T, In = T, D extends boolean = boolean> {
  readonly json: JSONSchemaProps;
  readonly __stored?: T;
  readonly __input?: In;
  readonly __defaulted?: D;
}

/** The type of a value as the apiserver returns it (defaults applied). */
export type Infer<S> = S extends Schema<infer T, unknown> ? T : never;

/** The type of a value a client may send (defaulted fields optional). */
export type Input<S> = S extends Schema<unknown, infer In> ? In : never;

type AnySchema = Schema<unknown, unknown>;
type Props = Record<string, AnySchema>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type Defaulted<O> = O extends { default: unknown } ? true : false;
type DefaultedKeys<P extends Props> = { [K in keyof P]: P[K] extends Schema<unknown, unknown, true> ? K : never }[keyof P];

type StoredObject<P extends Props, R extends keyof P> = Simplify<
  { -readonly [K in keyof P as K extends R | DefaultedKeys<P> ? K : never]: Infer<P[K]> } &
  { -readonly [K in keyof P as K extends R | DefaultedKeys<P> ? never : K]?: Infer<P[K]> }>;
type InputObject<P extends Props, R extends keyof P> = Simplify<
  { -readonly [K in keyof P as K extends R ? K : never]: Input<P[K]> } &
  { -readonly [K in keyof P as K extends R ? never : K]?: Input<P[K]> }>;
type OneKeyOf<P extends Props, V extends 'stored' | 'input'> = {
  [K in keyof P]: Simplify<{ -readonly [J in K]: V extends 'stored' ? Infer<P[J]> : Input<P[J]> } &
    { -readonly [J in Exclude<keyof P, K>]?: undefined }>
}[keyof P];

/** Options every builder takes. */
export interface CommonOptions {
  /** Shown by `kubectl explain`; say what the field is for, not its type. */
  readonly description?: string;
}

/** Options of {@link s.string}. */
export interface StringOptions extends CommonOptions {
  readonly pattern?: string;
  readonly format?: 'date-time' | 'byte';
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly default?: string;
}

/** Options of {@link s.integer}. */
export interface IntegerOptions extends CommonOptions {
  readonly minimum?: number;
  readonly maximum?: number;
  readonly default?: number;
}

/** Options of {@link s.boolean}. */
export interface BooleanOptions extends CommonOptions {
  readonly default?: boolean;
}

/** Options of {@link s.object}. */
export interface ObjectOptions<R extends string> extends CommonOptions {
  readonly required?: readonly R[];
  /**
   * `{}` makes the apiserver create the object when it is missing, which in turn
   * applies the defaults of its properties.
   */
  readonly default?: Record<string, never>;
}

/** Options of {@link s.array}. */
export interface ArrayOptions extends CommonOptions {
  readonly minItems?: number;
  readonly maxItems?: number;
  /** How server-side apply merges the list; `map` needs `mapKeys` (required fields of the items). */
  readonly listType?: 'atomic' | 'set' | 'map';
  readonly mapKeys?: readonly string[];
}

/** Drops undefined options so the generated JSON stays minimal and stable. */
function compact(json: Record<string, unknown>): JSONSchemaProps {
  return Object.fromEntries(Object.entries(json).filter(([, v]) => v !== undefined));
}

function string<const O extends StringOptions = Record<never, never>>(opts?: O): Schema<string, string, Defaulted<O>> {
  return { json: compact({ type: 'string', ...opts }) };
}

function enumOf<const V extends readonly [string, ...string[]], const O extends CommonOptions & { readonly default?: V[number] } = Record<never, never>>(
  values: V, opts?: O): Schema<V[number], V[number], Defaulted<O>> {
  return { json: compact({ type: 'string', enum: [...values], ...opts }) };
}

function integer<const O extends IntegerOptions = Record<never, never>>(opts?: O): Schema<number, number, Defaulted<O>> {
  return { json: compact({ type: 'integer', format: 'int64', ...opts }) };
}

function boolean<const O extends BooleanOptions = Record<never, never>>(opts?: O): Schema<boolean, boolean, Defaulted<O>> {
  return { json: compact({ type: 'boolean', ...opts }) };
}

function object<const P extends Props, const R extends keyof P & string = never,
  const O extends ObjectOptions<R> = ObjectOptions<R>>(properties: P, opts?: O & ObjectOptions<R>):
  Schema<StoredObject<P, R>, InputObject<P, R>, Defaulted<O>> {
  const { required, ...rest } = opts ?? {};
  return {
    json: compact({
      type: 'object',
      ...rest,
      properties: Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, v.json])),
      required: required && required.length > 0 ? [...required] : undefined,
    }),
  };
}

/**
 * An object that holds exactly one of `properties`. Rendered as `oneOf` of
 * single-key `required` lists (structural: the property schemas stay in the
 * top-level `properties`) plus `maxProperties: 1` for a plain error message.
 */
function oneOf<const P extends Props>(properties: P, opts?: CommonOptions):
  Schema<OneKeyOf<P, 'stored'>, OneKeyOf<P, 'input'>, false> {
  const keys = Object.keys(properties);
  return {
    json: compact({
      type: 'object',
      ...opts,
      properties: Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, v.json])),
      minProperties: 1,
      maxProperties: 1,
      oneOf: keys.map((k) => ({ required: [k] })),
    }),
  };
}

function array<I extends AnySchema>(items: I, opts?: ArrayOptions): Schema<Infer<I>[], Input<I>[], false> {
  const { listType, mapKeys, ...rest } = opts ?? {};
  return {
    json: compact({
      type: 'array',
      ...rest,
      items: items.json,
      'x-kubernetes-list-type': listType,
      'x-kubernetes-list-map-keys': mapKeys ? [...mapKeys] : undefined,
    }),
  };
}

/** A map with arbitrary string keys (for example labels or annotations). */
function map<V extends AnySchema>(values: V, opts?: CommonOptions):
  Schema<Record<string, Infer<V>>, Record<string, Input<V>>, false> {
  return { json: compact({ type: 'object', ...opts, additionalProperties: values.json }) };
}

/** Any JSON object, kept as sent (the apiserver neither prunes nor validates inside). */
function freeform(opts?: CommonOptions): Schema<Record<string, unknown>, Record<string, unknown>, false> {
  return { json: compact({ type: 'object', ...opts, 'x-kubernetes-preserve-unknown-fields': true }) };
}

/** A Go duration as Kubernetes tools accept it (`90s`, `5m`, `1h30m`, `1.5h`). */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';

/** A DNS-1123 subdomain: the shape of most object names (Secrets, ConfigMaps, custom resources). */
export const DNS1123_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

/** A DNS-1123 label: the shape of namespace and service account names. */
export const DNS1123_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** A sha256 content digest as OCI writes it. */
export const SHA256_DIGEST_PATTERN = '^sha256:[a-f0-9]{64}$';

function duration<const O extends CommonOptions & { readonly default?: string } = Record<never, never>>(opts?: O):
  Schema<string, string, Defaulted<O>> {
  return { json: compact({ type: 'string', pattern: DURATION_PATTERN, ...opts }) };
}

/** The name of an object in the same namespace (DNS-1123 subdomain). */
function objectName(opts?: CommonOptions): Schema<string, string, false> {
  return string({ pattern: DNS1123_SUBDOMAIN_PATTERN, minLength: 1, maxLength: 253, ...opts });
}

/** A namespace name (DNS-1123 label). */
function namespaceName(opts?: CommonOptions): Schema<string, string, false> {
  return string({ pattern: DNS1123_LABEL_PATTERN, minLength: 1, maxLength: 63, ...opts });
}

/** An RFC 3339 timestamp. */
function time(opts?: CommonOptions): Schema<string, string, false> {
  return string({ format: 'date-time', ...opts });
}

/** One `metav1.Condition`, exactly as upstream validates it. */
const condition = object({
  type: string({ description: 'Type of the condition, in CamelCase.', pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$', maxLength: 316 }),
  status: enumOf(['True', 'False', 'Unknown'], { description: 'Status of the condition.' }),
  observedGeneration: integer({ minimum: 0, description: 'The .metadata.generation the condition was set for.' }),
  lastTransitionTime: time({ description: 'When the condition last changed status.' }),
  reason: string({ description: 'A CamelCase reason for the last transition, for machines.', pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$', minLength: 1, maxLength: 1024 }),
  message: string({ description: 'What happened, for humans.', maxLength: 32768 }),
}, { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] });

type StatusCondition = Infer<typeof condition>;

/** `status.conditions`: a list merged by `type`, as kstatus and server-side apply expect. */
function conditions(opts?: CommonOptions): Schema<StatusCondition[], StatusCondition[], false> {
  return array(condition, { listType: 'map', mapKeys: ['type'], description: 'Latest observations of the object\'s state.', ...opts });
}

/** The schema builders. */
export const s = {
  string, enum: enumOf, integer, boolean, object, oneOf, array, map, freeform,
  duration, objectName, namespaceName, time, conditions,
};

/**
 * A custom object as the controllers read it: `spec` with defaults applied, and the
 * `status` the controller last wrote (absent before the first reconcile). It is a
 * `KubeObject` of runtime/object.ts, so the kube client takes it as it is.
 */
export interface CustomObject<Spec, Status> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

/** An extra column for `kubectl get`. */
export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly jsonPath: string;
  readonly description?: string;
  /** 0: always shown; 1: only with `-o wide`. */
  readonly priority?: number;
}

/** What {@link defineResource} needs to know about a namespaced custom resource. */
export interface ResourceDefinition<Spec extends AnySchema, Status extends AnySchema> {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly description: string;
  readonly spec: Spec;
  readonly status: Status;
  readonly printerColumns: readonly PrinterColumn[];
}

/** The `apiextensions.k8s.io/v1` CustomResourceDefinition object, as plain data. */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: 'Namespaced';
    versions: {
      name: string; served: boolean; storage: boolean;
      schema: { openAPIV3Schema: JSONSchemaProps };
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
    }[];
  };
}

/** A custom resource kind: its identity constants and its CRD. */
export interface Resource<Spec extends AnySchema, Status extends AnySchema> extends ResourceDefinition<Spec, Status> {
  /** `<group>/<version>`. */
  readonly apiVersion: string;
  /** Group, version and kind, the way client libraries and owner references want them. */
  readonly gvk: { readonly group: string; readonly version: string; readonly kind: string };
  /** The CRD that installs this kind. */
  crd(): CustomResourceDefinition;
}

/** Declares a namespaced custom resource kind with a status subresource. */
export function defineResource<Spec extends AnySchema, Status extends AnySchema>(
  def: ResourceDefinition<Spec, Status>): Resource<Spec, Status> {
  const root: JSONSchemaProps = {
    type: 'object',
    description: def.description,
    properties: {
      apiVersion: { type: 'string', description: 'The versioned schema of this representation of an object.' },
      kind: { type: 'string', description: 'The REST resource this object represents.' },
      metadata: { type: 'object' },
      spec: def.spec.json,
      status: def.status.json,
    },
    required: ['spec'],
  };
  return {
    ...def,
    apiVersion: `${def.group}/${def.version}`,
    gvk: { group: def.group, version: def.version, kind: def.kind },
    crd: () => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${def.plural}.${def.group}` },
      spec: {
        group: def.group,
        names: {
          kind: def.kind, listKind: `${def.kind}List`, plural: def.plural, singular: def.kind.toLowerCase(),
          shortNames: [...def.shortNames], categories: [...def.categories],
        },
        scope: 'Namespaced',
        versions: [{
          name: def.version, served: true, storage: true,
          // A deep copy, so a caller editing the CRD cannot change the definition.
          schema: { openAPIV3Schema: structuredClone(root) },
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns.map((c) => ({ ...c })),
        }],
      },
    }),
  };
}
