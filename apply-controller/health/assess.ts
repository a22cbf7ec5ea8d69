/**
 * `assessHealth`: the kstatus-style health of one object as read from the
 * cluster, a pure function of that object. Kinds with known controllers get their
 * own rules; everything else follows the generic contract (observedGeneration,
 * Stalled/Reconciling/Ready/Available conditions), and an object with no status
 * at all (ConfigMap, Secret, RBAC) is Current as soon as it exists.
 */
import { crdHealth, jobHealth, namespaceHealth, podHealth, pvcHealth, serviceHealth } from './core.ts';
import { condition, describeCondition, hasStatus, health, section, staleGeneration, type ClusterObject, type Health } from './status.ts';
import { daemonSetHealth, deploymentHealth, replicaSetHealth, statefulSetHealth } from './workloads.ts';

type Rule = (obj: ClusterObject) => Health;

/** Rules by `group/Kind` (core group: `/Kind`). */
const RULES: ReadonlyMap<string, Rule> = new Map<string, Rule>([
  ['apps/Deployment', deploymentHealth],
  ['apps/StatefulSet', statefulSetHealth],
  ['apps/DaemonSet', daemonSetHealth],
  ['apps/ReplicaSet', replicaSetHealth],
  ['batch/Job', jobHealth],
  ['/Pod', podHealth],
  ['/PersistentVolumeClaim', pvcHealth],
  ['/Service', serviceHealth],
  ['/Namespace', namespaceHealth],
  ['apiextensions.k8s.io/CustomResourceDefinition', crdHealth],
]);

/**
 * The generic contract for any other kind: InProgress while observedGeneration
 * (when present) lags generation; then Failed when Stalled is True; InProgress
 * while Reconciling is True or a Ready/Available condition is present and not
 * True; otherwise Current.
 */
export function genericHealth(obj: ClusterObject): Health {
  if (!hasStatus(obj)) return health('Current', obj, 'created (no status to wait for)');
  // A stale status describes an older spec: its conditions (even Stalled) no longer apply.
  const stale = staleGeneration(obj, false);
  if (stale) return health('InProgress', obj, stale);
  const stalled = condition(obj, 'Stalled');
  if (stalled?.status === 'True') return health('Failed', obj, describeCondition(stalled));
  const reconciling = condition(obj, 'Reconciling');
  if (reconciling?.status === 'True') return health('InProgress', obj, describeCondition(reconciling));
  for (const type of ['Ready', 'Available']) {
    const c = condition(obj, type);
    if (c && c.status !== 'True') return health('InProgress', obj, describeCondition(c));
  }
  return health('Current', obj, condition(obj, 'Ready') ? 'ready' : 'current');
}

/**
 * The health of `obj` as read from the cluster (`null`/`undefined`: it was not
 * found). An object being deleted is Terminating whatever its kind.
 */
export function assessHealth(obj: ClusterObject | null | undefined): Health {
  if (obj === null || obj === undefined) return { status: 'NotFound', message: 'object not found' };
  if (typeof obj !== 'object' || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
    return { status: 'Unknown', message: 'not a Kubernetes object (no apiVersion or kind)' };
  }
  if (section(obj, 'metadata').deletionTimestamp !== undefined) return health('Terminating', obj, 'being deleted');
  const slash = obj.apiVersion.lastIndexOf('/');
  const group = slash < 0 ? '' : obj.apiVersion.slice(0, slash);
  const rule = RULES.get(`${group}/${obj.kind}`) ?? genericHealth;
  return rule(obj);
}
