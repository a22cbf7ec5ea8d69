/**
 * The facts `trellis check` reports and `trellis install` relies on, each as a
 * small function returning {@link CheckResult}s: the Kubernetes version and the
 * APIs Trellis needs (by discovery), whether the current user may install
 * (SelfSubjectAccessReview), and whether the controllers' service accounts hold
 * their key rights (SubjectAccessReview).
 */
import type { MonitoringOptions } from '../../packages-cdk8s/trellis/monitoring.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import { isForbidden } from '../../runtime/kube-transport.ts';

/** `ok`: as expected; `warn`: works, but worth a look; `fail`: Trellis will not work (check exits 1). */
export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One line of `trellis check`. */
export interface CheckResult {
  /** What was checked: `kubernetes`, `api apps/v1 Deployment`, `crd packages.apply.trellis.dev`, … */
  readonly name: string;
  readonly status: CheckStatus;
  readonly message: string;
}

/** The oldest Kubernetes minor version Trellis supports. */
export const MIN_KUBERNETES_MINOR = 20;

/**
 * The APIs Trellis uses, all served since Kubernetes 1.19 or earlier and still
 * served by current releases.
 */
export const REQUIRED_APIS: readonly (readonly [string, string])[] = [
  ['apiextensions.k8s.io/v1', 'CustomResourceDefinition'],
  ['apps/v1', 'Deployment'],
  ['rbac.authorization.k8s.io/v1', 'ClusterRole'],
  ['coordination.k8s.io/v1', 'Lease'],
  ['networking.k8s.io/v1', 'NetworkPolicy'],
  ['events.k8s.io/v1', 'Event'],
  ['authorization.k8s.io/v1', 'SelfSubjectAccessReview'],
];

interface VersionInfo { major?: string; minor?: string; gitVersion?: string }

/** The apiserver's version, and whether Trellis supports it. */
export async function checkKubernetesVersion(client: KubeClient): Promise<CheckResult> {
  const v = await client.raw<VersionInfo>('discovery', 'GET', '/version');
  const minor = Number.parseInt(v.minor ?? '', 10);
  const name = 'kubernetes';
  if (v.major !== '1' || !Number.isFinite(minor)) return { name, status: 'warn', message: `unrecognized version ${v.gitVersion ?? JSON.stringify(v)}` };
  if (minor < MIN_KUBERNETES_MINOR) {
    return { name, status: 'fail', message: `${v.gitVersion ?? `1.${minor}`}: Trellis needs Kubernetes 1.${MIN_KUBERNETES_MINOR} or newer` };
  }
  return { name, status: 'ok', message: `${v.gitVersion ?? `1.${minor}`} (1.${MIN_KUBERNETES_MINOR} or newer is supported)` };
}

/** One result per required API: served or not. */
export async function checkRequiredApis(client: KubeClient): Promise<CheckResult[]> {
  return Promise.all(REQUIRED_APIS.map(async ([apiVersion, kind]) => {
    const served = await client.serves(apiVersion, kind);
    return { name: `api ${apiVersion} ${kind}`, status: served ? 'ok' : 'fail', message: served ? 'served' : 'not served by this cluster' } as const;
  }));
}

/** The API of prometheus-operator's PrometheusRule, which `--monitoring rules` writes. */
export const PROMETHEUS_RULE_API = ['monitoring.coreos.com/v1', 'PrometheusRule'] as const;

/** The CRD that serves {@link PROMETHEUS_RULE_API}. */
export const PROMETHEUS_RULE_CRD = 'prometheusrules.monitoring.coreos.com';

/**
 * Whether the cluster serves what the chosen monitoring objects need (by
 * discovery): the PrometheusRule's CRD, when the rules are asked for. The
 * dashboard is a ConfigMap and needs nothing.
 */
export async function checkMonitoringApis(client: KubeClient, monitoring: MonitoringOptions): Promise<CheckResult[]> {
  if (!monitoring.prometheusRule) return [];
  const [apiVersion, kind] = PROMETHEUS_RULE_API;
  const name = `crd ${PROMETHEUS_RULE_CRD}`;
  if (await client.serves(apiVersion, kind)) return [{ name, status: 'ok', message: `served (${apiVersion} ${kind})` }];
  return [{
    name, status: 'fail',
    message: `not installed: the alert rules are a ${kind} (${apiVersion}), whose CRD comes with prometheus-operator. `
      + 'Install prometheus-operator (or its CRDs) first, or ask for the dashboard only with --monitoring dashboard',
  }];
}

/** A right to check: verb on group/resource, optionally in a namespace. */
export interface Right {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly namespace?: string;
  /** Missing it is a warning only (there is another way). */
  readonly optional?: string;
}

