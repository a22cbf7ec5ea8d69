/**
 * Which updates wake a reconciler. Controllers write status on every
 * reconcile; if those writes woke the reconciler again, every object would
 * reconcile in a loop. So for kinds with a `metadata.generation` (bumped by
 * the apiserver only on spec changes) an update counts when the generation
 * changed, the reconcile-request annotation changed, deletion started, or a
 * finalizer was removed. Kinds without generation (ConfigMaps, Secrets) count
 * when anything but bookkeeping metadata changed.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from './object.ts';

/** Decides whether an update from `oldObj` to `newObj` should trigger a reconcile. */
export type UpdatePredicate<T> = (oldObj: T, newObj: T) => boolean;

/** Set this annotation to any new value (a timestamp) to ask for a reconcile now. */
export const REQUESTED_AT_ANNOTATION = 'reconcile.trellis.dev/requestedAt';

/** The generation changed (a spec change), when the kind has one. */
export function generationChanged(oldObj: KubeObject, newObj: KubeObject): boolean {
  return oldObj.metadata?.generation !== newObj.metadata?.generation;
}

/** The `reconcile.trellis.dev/requestedAt` annotation changed. */
export function requestedAtChanged(oldObj: KubeObject, newObj: KubeObject): boolean {
  return oldObj.metadata?.annotations?.[REQUESTED_AT_ANNOTATION] !== newObj.metadata?.annotations?.[REQUESTED_AT_ANNOTATION];
}

/**
 * Deletion started, or a finalizer was removed (the reconciler puts its own
 * back, or finishes a deletion). An added finalizer is no news: it is usually
 * the reconciler's own, added at the start of a reconcile that is still running.
 */
export function deletionOrFinalizerRemoved(oldObj: KubeObject, newObj: KubeObject): boolean {
  if (oldObj.metadata?.deletionTimestamp !== newObj.metadata?.deletionTimestamp) return true;
  const kept = new Set(newObj.metadata?.finalizers ?? []);
  return (oldObj.metadata?.finalizers ?? []).some((f) => !kept.has(f));
}

/** The object without the fields that change on every write (resourceVersion, managedFields). */
function withoutBookkeeping(obj: KubeObject): KubeObject {
  const { resourceVersion: _rv, managedFields: _mf, ...metadata } = obj.metadata ?? {};
  return { ...obj, metadata };
}

/** Anything changed except resourceVersion and managedFields (status included). */
export function contentChanged(oldObj: KubeObject, newObj: KubeObject): boolean {
  return !isDeepStrictEqual(withoutBookkeeping(oldObj), withoutBookkeeping(newObj));
}

/**
 * The default for primary objects: with a generation, a spec change, a
 * reconcile request, deletion, or a removed finalizer; without one, any content
 * change. Status-only updates never pass.
 */
export function specOrRequestChanged(oldObj: KubeObject, newObj: KubeObject): boolean {
  const hasGeneration = oldObj.metadata?.generation !== undefined || newObj.metadata?.generation !== undefined;
  if (!hasGeneration) return contentChanged(oldObj, newObj);
  return generationChanged(oldObj, newObj) || requestedAtChanged(oldObj, newObj)
    || deletionOrFinalizerRemoved(oldObj, newObj);
}

/** True when any of `predicates` is. */
export function anyOf<T>(...predicates: UpdatePredicate<T>[]): UpdatePredicate<T> {
  return (oldObj, newObj) => predicates.some((p) => p(oldObj, newObj));
}

/** Also wakes on label changes (for controllers that select by label). */
export function labelsChanged(oldObj: KubeObject, newObj: KubeObject): boolean {
  return !isDeepStrictEqual(oldObj.metadata?.labels ?? {}, newObj.metadata?.labels ?? {});
}
