/**
 * A restore is held to the rules of a fresh revision. A revision that verifies
 * was written by this controller, but it was validated under the Package as it
 * was then: since, the Package may have become a tenant (a service account),
 * a kind may have changed scope, or its CRD may be gone. So the recorded
 * objects go through the same object validation as a bundle (bundle/validate.ts:
 * names, namespaces, ownerReferences, kinds served, duplicates, and for a
 * confined Package its own namespace only) before any of them is applied; the
 * reach of a Package with a service account is reviewed by restore.ts with the
 * same `checkReach` a fresh revision goes through.
 */
import { BundleValidationError } from '../bundle/problems.ts';
import { clusterKinds, findBundleCRDs, scopeResolver } from '../bundle/scope.ts';
import { validateObjects } from '../bundle/validate.ts';
import type { PhaseObjects } from '../reconcile/apply.ts';
import type { KindScopes } from '../reconcile/bundle.ts';

/** What restores are validated against. */
export interface RestoreRules {
  /** The cluster's kinds and their scope (API discovery). */
  readonly scopes: Pick<KindScopes, 'cached' | 'lookUp'>;
  /** The Package's namespace. */
  readonly namespace: string;
  /** The Package is confined to its namespace (`confinedToNamespace` of its settings): no other namespace, nothing cluster-scoped. */
  readonly confined: boolean;
}

/** Throws a {@link BundleValidationError} listing every problem when the recorded objects may not be applied now. */
export async function validateRestore(phases: readonly PhaseObjects[], rules: RestoreRules): Promise<void> {
  const objects = phases.flatMap((p) => p.objects.map((o) => ({ object: o.object, source: o.source })));
  const crds = findBundleCRDs(objects);
  await rules.scopes.lookUp(clusterKinds(objects, crds));
  const scopeOf = scopeResolver((apiVersion, kind) => rules.scopes.cached(apiVersion, kind), crds);
  const problems = validateObjects(objects, {
    scopeOf,
    // Phases were checked when the revision was recorded; the record keeps them by name.
    phasesUnknown: true,
    ...(rules.confined ? { restrictToNamespace: rules.namespace } : {}),
  });
  if (problems.length > 0) throw new BundleValidationError(problems);
}