/** What installing Trellis writes, so what the installer must be allowed (with the monitoring objects asked for). */
export function installRights(namespace: string, monitoring?: MonitoringOptions): Right[] {
  // list and delete: an upgrade deletes what the older version had and this one has not.
  const verbs = ['create', 'patch', 'get', 'list', 'delete'];
  const cluster = (group: string, resource: string): Right[] => verbs.map((verb) => ({ verb, group, resource }));
  const inNs = (group: string, resource: string): Right[] => verbs.map((verb) => ({ verb, group, resource, namespace }));
  return [
    ...cluster('apiextensions.k8s.io', 'customresourcedefinitions'),
    ...cluster('', 'namespaces'),
    ...cluster('rbac.authorization.k8s.io', 'clusterroles'),
    ...cluster('rbac.authorization.k8s.io', 'clusterrolebindings'),
    ...inNs('rbac.authorization.k8s.io', 'roles'),
    ...inNs('rbac.authorization.k8s.io', 'rolebindings'),
    ...inNs('', 'serviceaccounts'),
    ...inNs('apps', 'deployments'),
    ...inNs('', 'services'),
    ...inNs('networking.k8s.io', 'networkpolicies'),
    // The dashboard is a ConfigMap; without it, an install still lists and deletes the one an earlier --monitoring wrote.
    ...inNs('', 'configmaps'),
    ...monitoring?.prometheusRule ? inNs('monitoring.coreos.com', 'prometheusrules') : [],
    // Granting rights one does not hold needs escalate (or holding them all, as cluster-admin does).
    { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', optional: 'without it you must hold every right the Trellis ClusterRoles grant' },
  ];
}

interface AccessReview { status?: { allowed?: boolean } }

/** Creates a (Self)SubjectAccessReview: a nameless object the typed client cannot address. */
function accessReview(client: KubeClient, resource: 'selfsubjectaccessreviews' | 'subjectaccessreviews', spec: unknown): Promise<AccessReview> {
  const kind = resource === 'selfsubjectaccessreviews' ? 'SelfSubjectAccessReview' : 'SubjectAccessReview';
  return client.raw<AccessReview>('create', 'POST', `/apis/authorization.k8s.io/v1/${resource}`,
    { apiVersion: 'authorization.k8s.io/v1', kind, spec });
}

const describeRight = (r: Right): string =>
  `${r.verb} ${r.resource}${r.group ? `.${r.group}` : ''}${r.namespace ? ` in ${r.namespace}` : ''}`;

/** Asks the apiserver whether the current user holds each right (SelfSubjectAccessReview). */
export async function checkOwnRights(client: KubeClient, rights: readonly Right[]): Promise<CheckResult[]> {
  return Promise.all(rights.map(async (r) => {
    const review = await accessReview(client, 'selfsubjectaccessreviews', {
      resourceAttributes: { verb: r.verb, group: r.group, resource: r.resource, ...(r.namespace ? { namespace: r.namespace } : {}) },
    });
    const allowed = review.status?.allowed === true;
    const status = allowed ? 'ok' : r.optional ? 'warn' : 'fail';
    return { name: `rbac ${describeRight(r)}`, status, message: allowed ? 'allowed' : `denied${r.optional ? ` (${r.optional})` : ''}` } as const;
  }));
}

/**
 * Whether a controller's service account holds `rights` (SubjectAccessReview,
 * which needs `create subjectaccessreviews`: an admin's check). A user who may
 * not ask gets one warning instead.
 */
export async function checkAccountRights(client: KubeClient, namespace: string, account: string,
  rights: readonly Right[]): Promise<CheckResult[]> {
  const user = `system:serviceaccount:${namespace}:${account}`;
  try {
    return await Promise.all(rights.map(async (r) => {
      const review = await accessReview(client, 'subjectaccessreviews', {
        user, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
        resourceAttributes: { verb: r.verb, group: r.group, resource: r.resource, ...(r.namespace ? { namespace: r.namespace } : {}) },
      });
      const allowed = review.status?.allowed === true;
      return { name: `rbac ${account}: ${describeRight(r)}`, status: allowed ? 'ok' : 'fail', message: allowed ? 'allowed' : 'denied' } as const;
    }));
  } catch (err) {
    if (!isForbidden(err)) throw err;
    return [{ name: `rbac ${account}`, status: 'warn', message: 'not checked: you may not create SubjectAccessReviews' }];
  }
}

/** The rights each controller cannot work without (a sample of its ClusterRole, and its Lease). */
export function controllerRights(namespace: string): Record<'source-controller' | 'apply-controller', Right[]> {
  const lease: Right[] = [{ verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace }];
  return {
    'source-controller': [
      { verb: 'watch', group: 'source.trellis.dev', resource: 'ocirepositories' },
      { verb: 'patch', group: 'source.trellis.dev', resource: 'ocirepositories/status' },
      ...lease,
    ],
    'apply-controller': [
      { verb: 'watch', group: 'apply.trellis.dev', resource: 'packages' },
      { verb: 'create', group: 'apply.trellis.dev', resource: 'packagerevisions' },
      { verb: 'impersonate', group: '', resource: 'serviceaccounts' },
      ...lease,
    ],
  };
}
