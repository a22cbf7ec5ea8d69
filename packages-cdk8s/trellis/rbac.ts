/**
 * Least-privilege RBAC of Trellis's two controllers. Each gets exactly the verbs
 * its reconcilers use on its own kinds, read access where it only reads, event
 * writes, and a namespaced Role for its leader-election Lease. Nothing is bound
 * to `cluster-admin`.
 *
 * What the apply controller may do to the objects Packages hold is not fixed
 * here but grown by the cluster's admins, through two aggregated ClusterRoles
 * (the clusterrole-aggregation controller fills their rules from every
 * ClusterRole carrying their label):
 *
 * - `trellis-apply-watch` (label {@link APPLY_WATCH_LABEL}): list and watch, so the
 *   drift cache sees changes as they happen. Trellis ships
 *   `trellis-apply-watch-defaults` for the common built-in kinds (never Secrets:
 *   a cluster-wide watch of Secrets would be a read of every Secret). A kind
 *   missing here still works; its drift is found at the Package's interval.
 * - `trellis-apply-packages` (label {@link APPLY_PACKAGES_LABEL}): what Packages
 *   without `serviceAccountName` may write, since those are applied as the apply
 *   controller itself. Empty as shipped: such Packages are refused until an admin
 *   grants kinds, or the controller runs with `--default-service-account`.
 *
 * Packages with `serviceAccountName` are applied as that account (impersonation),
 * with whatever its namespace's admins gave it.
 */
import type { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';

/** The label that adds a ClusterRole's rules to `trellis-apply-watch`. */
export const APPLY_WATCH_LABEL = 'trellis.dev/aggregate-to-apply-watch';
/** The label that adds a ClusterRole's rules to `trellis-apply-packages`. */
export const APPLY_PACKAGES_LABEL = 'trellis.dev/aggregate-to-apply-packages';

/** What a controller is allowed, beyond its own Lease. */
export interface ControllerRbac {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly rules: readonly k8s.PolicyRule[];
}

const read = ['get', 'list', 'watch'];
const events: k8s.PolicyRule = { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] };

/**
 * The source controller: its two kinds, the Secrets they reference, events; and
 * the notification kinds it runs (Receivers annotate sources, which `patch`
 * covers; Alerts read the Events the controllers record and the Packages they
 * name, for the revision).
 */
export const SOURCE_CONTROLLER_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: ['source.trellis.dev'], resources: ['gitrepositories', 'ocirepositories'], verbs: [...read, 'patch', 'update'] },
  { apiGroups: ['notification.trellis.dev'], resources: ['receivers', 'alerts', 'providers'], verbs: read },
  { apiGroups: ['notification.trellis.dev'], resources: ['receivers/status', 'alerts/status', 'providers/status'], verbs: ['get', 'patch', 'update'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['list', 'watch'] },
  { apiGroups: ['apply.trellis.dev'], resources: ['packages'], verbs: ['get'] },
  { apiGroups: ['source.trellis.dev'], resources: ['gitrepositories/status', 'ocirepositories/status'], verbs: ['get', 'patch', 'update'] },
  { apiGroups: ['source.trellis.dev'], resources: ['gitrepositories/finalizers', 'ocirepositories/finalizers'], verbs: ['update'] },
  // secretRef / certSecretRef / verify.secretRef are read by name.
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
  events,
];

/** The apply controller: Packages, their revisions, the sources it reads, values, impersonation, events. */
export const APPLY_CONTROLLER_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: ['apply.trellis.dev'], resources: ['packages'], verbs: [...read, 'patch', 'update'] },
  { apiGroups: ['apply.trellis.dev'], resources: ['packages/status'], verbs: ['get', 'patch', 'update'] },
  { apiGroups: ['apply.trellis.dev'], resources: ['packages/finalizers'], verbs: ['update'] },
  { apiGroups: ['apply.trellis.dev'], resources: ['packagerevisions'], verbs: [...read, 'create', 'patch', 'update', 'delete'] },
  { apiGroups: ['apply.trellis.dev'], resources: ['packagerevisions/status'], verbs: ['get', 'patch', 'update'] },
  // A large revision's objects: slices are created once, shared, and deleted by history GC; never changed.
  { apiGroups: ['apply.trellis.dev'], resources: ['revisionslices'], verbs: [...read, 'create', 'delete'] },
  { apiGroups: ['source.trellis.dev'], resources: ['gitrepositories', 'ocirepositories'], verbs: read },
  // valuesFrom, and the namespace a Package lives in.
  { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['get'] },
  { apiGroups: [''], resources: ['namespaces'], verbs: ['get'] },
  // spec.serviceAccountName: apply as that account.
  { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] },
  events,
];

/**
 * The kinds `trellis-apply-watch-defaults` lets the drift cache watch: the
 * built-in kinds packages usually hold, Trellis's own installation included.
 */
