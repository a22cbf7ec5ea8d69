/**
 * The source finalizer: while an object carries it, the apiserver keeps the
 * object around after a delete until the controller removed the source's
 * artifacts and released it. Writes carry the resourceVersion that was read,
 * so a concurrent change of the finalizer list fails with a conflict (and the
 * reconcile is retried) instead of being overwritten.
 */
import type { KubeClient } from '../../runtime/kube.ts';
import { refOf, type KubeObject } from '../../runtime/object.ts';

/** The finalizer the source controller puts on GitRepository and OCIRepository objects. */
export const SOURCE_FINALIZER = 'source.trellis.dev/finalizer';

/** True when `obj` carries `finalizer`. */
export function hasFinalizer(obj: KubeObject, finalizer: string = SOURCE_FINALIZER): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

/** Adds `finalizer` to `obj`; returns the object as the apiserver now has it. */
export async function addFinalizer<T extends KubeObject>(client: KubeClient, obj: T,
  finalizer: string = SOURCE_FINALIZER): Promise<T> {
  if (hasFinalizer(obj, finalizer)) return obj;
  const finalizers = [...(obj.metadata?.finalizers ?? []), finalizer];
  return client.patch<T>(refOf(obj), { metadata: { finalizers, resourceVersion: obj.metadata?.resourceVersion } });
}

/** Removes `finalizer` from `obj` (a no-op when it is not there). */
export async function removeFinalizer(client: KubeClient, obj: KubeObject,
  finalizer: string = SOURCE_FINALIZER): Promise<void> {
  if (!hasFinalizer(obj, finalizer)) return;
  const finalizers = (obj.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
  await client.patch(refOf(obj), { metadata: { finalizers, resourceVersion: obj.metadata?.resourceVersion } });
}
