/**
 * Least-privilege RBAC of Trellis's two controllers: each gets exactly the verbs
 * its reconcilers use on its own kinds, read access where it only reads, event
 * writes, and a namespaced Role for its leader-election Lease.
 *
 * The one broad grant is deliberate and separate: Packages without
 * `serviceAccountName` are applied as the apply controller itself, and a package
 * may contain anything (RBAC objects included, which the apiserver only lets an
 * identity create if it holds those rights), so that identity is bound to
 * `cluster-admin` by its own ClusterRoleBinding (`trellis-apply-controller-packages`).
 * Multi-tenant clusters delete that binding and run the controller with
 * `--default-service-account`, so every Package applies as an account of its own
 * namespace.
 */
import type { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';

/** What a controller is allowed, beyond its own Lease. */
export interface ControllerRbac {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly rules: readonly k8s.PolicyRule[];
}

const read = ['get', 'list', 'watch'];
const events: k8s.PolicyRule = { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] };

/** The source controller: its two kinds, the Secrets they reference, events. */
export const SOURCE_CONTROLLER_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: ['source.trellis.dev'], resources: ['gitrepositories', 'ocirepositories'], verbs: [...read, 'patch', 'update'] },
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

/** ServiceAccount, ClusterRole + binding, and the Lease Role + binding of one controller. */
export function controllerRbac(scope: Chart, c: ControllerRbac): void {
  const metadata = (name: string, namespaced: boolean): k8s.ObjectMeta => ({
    name, labels: c.labels, ...(namespaced ? { namespace: c.namespace } : {}),
  });
  const subject: k8s.Subject = { kind: 'ServiceAccount', name: c.name, namespace: c.namespace };
  new k8s.KubeServiceAccount(scope, `${c.name}-sa`, { metadata: metadata(c.name, true), automountServiceAccountToken: true });
  new k8s.KubeClusterRole(scope, `${c.name}-clusterrole`, { metadata: metadata(`trellis-${c.name}`, false), rules: [...c.rules] });
  new k8s.KubeClusterRoleBinding(scope, `${c.name}-clusterrolebinding`, {
    metadata: metadata(`trellis-${c.name}`, false),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `trellis-${c.name}` },
    subjects: [subject],
  });
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

/** The binding that lets Packages without serviceAccountName install anything (see the module comment). */
export function packageApplierBinding(scope: Chart, namespace: string, labels: Record<string, string>): void {
  new k8s.KubeClusterRoleBinding(scope, 'apply-controller-packages', {
    metadata: {
      name: 'trellis-apply-controller-packages', labels,
      annotations: { 'trellis.dev/purpose': 'identity of Packages without serviceAccountName; delete it and use --default-service-account on multi-tenant clusters' },
    },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: 'apply-controller', namespace }],
  });
}
