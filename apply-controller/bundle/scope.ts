/**
 * Which kinds exist and whether they are namespaced: the cluster's answer (API
 * discovery, supplied by the reconciler) completed by the CRDs the bundle itself
 * brings, since a bundle may install a CRD and its custom resources together.
 */
import { groupOf, isPlainObject, type SourcedObject } from './object.ts';

/**
 * Whether `apiVersion`/`kind` is namespaced: true or false when the cluster serves
 * it, undefined when it does not.
 */
export type IsNamespaced = (apiVersion: string, kind: string) => boolean | undefined;

/** A CustomResourceDefinition found in the bundle. */
export interface BundleCRD {
  readonly group: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Served versions. */
  readonly versions: readonly string[];
  /** The CRD's own name, for messages. */
  readonly name: string;
}

/** The scope of a kind, or why it is unknown. */
export type KindScope =
  | { readonly known: true; readonly namespaced: boolean }
  | { readonly known: false; readonly detail: string };

/** Resolves the scope of an apiVersion/kind. */
export type ScopeOf = (apiVersion: string, kind: string) => KindScope;

/** True for a CustomResourceDefinition object (any apiextensions version). */
export function isCRD(obj: Record<string, unknown>): boolean {
  return obj.kind === 'CustomResourceDefinition' && typeof obj.apiVersion === 'string'
    && groupOf(obj.apiVersion) === 'apiextensions.k8s.io';
}

/** The CRDs in a bundle (apiextensions.k8s.io v1 and v1beta1); malformed ones are skipped. */
export function findBundleCRDs(objects: readonly SourcedObject[]): BundleCRD[] {
  const crds: BundleCRD[] = [];
  for (const { object } of objects) {
    if (!isCRD(object) || !isPlainObject(object.spec) || !isPlainObject(object.spec.names)) continue;
    const spec = object.spec;
    const names = spec.names as Record<string, unknown>;
    if (typeof spec.group !== 'string' || typeof names.kind !== 'string') continue;
    const versions: string[] = [];
    if (Array.isArray(spec.versions)) {
      for (const v of spec.versions) {
        if (isPlainObject(v) && typeof v.name === 'string' && v.served !== false) versions.push(v.name);
      }
    }
    if (typeof spec.version === 'string' && !versions.includes(spec.version)) versions.push(spec.version);
    const meta = isPlainObject(object.metadata) ? object.metadata : {};
    crds.push({
      group: spec.group,
      kind: names.kind,
      namespaced: spec.scope !== 'Cluster',
      versions,
      name: typeof meta.name === 'string' ? meta.name : `${String(names.plural)}.${spec.group}`,
    });
  }
  return crds;
}

/** The CRD in the bundle for `apiVersion`'s group and `kind`, and whether it serves that version. */
function bundleCRDOf(crds: readonly BundleCRD[], apiVersion: string, kind: string): { crd?: BundleCRD; serves: boolean } {
  const group = groupOf(apiVersion);
  const crd = crds.find((c) => c.group === group && c.kind === kind);
  if (!crd) return { serves: false };
  return { crd, serves: crd.versions.includes(apiVersion.slice(apiVersion.lastIndexOf('/') + 1)) };
}

/**
 * The distinct apiVersion/kind pairs of `objects` that no CRD in the bundle
 * serves: the ones a {@link scopeResolver} asks the cluster about.
 */
export function clusterKinds(objects: readonly SourcedObject[], crds: readonly BundleCRD[]): [apiVersion: string, kind: string][] {
  const out = new Map<string, [string, string]>();
  for (const { object } of objects) {
    const { apiVersion, kind } = object;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string') continue;
    const key = `${apiVersion}/${kind}`;
    if (!out.has(key) && !bundleCRDOf(crds, apiVersion, kind).serves) out.set(key, [apiVersion, kind]);
  }
  return [...out.values()];
}

/**
 * A scope resolver: a CRD in the bundle decides for its group, kind and versions
 * (it is what the cluster will serve once the bundle is applied); the cluster
 * decides for everything else.
 */
export function scopeResolver(isNamespaced: IsNamespaced, crds: readonly BundleCRD[]): ScopeOf {
  return (apiVersion, kind) => {
    const { crd, serves } = bundleCRDOf(crds, apiVersion, kind);
    if (crd && serves) return { known: true, namespaced: crd.namespaced };
    const served = isNamespaced(apiVersion, kind);
    if (served !== undefined) return { known: true, namespaced: served };
    if (crd) {
      return { known: false, detail: `${apiVersion} ${kind} is not served by the CRD ${crd.name} in the bundle (it serves ${crd.versions.join(', ') || 'no version'})` };
    }
    return { known: false, detail: `${apiVersion} ${kind} is a kind the cluster does not serve, and no CRD in the bundle defines it` };
  };
}
