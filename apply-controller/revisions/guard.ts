/**
 * The immutability guard of PackageRevisions and RevisionSlices. The store has
 * no way to change a written spec, but the controller holds a general client;
 * this wraps it so that any write of a PackageRevision other than create (the
 * first write) and a status patch, and any write of a RevisionSlice other than
 * create and delete, throws {@link RevisionImmutableError} before a request is
 * sent. The reconciler only ever sees the guarded client, so no code path of
 * the controller can rewrite history, by mistake or otherwise.
 */
import type { KubeClient } from '../../runtime/kube.ts';
import type { ObjectRef } from '../../runtime/object.ts';
import { packageRevisionResource, revisionSliceResource } from '../api.ts';
import { RevisionImmutableError } from './store.ts';

type Typed = { readonly apiVersion?: string; readonly kind?: string } | undefined;
type Named = { readonly metadata?: { readonly name?: string }; readonly name?: string };

function isKind(ref: Typed, resource: { readonly apiVersion: string; readonly kind: string }): boolean {
  return ref?.kind === resource.kind && ref.apiVersion === resource.apiVersion;
}

/** True for the kinds whose spec is written once. */
function isRecord(ref: Typed): boolean {
  return isKind(ref, packageRevisionResource) || isKind(ref, revisionSliceResource);
}

function refused(verb: string, ref: Typed & Named): never {
  const name = ref.metadata?.name ?? ref.name ?? '';
  const why = isKind(ref, revisionSliceResource)
    ? 'a slice is named after its content and never changed'
    : 'a revision\'s spec is written once and never changed (only its status is)';
  throw new RevisionImmutableError(`refused to ${verb} ${ref?.kind ?? ''} ${name}: ${why}`);
}

/** `client` with every spec-changing write of a PackageRevision or RevisionSlice refused (also through `impersonate`). */
export function guardRevisionSpecs(client: KubeClient): KubeClient {
  return new Proxy(client, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      switch (prop) {
        case 'update':
        case 'apply':
          // Async like the methods they stand for: a refusal is a rejected promise.
          return async (obj: Typed & Named, ...rest: unknown[]) => {
            if (isRecord(obj)) refused(prop, obj);
            return await (method.call(target, obj, ...rest) as Promise<unknown>);
          };
        case 'patch':
          return async (ref: ObjectRef, ...rest: unknown[]) => {
            if (isRecord(ref)) refused('patch', ref);
            return await (method.call(target, ref, ...rest) as Promise<unknown>);
          };
        case 'patchStatus':
          // A revision's status moves; a slice has nothing that may.
          return async (ref: ObjectRef, ...rest: unknown[]) => {
            if (isKind(ref, revisionSliceResource)) refused('patch the status of', ref);
            return await (method.call(target, ref, ...rest) as Promise<unknown>);
          };
        case 'impersonate':
          return (...args: unknown[]) => guardRevisionSpecs(method.apply(target, args) as KubeClient);
        default:
          return method.bind(target);
      }
    },
  });
}
