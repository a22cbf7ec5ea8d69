/**
 * The shape every Kubernetes object shares, as it travels over the wire (JSON:
 * timestamps are strings), and `namespace/name` keys.
 */

/** A reference from one object to its owner. */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

/** metadata as the apiserver returns it. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
}

/** Any Kubernetes object. Kinds add their own fields (`spec`, `status`, `data`, ...). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

/** Names a resource type, optionally narrowed to one namespace. */
export interface ResourceType {
  readonly apiVersion: string;
  readonly kind: string;
  /** Omit for cluster-scoped kinds or to mean all namespaces. */
  readonly namespace?: string;
}

/** Names one object. */
export interface ObjectRef extends ResourceType {
  readonly name: string;
}

/** A list of objects and the resourceVersion it was read at. */
export interface ObjectList<T> {
  readonly items: T[];
  readonly resourceVersion: string;
}

/**
 * The object without `metadata.managedFields`: bulk that no cache reader and no
 * person looks at (kubectl hides it too). Informers drop it before caching, since
 * a cache of thousands of objects costs what it keeps.
 */
export function withoutManagedFields<T extends KubeObject>(obj: T): T {
  if (obj.metadata?.managedFields === undefined) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(obj: KubeObject): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error(`object of kind ${obj.kind ?? '?'} has no metadata.name`);
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

/** Splits a key made by {@link objectKey}. */
export function parseKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  if (slash < 0) return { name: key };
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The ref of `obj` for client calls; `apiVersion` and `kind` must be set. */
export function refOf(obj: KubeObject): ObjectRef {
  if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) {
    throw new Error('object needs apiVersion, kind and metadata.name');
  }
  return {
    apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name,
    ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
  };
}

/** The current time as a Kubernetes MicroTime (RFC 3339 with exactly 6 fractional digits). */
export function microTime(date: Date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
