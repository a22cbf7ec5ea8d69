/**
 * How far a Package with a service account may reach, asked before the first
 * write. Inside its own namespace the apiserver's answer to each impersonated
 * write is clear enough; outside it (another namespace through `targetNamespace`
 * or an object's own namespace, or a cluster-scoped object) the account must
 * hold the rights already, or the Package stops before its revision is recorded
 * and before any object is written, naming what the account may not do.
 *
 * The question goes to the apiserver as a SelfSubjectAccessReview sent through
 * the impersonating client, so the answer is the account's own (groups included)
 * and the controller needs no right to review others.
 */
import type { KubeClient } from '../../runtime/kube.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { groupOf } from '../bundle/object.ts';
import { PackageFailure } from './failure.ts';

/** The verbs a server-side apply needs: `patch`, and `create` for an object that does not exist yet. */
const APPLY_VERBS = ['create', 'patch'] as const;

/** One kind of write outside the Package's namespace. */
interface Reach {
  readonly group: string;
  readonly resource: string;
  /** Empty for a cluster-scoped resource. */
  readonly namespace: string;
  /** An example object, for the message. */
  readonly subject: string;
}

interface AccessReview {
  status?: { allowed?: boolean; denied?: boolean; reason?: string };
}

/**
 * The writes of `objects` that leave `namespace`, one per resource and target
 * namespace. Kinds the cluster does not serve yet (a CRD of the same bundle) are
 * left to the apiserver: their CRD is itself a cluster-scoped object checked here.
 */
async function reachOutside(client: KubeClient, namespace: string, objects: readonly KubeObject[]): Promise<Reach[]> {
  const out = new Map<string, Reach>();
  for (const obj of objects) {
    if (obj.apiVersion === undefined || obj.kind === undefined) continue;
    const resource = await client.resourceOf(obj.apiVersion, obj.kind);
    if (!resource) continue;
    const target = resource.namespaced ? obj.metadata?.namespace ?? namespace : '';
    if (resource.namespaced && target === namespace) continue;
    const group = groupOf(obj.apiVersion);
    const key = `${group}/${resource.plural}/${target}`;
    if (out.has(key)) continue;
    const subject = `${obj.kind} ${target === '' ? '' : `${target}/`}${obj.metadata?.name ?? ''}`;
    out.set(key, { group, resource: resource.plural, namespace: target, subject });
  }
  return [...out.values()];
}

/**
 * Fails (retrying: RBAC may be granted later) with reason `AccessDenied` when
 * the account behind `objectsClient` may not create and patch every resource of
 * `objects` that lies outside `namespace`. Sends one review per verb and
 * resource outside the namespace; none for a bundle that stays inside it.
 */
export async function checkReach(objectsClient: KubeClient, namespace: string, objects: readonly KubeObject[]): Promise<void> {
  const who = objectsClient.impersonating;
  if (who === undefined) return;
  for (const reach of await reachOutside(objectsClient, namespace, objects)) {
    for (const verb of APPLY_VERBS) {
      const review = await objectsClient.raw<AccessReview>('create', 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview',
        spec: {
          resourceAttributes: {
            verb, group: reach.group, resource: reach.resource, ...(reach.namespace === '' ? {} : { namespace: reach.namespace }),
          },
        },
      });
      if (review.status?.allowed === true) continue;
      const where = reach.namespace === '' ? 'at cluster scope' : `in namespace ${reach.namespace}`;
      const resource = reach.group === '' ? reach.resource : `${reach.resource}.${reach.group}`;
      throw new PackageFailure(undefined, 'AccessDenied',
        `${reach.subject}: ${who} may not ${verb} ${resource} ${where}, outside the Package's namespace ${namespace}; grant it with RBAC or keep the object in ${namespace}`,
        'retry');
    }
  }
}
