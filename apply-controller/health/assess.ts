/**
 * `assessHealth`: the health of one object as read from the cluster, by
 * kstatus's rules (kubernetes-sigs/cli-utils `pkg/kstatus/status`), so a
 * Package is Ready exactly when Flux, kpt or Helm 4 would call its objects
 * ready. The order is kstatus's: deletion, then the checks every kind shares
 * (observedGeneration, Reconciling, Stalled), then the rule of a built-in kind,
 * then a Ready condition; an object nothing speaks against is Current.
 * The only ways to ask for more are the `health.trellis.dev/wait-for` opt-ins;
 * a user-defined check (checks.ts) replaces the kind's rule for the objects it
 * matches.
 */
import { userHealth } from './checks.ts';
import { crdHealth, existsHealth, jobHealth, podHealth, pvcHealth, serviceHealth } from './core.ts';
import {
  conditions, describeCondition, hasStatus, health, kindKey, section, staleGeneration,
  type ClusterObject, type Health, type HealthContext, type HealthOptions,
} from './status.ts';
import { waitForProblem } from './wait-for.ts';
import { daemonSetHealth, deploymentHealth, replicaSetHealth, statefulSetHealth } from './workloads.ts';

type Rule = (obj: ClusterObject, context: HealthContext) => Health;

/** Rules by `group/Kind` (core group: `/Kind`): kstatus's list of built-in kinds. */
const RULES: ReadonlyMap<string, Rule> = new Map<string, Rule>([
  ['apps/Deployment', deploymentHealth],
  ['extensions/Deployment', deploymentHealth],
  ['apps/StatefulSet', statefulSetHealth],
  ['apps/DaemonSet', daemonSetHealth],
  ['extensions/DaemonSet', daemonSetHealth],
  ['apps/ReplicaSet', replicaSetHealth],
  ['extensions/ReplicaSet', replicaSetHealth],
  ['batch/Job', jobHealth],
  ['/Pod', podHealth],
  ['/PersistentVolumeClaim', pvcHealth],
  ['/Service', serviceHealth],
  ['apiextensions.k8s.io/CustomResourceDefinition', crdHealth],
  ['/ConfigMap', existsHealth],
  ['/Secret', existsHealth],
  ['batch/CronJob', existsHealth],
  ['policy/PodDisruptionBudget', existsHealth],
]);

/**
 * The checks every kind shares, or undefined when they leave the verdict to the
 * kind: InProgress while `status.observedGeneration` differs from
 * `metadata.generation` (a status about an older spec says nothing, not even a
 * Stalled); then the first of Reconciling=True (InProgress) and Stalled=True
 * (Failed), in the order the conditions are listed.
 */
function sharedChecks(obj: ClusterObject): Health | undefined {
  const stale = staleGeneration(obj);
  if (stale) return health('InProgress', obj, stale);
  for (const c of conditions(obj)) {
    if (c.status !== 'True') continue;
    if (c.type === 'Reconciling') return health('InProgress', obj, describeCondition(c));
    if (c.type === 'Stalled') return health('Failed', obj, describeCondition(c));
  }
  return undefined;
}

/** A kind without its own rule: its first Ready condition decides (True: Current; False or Unknown: InProgress). */
function readyConditionHealth(obj: ClusterObject): Health {
  const ready = conditions(obj).find((c) => c.type === 'Ready' && ['True', 'False', 'Unknown'].includes(c.status));
  if (ready?.status === 'True') return health('Current', obj, 'ready');
  if (ready) return health('InProgress', obj, describeCondition(ready));
  return health('Current', obj, hasStatus(obj) ? 'current' : 'created (no status to wait for)');
}

/**
 * The verdict for a kind without its own rule (custom resources, RBAC,
 * Namespaces, ...): the shared checks, then its Ready condition, then Current.
 * Deletion is {@link assessHealth}'s concern.
 */
export function genericHealth(obj: ClusterObject): Health {
  return sharedChecks(obj) ?? readyConditionHealth(obj);
}

/**
 * The health of `obj` as read from the cluster (`null`/`undefined`: it was not
 * found). Pure apart from the clock, which only the Pod scheduling grace period
 * reads (`options.now` pins it). An object being deleted is Terminating
 * whatever its kind. A user-defined check that matches it (its annotations,
 * `options.checks`) then decides, unless its controller has not observed its
 * generation yet (InProgress). Otherwise one whose `health.trellis.dev/wait-for`
 * annotation its kind does not understand is Unknown, rather than quietly
 * judged by the laxer default.
 */
export function assessHealth(obj: ClusterObject | null | undefined, options: HealthOptions = {}): Health {
  if (obj === null || obj === undefined) return { status: 'NotFound', message: 'object not found' };
  if (typeof obj !== 'object' || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
    return { status: 'Unknown', message: 'not a Kubernetes object (no apiVersion or kind)' };
  }
  const deletion = section(obj, 'metadata').deletionTimestamp;
  if (typeof deletion === 'string' && deletion !== '') return health('Terminating', obj, 'being deleted');
  const user = userHealth(obj, options.checks);
  if (user) {
    // A status about an older spec says nothing, whoever reads it (kstatus or a user's check).
    const stale = staleGeneration(obj);
    return stale ? health('InProgress', obj, stale) : user;
  }
  const problem = waitForProblem(obj);
  if (problem) return health('Unknown', obj, problem);
  const shared = sharedChecks(obj);
  if (shared) return shared;
  const rule = RULES.get(kindKey(obj));
  return rule ? rule(obj, { now: options.now ?? Date.now() }) : readyConditionHealth(obj);
}
