/**
 * The order in which a bundle is applied: stages, each applied and then waited
 * for before the next.
 *
 * The rule:
 * 1. Phases run in the order package.yaml declares them. Objects without the
 *    `apply.trellis.dev/phase` annotation belong to the phase `default`, which
 *    runs last unless package.yaml lists `default` somewhere else. A plain folder
 *    has only `default`.
 * 2. Within a phase, its CustomResourceDefinitions and Namespaces form a stage of
 *    their own that comes first (Namespaces, then CRDs), so that everything after
 *    them can be created in a namespace that exists and of a kind that is served
 *    (the CRDs are waited for until Established). In the first phase this makes
 *    them the very first stage of the apply.
 * 3. The other objects of the phase form the next stage, sorted by kind rank
 *    ({@link KIND_ORDER}: what others depend on first, workloads after their
 *    configuration, webhooks last), then in bundle order (files by path, then
 *    document order) for equal ranks. Kinds not in the list rank after it but
 *    before the webhook configurations.
 * 4. Phases and stages without objects are left out.
 */
import { DEFAULT_PHASE, PHASE_ANNOTATION } from './format.ts';
import { groupOf, type BundleObject } from './object.ts';

/** One step of an apply: its objects are applied together, then waited for. */
export interface Stage {
  /** The phase the stage belongs to. */
  readonly phase: string;
  /** True for the stage of a phase's CRDs and Namespaces. */
  readonly definitions: boolean;
  readonly objects: readonly BundleObject[];
}

/** Kinds in apply order, as `group/Kind` (core group: `/Kind`). */
export const KIND_ORDER: readonly string[] = [
  '/Namespace',
  'apiextensions.k8s.io/CustomResourceDefinition',
  '/ResourceQuota',
  '/LimitRange',
  'policy/PodSecurityPolicy',
  'scheduling.k8s.io/PriorityClass',
  'networking.k8s.io/NetworkPolicy',
  'policy/PodDisruptionBudget',
  '/ServiceAccount',
  '/Secret',
  '/ConfigMap',
  'storage.k8s.io/StorageClass',
  '/PersistentVolume',
  '/PersistentVolumeClaim',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'rbac.authorization.k8s.io/Role',
  'rbac.authorization.k8s.io/RoleBinding',
  '/Service',
  'apps/DaemonSet',
  '/Pod',
  '/ReplicationController',
  'apps/ReplicaSet',
  'apps/Deployment',
  'autoscaling/HorizontalPodAutoscaler',
  'apps/StatefulSet',
  'batch/Job',
  'batch/CronJob',
  'networking.k8s.io/IngressClass',
  'networking.k8s.io/Ingress',
  'extensions/Ingress',
  'apiregistration.k8s.io/APIService',
];

/**
 * Admission webhooks rank after every other kind: registered before the Service
 * and Deployment behind them are up, they would reject the rest of the stage.
 */
const LAST_KINDS: readonly string[] = [
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
];

const DEFINITION_KINDS = new Set(['/Namespace', 'apiextensions.k8s.io/CustomResourceDefinition']);

function kindKey(obj: BundleObject): string {
  return `${groupOf(obj.object.apiVersion)}/${obj.object.kind}`;
}

/** The rank of an object's kind in {@link KIND_ORDER}; lower applies first. */
export function kindRank(obj: BundleObject): number {
  const key = kindKey(obj);
  const known = KIND_ORDER.indexOf(key);
  if (known >= 0) return known;
  const last = LAST_KINDS.indexOf(key);
  return last >= 0 ? KIND_ORDER.length + 1 + last : KIND_ORDER.length;
}

/** The phase an object names, or `default`. */
export function phaseOf(obj: BundleObject): string {
  const phase = obj.object.metadata.annotations?.[PHASE_ANNOTATION];
  return typeof phase === 'string' ? phase : DEFAULT_PHASE;
}

/** The phases in apply order: the declared ones, with `default` last unless declared. */
export function phaseSequence(declared: readonly string[]): string[] {
  return declared.includes(DEFAULT_PHASE) ? [...declared] : [...declared, DEFAULT_PHASE];
}

/**
 * Groups validated objects into stages by the rule above. `declared` is the phase
 * list of package.yaml (empty for a plain folder). Objects naming an undeclared
 * phase must have been rejected by validation; they are placed in `default`.
 */
export function orderStages(objects: readonly BundleObject[], declared: readonly string[] = []): Stage[] {
  const sequence = phaseSequence(declared);
  const byPhase = new Map<string, BundleObject[]>(sequence.map((p) => [p, []]));
  for (const obj of objects) {
    const list = byPhase.get(phaseOf(obj)) ?? byPhase.get(DEFAULT_PHASE);
    list?.push(obj);
  }
  const stages: Stage[] = [];
  for (const phase of sequence) {
    // Array.prototype.sort is stable: equal ranks keep bundle order.
    const sorted = [...(byPhase.get(phase) ?? [])].sort((a, b) => kindRank(a) - kindRank(b));
    const definitions = sorted.filter((o) => DEFINITION_KINDS.has(kindKey(o)));
    const rest = sorted.filter((o) => !DEFINITION_KINDS.has(kindKey(o)));
    if (definitions.length > 0) stages.push({ phase, definitions: true, objects: definitions });
    if (rest.length > 0) stages.push({ phase, definitions: false, objects: rest });
  }
  return stages;
}
