/**
 * The collision protection a Package's applies use (see ssa/ownership.ts): its
 * policy, its inventory (objects it already manages, labelled or not), and
 * whether another Package still exists (policy `None` takes objects only from
 * Packages that are gone).
 */
import type { KubeClient } from '../../runtime/kube.ts';
import { APPLY_GROUP, APPLY_VERSION, type InventoryEntry, type Package } from '../api.ts';
import type { CollisionOptions } from '../ssa/ownership.ts';

/** Collision protection for the applies of `pkg`, which may have `managed` in the cluster. */
export function collisionOf(pkg: Package, client: Pick<KubeClient, 'get'>, managed: readonly InventoryEntry[]): CollisionOptions {
  return {
    policy: pkg.spec.collisionProtection ?? 'Prevent',
    managed: new Set(managed.map((e) => e.id)),
    packageExists: async (namespace, name) =>
      await client.get({ apiVersion: `${APPLY_GROUP}/${APPLY_VERSION}`, kind: 'Package', namespace, name }) !== undefined,
  };
}
