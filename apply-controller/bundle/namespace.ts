/**
 * Settling each object's namespace before validation, so duplicates, tenancy
 * rules and inventory ids all see the namespace the object will really live in.
 */
import { isPlainObject, type SourcedObject } from './object.ts';
import type { ScopeOf } from './scope.ts';

/** Options for {@link applyNamespaces}. */
export interface NamespaceOptions {
  /** `spec.targetNamespace`: replaces the namespace of every namespaced object. */
  readonly targetNamespace?: string;
  /**
   * The namespace of namespaced objects that name none (and no targetNamespace is
   * set) — the reconciler passes the Package's own namespace, as kubectl uses the
   * context's. Without it such objects are reported by validation.
   */
  readonly defaultNamespace?: string;
  readonly scopeOf: ScopeOf;
}

/**
 * Returns copies of the objects with their namespaces settled:
 * - namespaced kinds get `targetNamespace` when set, else keep their own, else get
 *   `defaultNamespace`;
 * - cluster-scoped kinds lose a stray `metadata.namespace` (the apiserver ignores
 *   it too; keeping it would give the object a wrong inventory id);
 * - kinds of unknown scope, and objects without apiVersion/kind/metadata, are left
 *   as they are for validation to report.
 */
export function applyNamespaces(objects: readonly SourcedObject[], options: NamespaceOptions): SourcedObject[] {
  return objects.map(({ object, source }) => {
    if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || !isPlainObject(object.metadata)) {
      return { object, source };
    }
    const scope = options.scopeOf(object.apiVersion, object.kind);
    if (!scope.known) return { object, source };
    const metadata = { ...object.metadata };
    if (!scope.namespaced) {
      delete metadata.namespace;
    } else if (options.targetNamespace !== undefined) {
      metadata.namespace = options.targetNamespace;
    } else if (metadata.namespace === undefined || metadata.namespace === '') {
      if (options.defaultNamespace === undefined) delete metadata.namespace;
      else metadata.namespace = options.defaultNamespace;
    }
    return { object: { ...object, metadata }, source };
  });
}
