/**
 * Collision protection: before the engine writes to an object that already
 * exists, it checks who owns it. Server-side apply is forced (see plan.ts), so
 * without this check an object made by a user, another tool or another
 * Package would be taken over silently — and later pruned with the Package.
 *
 * An object belongs to a Package when it carries that Package's labels (see
 * {@link packageLabels}), or when it is in the Package's own inventory (it was
 * applied before and someone removed the labels). Anything else is foreign,
 * and the Package's policy decides:
 *
 * - `Prevent` (default): never write to a foreign object, except a Namespace
 *   that nobody claims (a shared container, often made before the Package; a
 *   Namespace is never pruned while it holds objects of others).
 * - `IfNoOwner`: adopt an object that no Package and no controlling owner
 *   reference claims (made with kubectl, say); refuse the rest.
 * - `None`: adopt any foreign object, except one that belongs to another
 *   Package that still exists. Two Packages declaring one object therefore
 *   never take it from each other in turn: the second one stops with a
 *   collision instead of starting a write loop.
 */
import type { KubeClient } from '../../runtime/kube.ts';
import type { KubeObject as ClusterObject, ObjectRef } from '../../runtime/object.ts';
import { ObjectCollisionError } from './errors.ts';
import { readLive } from './_live.ts';
import type { Target } from './objects.ts';
import { PACKAGE_NAME_LABEL, PACKAGE_NAMESPACE_LABEL } from './options.ts';

/** What a Package may do with an object that exists and is not its own; see the module comment. */
export type CollisionPolicy = 'Prevent' | 'IfNoOwner' | 'None';

/** The collision policies, for validation and the API schema. */
export const COLLISION_POLICIES: readonly CollisionPolicy[] = ['Prevent', 'IfNoOwner', 'None'];

/** How the engine protects existing objects. */
export interface CollisionOptions {
  readonly policy: CollisionPolicy;
  /** Inventory ids of the objects the Package manages now: its own even when their labels were removed. */
  readonly managed: ReadonlySet<string>;
  /**
   * True when the Package `namespace/name` exists (policy `None` takes objects
   * only from Packages that are gone). Without it, other Packages always count as alive.
   */
  readonly packageExists?: (namespace: string, name: string) => Promise<boolean>;
}

/** Who owns an existing object, as far as collision protection is concerned. */
export type Owner =
  | { readonly kind: 'self' }
  | { readonly kind: 'package'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'controller'; readonly owner: string }
  | { readonly kind: 'none'; readonly managers: readonly string[] };

/** The owner of `live` seen from the Package whose labels are `labels` and whose inventory holds `id` or not. */
export function ownerOf(live: ClusterObject, labels: Readonly<Record<string, string>>, managed: boolean): Owner {
  const own = live.metadata?.labels ?? {};
  const name = own[PACKAGE_NAME_LABEL];
  const namespace = own[PACKAGE_NAMESPACE_LABEL];
  if (name !== undefined && namespace !== undefined) {
    if (name === labels[PACKAGE_NAME_LABEL] && namespace === labels[PACKAGE_NAMESPACE_LABEL]) return { kind: 'self' };
    return { kind: 'package', namespace, name };
  }
  if (managed) return { kind: 'self' };
  const controller = (live.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
  if (controller) return { kind: 'controller', owner: `${controller.kind}/${controller.name}` };
  const fields = (live.metadata?.managedFields ?? []) as { manager?: string }[];
  const managers = [...new Set(fields.map((f) => f.manager ?? '').filter((m) => m !== ''))];
  return { kind: 'none', managers };
}

/**
 * Throws an {@link ObjectCollisionError} when the Package may not write to
 * `live` under `opts.policy`. Does nothing for objects that do not exist, that
 * are the Package's own, or when the Package has no labels (a plain library call).
 */
export async function checkOwnership(target: Target, live: ClusterObject | undefined, labels: Readonly<Record<string, string>>,
  opts: CollisionOptions | undefined): Promise<void> {
  if (live === undefined || opts === undefined || labels[PACKAGE_NAME_LABEL] === undefined) return;
  const owner = ownerOf(live, labels, opts.managed.has(target.id));
  switch (owner.kind) {
    case 'self':
      return;
    case 'package': {
      if (opts.policy === 'None' && opts.packageExists && !await opts.packageExists(owner.namespace, owner.name)) return;
      throw new ObjectCollisionError(target, `belongs to Package ${owner.namespace}/${owner.name}`, opts.policy);
    }
    case 'controller':
      if (opts.policy === 'None') return;
      throw new ObjectCollisionError(target, `is controlled by ${owner.owner}`, opts.policy);
    case 'none': {
      // A Namespace nobody claims is a shared container, often made before the Package: adopted. Prune never
      // deletes a Namespace that holds others' objects (foreign-objects.ts), so adopting it risks nothing inside.
      if (opts.policy !== 'Prevent' || isNamespace(target)) return;
      const by = owner.managers.length > 0 ? ` (fields managed by ${owner.managers.slice(0, 3).join(', ')})` : '';
      throw new ObjectCollisionError(target, `exists and is not managed by this Package${by}`, opts.policy);
    }
  }
}

function isNamespace(target: Target): boolean {
  return target.ref.kind === 'Namespace' && target.ref.apiVersion === 'v1';
}

/** Selects objects that no Package claims. */
const UNCLAIMED = `!${PACKAGE_NAME_LABEL}`;

/**
 * The objects among `refs` that exist although a cache of Package-labelled
 * objects does not hold them: objects nobody labelled (made by a user or a
 * tool). Objects of one kind and namespace are found with one list of the
 * unlabelled ones; a few, or a kind the client may not list, with a get each
 * (see _live.ts). Resolves in the order given; undefined where the object does
 * not exist; rejects with the first read that failed.
 */
export async function findUnclaimed(client: KubeClient, refs: readonly ObjectRef[], concurrency: number,
  signal?: AbortSignal): Promise<(ClusterObject | undefined)[]> {
  const reads = await readLive(client, refs, { selector: UNCLAIMED, listCovers: true, concurrency, signal });
  return reads.map((read) => {
    if ('error' in read) throw read.error;
    return read.object;
  });
}
