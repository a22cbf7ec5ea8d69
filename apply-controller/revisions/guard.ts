/**
 * The immutability guard of PackageRevisions. The store has no way to change a
 * written spec, but the controller holds a general client; this wraps it so
 * that any write of a PackageRevision other than create (the first write) and
 * a status patch throws {@link RevisionImmutableError} before a request is
 * sent. The reconciler only ever sees the guarded client, so no code path of
 * the controller can rewrite history, by mistake or otherwise.
 */
import type { KubeClient } from '../../runtime/kube.ts';
import type { ObjectRef } from '../../runtime/object.ts';
import { packageRevisionResource } from '../api.ts';
import { RevisionImmutableError } from './store.ts';

function isRevision(ref: { readonly apiVersion?: string; readonly kind?: string } | undefined): boolean {
  return ref?.kind === packageRevisionResource.kind && ref.apiVersion === packageRevisionResource.apiVersion;
}

function refused(verb: string, ref: { readonly metadata?: { readonly name?: string }; readonly name?: string }): never {
  const name = ref.metadata?.name ?? ref.name ?? '';
  throw new RevisionImmutableError(`refused to ${verb} PackageRevision ${name}: a revision's spec is written once and never changed (only its status is)`);
}

/** `client` with every spec-changing write of a PackageRevision refused (also through `impersonate`). */
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
          return async (obj: { apiVersion?: string; kind?: string; metadata?: { name?: string } }, ...rest: unknown[]) => {
            if (isRevision(obj)) refused(prop, obj);
            return await (method.call(target, obj, ...rest) as Promise<unknown>);
          };
        case 'patch':
          return async (ref: ObjectRef, ...rest: unknown[]) => {
            if (isRevision(ref)) refused('patch', ref);
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
