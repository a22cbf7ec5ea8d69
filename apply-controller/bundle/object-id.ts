/**
 * Inventory ids (ARCHITECTURE §3): `<namespace>_<name>_<group>_<kind>`, the same
 * layout Flux uses, so an id names one object across API versions.
 */
import { groupOf } from './object.ts';

/** The parts of an inventory id. */
export interface ObjectIdParts {
  /** Empty for cluster-scoped objects. */
  readonly namespace: string;
  readonly name: string;
  /** Empty for the core group. */
  readonly group: string;
  readonly kind: string;
}

/** The typed error {@link parseObjectId} throws for a string that is not an id. */
export class InvalidObjectIdError extends Error {
  override readonly name = 'InvalidObjectIdError';
}

/** The parts that make up an id, read from an object's apiVersion, kind and metadata. */
interface IdentifiableObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
}

/**
 * The inventory id of an object: `<ns>_<name>_<group>_<kind>` with an empty
 * namespace for cluster-scoped objects and an empty group for the core group,
 * e.g. `shop_web_apps_Deployment`, `_shop__Namespace`.
 */
export function objectId(obj: IdentifiableObject): string {
  return formatObjectId({
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name,
    group: groupOf(obj.apiVersion),
    kind: obj.kind,
  });
}

/** Joins id parts into an id. */
export function formatObjectId(parts: ObjectIdParts): string {
  return `${parts.namespace}_${parts.name}_${parts.group}_${parts.kind}`;
}

/**
 * The inverse of {@link objectId}. Namespaces, groups and kinds never contain `_`
 * but some names may (RBAC names are path segments), so the namespace is read up
 * to the first `_`, group and kind from the last two, and the name is the rest.
 */
export function parseObjectId(id: string): ObjectIdParts {
  const first = id.indexOf('_');
  const last = id.lastIndexOf('_');
  const secondLast = last > 0 ? id.lastIndexOf('_', last - 1) : -1;
  if (first < 0 || secondLast <= first) {
    throw new InvalidObjectIdError(`"${id}" is not an inventory id (<namespace>_<name>_<group>_<kind>)`);
  }
  const parts = {
    namespace: id.slice(0, first),
    name: id.slice(first + 1, secondLast),
    group: id.slice(secondLast + 1, last),
    kind: id.slice(last + 1),
  };
  if (parts.name === '' || parts.kind === '') {
    throw new InvalidObjectIdError(`"${id}" is not an inventory id: the name and the kind must not be empty`);
  }
  return parts;
}
