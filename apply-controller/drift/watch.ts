/**
 * What a change of a managed object means for drift: which Package it belongs to
 * (every object Trellis applies carries `apply.trellis.dev/package` and
 * `apply.trellis.dev/package-namespace`) and whether an update may be drift at
 * all. Status updates (a Deployment rolling out) are not; a change of labels,
 * annotations or spec may be. The managed-object cache (cache/managed-objects.ts)
 * delivers the events; the Package controller decides with these helpers whether
 * to wake the Package, whose planning then finds the one object to correct.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../../runtime/object.ts';
import { PACKAGE_NAME_LABEL, PACKAGE_NAMESPACE_LABEL } from '../ssa/options.ts';

/** The Package key (`namespace/name`) an object's labels name, or undefined when it carries none. */
export function packageKeyOf(obj: KubeObject): string | undefined {
  const labels = obj.metadata?.labels;
  const name = labels?.[PACKAGE_NAME_LABEL];
  const namespace = labels?.[PACKAGE_NAMESPACE_LABEL];
  if (!name || !namespace) return undefined;
  return `${namespace}/${name}`;
}

/** The object without what changes by itself or on every write: status, resourceVersion, managedFields. */
function desiredPart(obj: KubeObject): unknown {
  const { status: _status, ...rest } = obj as KubeObject & { status?: unknown };
  const { resourceVersion: _rv, managedFields: _mf, ...metadata } = obj.metadata ?? {};
  return { ...rest, metadata };
}

/**
 * True when an update may be drift: anything changed besides status,
 * resourceVersion and managedFields (labels and annotations count: removing the
 * package labels is a change too).
 */
export function mayBeDrift(oldObj: KubeObject, newObj: KubeObject): boolean {
  return !isDeepStrictEqual(desiredPart(oldObj), desiredPart(newObj));
}

/** The package keys an update concerns: the new owner and, when the labels moved, the old one. */
export function keysOfUpdate(oldObj: KubeObject, newObj: KubeObject): string[] {
  const keys = [packageKeyOf(newObj), packageKeyOf(oldObj)].filter((k): k is string => k !== undefined);
  return [...new Set(keys)];
}
