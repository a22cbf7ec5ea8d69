/**
 * The objects the apply engine works on, and how it names them: inventory ids
 * for the caller, `Kind/namespace/name` subjects for people, refs for the client.
 */
import type { BundleObject } from '../bundle/object.ts';
import { objectId, parseObjectId } from '../bundle/object-id.ts';
import type { ObjectRef } from '../../runtime/object.ts';

/** An object as the package wants it: apiVersion, kind and metadata.name are set. */
export interface DesiredObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** What the engine accepts: a plain object, or a bundle object (whose `id` and `object` are used). */
export type ObjectInput = DesiredObject | BundleObject;

/** An object the engine is about to work on, with its names worked out once. */
export interface Target {
  readonly id: string;
  readonly subject: string;
  readonly ref: ObjectRef;
  readonly object: DesiredObject;
}

/** An inventory entry (Package `status.objects`): the id and the API version the object was applied with. */
export interface InventoryEntry {
  /** `<ns>_<name>_<group>_<kind>`. */
  readonly id: string;
  /** The version part of the apiVersion, e.g. `v1`. */
  readonly v: string;
}

function isBundleObject(input: ObjectInput): input is BundleObject {
  return typeof (input as { apiVersion?: unknown }).apiVersion !== 'string' && 'object' in input;
}

/** `Kind/namespace/name`, or `Kind/name` for a cluster-scoped object. */
export function subjectOf(kind: string, name: string, namespace?: string): string {
  return namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`;
}

/** The client ref of an object. */
export function refOfDesired(obj: DesiredObject): ObjectRef {
  const ns = obj.metadata.namespace;
  return { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, ...(ns ? { namespace: ns } : {}) };
}

/** Normalizes an input into a {@link Target}. */
export function targetOf(input: ObjectInput): Target {
  const object = isBundleObject(input) ? input.object : input;
  if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || typeof object.metadata?.name !== 'string') {
    throw new TypeError('an object to apply needs apiVersion, kind and metadata.name');
  }
  const id = isBundleObject(input) ? input.id : objectId(object);
  return { id, subject: subjectOf(object.kind, object.metadata.name, object.metadata.namespace), ref: refOfDesired(object), object };
}

/** The client ref an inventory entry names (throws InvalidObjectIdError for a malformed id). */
export function refOfEntry(entry: InventoryEntry): ObjectRef {
  const parts = parseObjectId(entry.id);
  const apiVersion = parts.group === '' ? entry.v : `${parts.group}/${entry.v}`;
  return { apiVersion, kind: parts.kind, name: parts.name, ...(parts.namespace ? { namespace: parts.namespace } : {}) };
}

/** The inventory entry of an object (what a Package records after applying it). */
export function inventoryEntryOf(obj: DesiredObject): InventoryEntry {
  const slash = obj.apiVersion.lastIndexOf('/');
  return { id: objectId(obj), v: slash < 0 ? obj.apiVersion : obj.apiVersion.slice(slash + 1) };
}

/** The subject of an inventory entry. */
export function subjectOfEntry(entry: InventoryEntry): string {
  const parts = parseObjectId(entry.id);
  return subjectOf(parts.kind, parts.name, parts.namespace || undefined);
}

/** `group/version/kind/namespace` of a ref: objects sharing it can be read with one list. */
export function listKeyOf(ref: ObjectRef): string {
  return `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ''}`;
}