export const DEFAULT_WATCHED_KINDS: readonly k8s.PolicyRule[] = [
  { apiGroups: [''], resources: ['configmaps', 'services', 'serviceaccounts', 'namespaces', 'persistentvolumeclaims'], verbs: ['list', 'watch'] },
  { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['list', 'watch'] },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['list', 'watch'] },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'networkpolicies'], verbs: ['list', 'watch'] },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['list', 'watch'] },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['list', 'watch'] },
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'], verbs: ['list', 'watch'] },
  { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['list', 'watch'] },
];

const metadataOf = (c: { namespace: string; labels: Record<string, string> }) => (name: string, namespaced: boolean): k8s.ObjectMeta => ({
  name, labels: c.labels, ...(namespaced ? { namespace: c.namespace } : {}),
});

function clusterRoleBinding(scope: Chart, id: string, meta: k8s.ObjectMeta, role: string, subject: k8s.Subject): void {
  new k8s.KubeClusterRoleBinding(scope, id, {
    metadata: meta,
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [subject],
  });
}

/** ServiceAccount, ClusterRole + binding, and the Lease Role + binding of one controller. */
export function controllerRbac(scope: Chart, c: ControllerRbac): void {
  const metadata = metadataOf(c);
  const subject: k8s.Subject = { kind: 'ServiceAccount', name: c.name, namespace: c.namespace };
  new k8s.KubeServiceAccount(scope, `${c.name}-sa`, { metadata: metadata(c.name, true), automountServiceAccountToken: true });
  new k8s.KubeClusterRole(scope, `${c.name}-clusterrole`, { metadata: metadata(`trellis-${c.name}`, false), rules: [...c.rules] });
  clusterRoleBinding(scope, `${c.name}-clusterrolebinding`, metadata(`trellis-${c.name}`, false), `trellis-${c.name}`, subject);
  new k8s.KubeRole(scope, `${c.name}-leader-election-role`, {
    metadata: metadata(`${c.name}-leader-election`, true),
    rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }],
  });
  new k8s.KubeRoleBinding(scope, `${c.name}-leader-election-binding`, {
    metadata: metadata(`${c.name}-leader-election`, true),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${c.name}-leader-election` },
    subjects: [subject],
  });
}

/**
 * The source controller's leader labels its own Pod and takes the label off
 * the others (see runtime/leader-pod-label.ts): Pods of its own namespace only.
 */
export function artifactLeaderRbac(scope: Chart, namespace: string, labels: Record<string, string>): void {
  const name = 'source-controller-artifact-leader';
  new k8s.KubeRole(scope, `${name}-role`, {
    metadata: { name, namespace, labels },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'patch'] }],
  });
  new k8s.KubeRoleBinding(scope, `${name}-binding`, {
    metadata: { name, namespace, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name: 'source-controller', namespace }],
  });
}

/** The Secret that holds the keys sealing PackageRevisions (apply-controller/revisions/keys.ts). */
export const REVISION_KEY_SECRET = 'trellis-revision-key';

/**
 * The apply controller creates its revision-key Secret in its own namespace on
 * first use and reads it after: that one Secret, nothing else (creation cannot
 * be limited to a name, reading and updating can).
 */
export function revisionKeyRbac(scope: Chart, namespace: string, labels: Record<string, string>): void {
  const name = 'apply-controller-revision-key';
  new k8s.KubeRole(scope, `${name}-role`, {
    metadata: { name, namespace, labels },
    rules: [
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update'], resourceNames: [REVISION_KEY_SECRET] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    ],
  });
  new k8s.KubeRoleBinding(scope, `${name}-binding`, {
    metadata: { name, namespace, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name: 'apply-controller', namespace }],
  });
}

/**
 * The two aggregated ClusterRoles of the apply controller (see the module
 * comment), their bindings, and the shipped watch defaults.
 */
export function applyAggregatedRbac(scope: Chart, namespace: string, labels: Record<string, string>): void {
  const metadata = metadataOf({ namespace, labels });
  const subject: k8s.Subject = { kind: 'ServiceAccount', name: 'apply-controller', namespace };
  const aggregated = (id: string, name: string, label: string, purpose: string): void => {
    new k8s.KubeClusterRole(scope, id, {
      metadata: { ...metadata(name, false), annotations: { 'trellis.dev/purpose': purpose } },
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [label]: 'true' } }] },
    });
    clusterRoleBinding(scope, `${id}-binding`, metadata(name, false), name, subject);
  };
  aggregated('apply-watch', 'trellis-apply-watch', APPLY_WATCH_LABEL,
    `list and watch for the drift cache; add kinds with ClusterRoles labelled ${APPLY_WATCH_LABEL}=true`);
  aggregated('apply-packages', 'trellis-apply-packages', APPLY_PACKAGES_LABEL,
    `what Packages without serviceAccountName may write; add kinds with ClusterRoles labelled ${APPLY_PACKAGES_LABEL}=true`);
  new k8s.KubeClusterRole(scope, 'apply-watch-defaults', {
    metadata: { name: 'trellis-apply-watch-defaults', labels: { ...labels, [APPLY_WATCH_LABEL]: 'true' } },
    rules: [...DEFAULT_WATCHED_KINDS],
  });
}
