/**
 * The scope of Kubernetes' built-in kinds, for validating a bundle without a
 * cluster (`trellis build` in CI). In the cluster the reconciler asks API
 * discovery instead, which also knows aggregated APIs and installed CRDs.
 */
import { groupOf } from './object.ts';

/** Built-in kinds by `group/kind` (core group: `/Kind`): namespaced or not, and the versions served. */
const BUILTIN: ReadonlyMap<string, { readonly namespaced: boolean; readonly versions: readonly string[] }> = (() => {
  const table = new Map<string, { namespaced: boolean; versions: string[] }>();
  const add = (group: string, versions: string[], namespaced: boolean, kinds: string[]): void => {
    for (const kind of kinds) {
      const key = `${group}/${kind}`;
      const prev = table.get(key);
      table.set(key, { namespaced, versions: [...(prev?.versions ?? []), ...versions] });
    }
  };
  add('', ['v1'], true, ['Pod', 'Service', 'ConfigMap', 'Secret', 'ServiceAccount', 'PersistentVolumeClaim', 'Endpoints',
    'Event', 'LimitRange', 'ResourceQuota', 'ReplicationController', 'PodTemplate', 'Binding']);
  add('', ['v1'], false, ['Namespace', 'Node', 'PersistentVolume', 'ComponentStatus']);
  add('apps', ['v1'], true, ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ControllerRevision']);
  add('batch', ['v1'], true, ['Job', 'CronJob']);
  add('batch', ['v1beta1'], true, ['CronJob']);
  add('autoscaling', ['v1', 'v2', 'v2beta1', 'v2beta2'], true, ['HorizontalPodAutoscaler']);
  add('networking.k8s.io', ['v1'], true, ['NetworkPolicy']);
  add('networking.k8s.io', ['v1', 'v1beta1'], true, ['Ingress']);
  add('networking.k8s.io', ['v1', 'v1beta1'], false, ['IngressClass']);
  add('extensions', ['v1beta1'], true, ['Ingress']);
  add('policy', ['v1', 'v1beta1'], true, ['PodDisruptionBudget']);
  add('policy', ['v1beta1'], false, ['PodSecurityPolicy']);
  add('rbac.authorization.k8s.io', ['v1', 'v1beta1'], true, ['Role', 'RoleBinding']);
  add('rbac.authorization.k8s.io', ['v1', 'v1beta1'], false, ['ClusterRole', 'ClusterRoleBinding']);
  add('storage.k8s.io', ['v1', 'v1beta1'], false, ['StorageClass', 'VolumeAttachment', 'CSIDriver', 'CSINode']);
  add('storage.k8s.io', ['v1', 'v1beta1'], true, ['CSIStorageCapacity']);
  add('apiextensions.k8s.io', ['v1', 'v1beta1'], false, ['CustomResourceDefinition']);
  add('admissionregistration.k8s.io', ['v1', 'v1beta1'], false, ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
  add('admissionregistration.k8s.io', ['v1'], false, ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
  add('apiregistration.k8s.io', ['v1', 'v1beta1'], false, ['APIService']);
  add('scheduling.k8s.io', ['v1', 'v1beta1'], false, ['PriorityClass']);
  add('coordination.k8s.io', ['v1', 'v1beta1'], true, ['Lease']);
  add('discovery.k8s.io', ['v1', 'v1beta1'], true, ['EndpointSlice']);
  add('events.k8s.io', ['v1', 'v1beta1'], true, ['Event']);
  add('node.k8s.io', ['v1', 'v1beta1'], false, ['RuntimeClass']);
  add('certificates.k8s.io', ['v1', 'v1beta1'], false, ['CertificateSigningRequest']);
  add('flowcontrol.apiserver.k8s.io', ['v1', 'v1beta3', 'v1beta2', 'v1beta1'], false, ['FlowSchema', 'PriorityLevelConfiguration']);
  return table;
})();

/**
 * Whether a built-in `apiVersion`/`kind` is namespaced; undefined when it is not a
 * built-in kind at that version. Has the signature of the `isNamespaced` that
 * {@link readBundle} takes, so it can stand in for discovery offline.
 */
export function builtinIsNamespaced(apiVersion: string, kind: string): boolean | undefined {
  const slash = apiVersion.lastIndexOf('/');
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const entry = BUILTIN.get(`${groupOf(apiVersion)}/${kind}`);
  return entry?.versions.includes(version) ? entry.namespaced : undefined;
}
