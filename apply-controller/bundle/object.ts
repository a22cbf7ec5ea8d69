/**
 * The shapes of the objects a bundle holds, and small readers that never throw on
 * a malformed object (validation is where malformed objects are reported).
 */

/** An unvalidated object as parsed from a manifest: any JSON object. */
export type UnstructuredObject = Record<string, unknown>;

/** `metadata` of a Kubernetes object, as far as the bundle code reads it. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** A Kubernetes object that passed validation: apiVersion, kind and name are set. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/**
 * Where an object came from, for error messages and placements. `file` is a
 * forward-slash path relative to the artifact root (so it includes the Package's
 * `spec.path`); `document` is the 0-based index of the YAML document in the file;
 * `item` is the 0-based index in the `items` of a `List` the object was taken from.
 */
export interface ObjectSource {
  readonly file: string;
  readonly document: number;
  readonly item?: number;
}

/** An object of a bundle together with its source. */
export interface SourcedObject<T = UnstructuredObject> {
  readonly object: T;
  readonly source: ObjectSource;
}

/** A validated object of a bundle: its inventory id, the object and its source. */
export interface BundleObject {
  /** `<ns>_<name>_<group>_<kind>`, see {@link objectId}. */
  readonly id: string;
  readonly object: KubeObject;
  readonly source: ObjectSource;
}

/** The identity of an object as it can be named in messages (fields may be missing). */
export interface ObjectRef {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
}

/** True for a non-null, non-array object. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A deep copy of JSON data (what manifests and answers hold): arrays and objects
 * are new, strings and other scalars are shared (they are immutable). About five
 * times faster than `structuredClone`, which also copies every string; anything
 * that is not JSON data (a Date, a Map) is copied with `structuredClone`. An own
 * `__proto__` key stays an own property, as the parsers make it.
 */
export function cloneData<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneData) as T;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const member = cloneData((value as Record<string, unknown>)[key]);
    if (key === '__proto__') Object.defineProperty(out, key, { value: member, writable: true, enumerable: true, configurable: true });
    else out[key] = member;
  }
  return out as T;
}

/** A string field of an object, or undefined when absent or not a string. */
function stringField(obj: Record<string, unknown> | undefined, key: string): string | undefined {
  const v = obj?.[key];
  return typeof v === 'string' ? v : undefined;
}

/** `metadata` as an object, or undefined. */
export function metadataOf(obj: UnstructuredObject): Record<string, unknown> | undefined {
  return isPlainObject(obj.metadata) ? obj.metadata : undefined;
}

/** The identity fields an object has, for messages. */
export function refOf(obj: UnstructuredObject): ObjectRef {
  const meta = metadataOf(obj);
  const ref: { apiVersion?: string; kind?: string; name?: string; namespace?: string } = {};
  const apiVersion = stringField(obj, 'apiVersion');
  const kind = stringField(obj, 'kind');
  const name = stringField(meta, 'name');
  const namespace = stringField(meta, 'namespace');
  if (apiVersion !== undefined) ref.apiVersion = apiVersion;
  if (kind !== undefined) ref.kind = kind;
  if (name !== undefined) ref.name = name;
  if (namespace !== undefined && namespace !== '') ref.namespace = namespace;
  return ref;
}

/** The API group of an `apiVersion` (`apps/v1` -> `apps`, `v1` -> ``). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** An object named the way kubectl does: `Deployment web` or `Deployment shop/web`. */
export function describeRef(ref: ObjectRef): string {
  const kind = ref.kind ?? '(no kind)';
  const name = ref.name ?? '(no name)';
  return ref.namespace ? `${kind} ${ref.namespace}/${name}` : `${kind} ${name}`;
}

/** A source named for messages: `manifests/web.yaml` or `manifests/all.yaml (document 3)`. */
export function describeSource(source: ObjectSource): string {
  const parts: string[] = [];
  if (source.document > 0) parts.push(`document ${source.document + 1}`);
  if (source.item !== undefined) parts.push(`List item ${source.item + 1}`);
  return parts.length === 0 ? source.file : `${source.file} (${parts.join(', ')})`;
}
