/**
 * Trellis's own installation as a Trellis package: the CRDs (from the same API
 * definitions `npm run crds` writes to crds/) and the namespace in phase `crds`;
 * service accounts, least-privilege RBAC, both controller Deployments, their
 * Services (the webhook receiver's too), and a NetworkPolicy that lets only the
 * apply controller reach the artifact server in phase `controllers`.
 */
import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import { packageResource, packageRevisionResource, revisionSliceResource } from '../../apply-controller/api.ts';
import { gitRepositoryResource, ociRepositoryResource } from '../../source-controller/api.ts';
import { alertResource, providerResource, receiverResource } from '../../source-controller/notification/api.ts';
import { definePackage, value, type PackageDefinition } from '../kit/index.ts';
import { controllerDeployment, controllerService, PORTS, podLabels } from './controllers.ts';
import { monitoringObjects, type MonitoringOptions } from './monitoring.ts';
import { ARTIFACT_SERVER_LABEL, LEADER_LABEL_VALUE } from '../../runtime/leader-pod-label.ts';
import { APPLY_CONTROLLER_RULES, applyAggregatedRbac, artifactLeaderRbac, controllerRbac, revisionKeyRbac, SOURCE_CONTROLLER_RULES } from './rbac.ts';
import { DEFAULT_IMAGE, TRELLIS_VERSION } from './version.ts';

/** The namespace Trellis runs in unless the `namespace` value says otherwise. */
export const TRELLIS_NAMESPACE = 'trellis-system';

/** The label every object of the installation carries (uninstall and check find them by it). */
export const TRELLIS_PART_OF = { 'app.kubernetes.io/part-of': 'trellis' } as const;

const labels = { ...TRELLIS_PART_OF, 'app.kubernetes.io/managed-by': 'trellis' };
const resources = [
  gitRepositoryResource, ociRepositoryResource, packageResource, packageRevisionResource, revisionSliceResource,
  receiverResource, providerResource, alertResource,
];

/** What {@link trellisPackage} may change from the shipped definition. */
export interface TrellisPackageOptions {
  /** The default of the `image` value (the bundle `trellis bootstrap` pushes carries its image). */
  readonly image?: string;
  /** The package version (default: this checkout's). */
  readonly version?: string;
  /**
   * The Grafana dashboard and the alert rules (docs/metrics.md), chosen when the
   * package is built: objects cannot depend on values (the kit forbids it).
   * Default: neither.
   */
  readonly monitoring?: MonitoringOptions;
}

/** The values of the installation package. */
const shape = (image: string) => ({
  image: value.string({ default: image, minLength: 1, description: 'Image of both controllers' }),
  namespace: value.string({
    default: TRELLIS_NAMESPACE, minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
    description: 'Namespace of the controllers',
  }),
  logLevel: value.enum(['debug', 'info', 'warn', 'error'], { default: 'info', description: 'Log level of both controllers' }),
  sourceController: value.object({
    replicas: value.integer({ default: 1, minimum: 0, maximum: 3, description: 'Replicas (leader election picks one)' }),
  }),
  applyController: value.object({
    replicas: value.integer({ default: 1, minimum: 0, maximum: 3, description: 'Replicas (leader election picks one)' }),
  }),
});

/**
 * Trellis's installation as a package definition; the default export is the
 * shipped one. `trellis install` synthesizes it, `trellis bootstrap` pushes it.
 */
export function trellisPackage(options: TrellisPackageOptions = {}): PackageDefinition<ReturnType<typeof shape>> {
  return definePackage({
    name: 'trellis',
    version: options.version ?? TRELLIS_VERSION,
    description: 'Trellis: the source and apply controllers, their CRDs and RBAC',
    values: shape(options.image ?? DEFAULT_IMAGE),
    build(app, values) {
      const crds = app.phase('crds');
      const controllers = app.phase('controllers', { after: [crds] });
      const ns = values.namespace;

      new k8s.KubeNamespace(crds, 'namespace', { metadata: { name: ns, labels } });
      for (const resource of resources) {
        const crd = resource.crd();
        new ApiObject(crds, crd.metadata.name, { ...crd, metadata: { ...crd.metadata, labels: { ...crd.metadata.labels, ...labels } } });
      }

      controllerRbac(controllers, { name: 'source-controller', namespace: ns, labels, rules: SOURCE_CONTROLLER_RULES });
      controllerRbac(controllers, { name: 'apply-controller', namespace: ns, labels, rules: APPLY_CONTROLLER_RULES });
      applyAggregatedRbac(controllers, ns, labels);
      artifactLeaderRbac(controllers, ns, labels);
      revisionKeyRbac(controllers, ns, labels);

      const common = ['--leader-elect', `--log-level=${values.logLevel}`, `--metrics-addr=:${PORTS.metrics}`, `--health-addr=:${PORTS.health}`];
      const port = (name: string, containerPort: number): k8s.ContainerPort => ({ name, containerPort, protocol: 'TCP' });
      controllerDeployment(controllers, {
        name: 'source-controller', namespace: ns, image: values.image, replicas: values.sourceController.replicas, labels,
        entry: 'source-controller.mjs',
        args: [...common, '--storage-path=/data', `--artifact-addr=:${PORTS.artifacts}`,
          `--storage-adv-addr=source-controller.${ns}.svc.cluster.local`, `--receiver-addr=:${PORTS.webhooks}`],
        ports: [port('artifacts', PORTS.artifacts), port('metrics', PORTS.metrics), port('health', PORTS.health), port('webhooks', PORTS.webhooks)],
        scratch: { data: { mountPath: '/data', sizeLimit: '2Gi' }, tmp: { mountPath: '/tmp', sizeLimit: '256Mi' } },
        memoryLimit: '512Mi',
      });
      controllerDeployment(controllers, {
        name: 'apply-controller', namespace: ns, image: values.image, replicas: values.applyController.replicas, labels,
        entry: 'apply-controller.mjs',
        args: [...common, '--artifact-cache-dir=/tmp/artifacts'],
        ports: [port('metrics', PORTS.metrics), port('health', PORTS.health)],
        scratch: { tmp: { mountPath: '/tmp', sizeLimit: '1Gi' } },
        memoryLimit: '1Gi',
      });

      const servicePort = (name: string, p: number, target: string): k8s.ServicePort => ({
        name, port: p, targetPort: k8s.IntOrString.fromString(target), protocol: 'TCP',
      });
      controllerService(controllers, 'source-controller', ns, labels,
        // Only the leader builds artifacts, on its own disk: the Service routes to it alone (docs/install.md, High availability).
        [servicePort('http', 80, 'artifacts'), servicePort('metrics', PORTS.metrics, 'metrics')], { [ARTIFACT_SERVER_LABEL]: LEADER_LABEL_VALUE });
      controllerService(controllers, 'apply-controller', ns, labels, [servicePort('metrics', PORTS.metrics, 'metrics')]);
      if (options.monitoring) monitoringObjects(controllers, ns, labels, options.monitoring);
      // Webhooks (Receivers) are served by the leader, which holds the Receivers' table: expose this Service
      // through an Ingress or a LoadBalancer of your own (docs/notifications.md).
      new k8s.KubeService(controllers, 'webhook-receiver-service', {
        metadata: { name: 'webhook-receiver', namespace: ns, labels },
        spec: {
          type: 'ClusterIP', selector: { ...podLabels('source-controller'), [ARTIFACT_SERVER_LABEL]: LEADER_LABEL_VALUE },
          ports: [servicePort('http', 80, 'webhooks')],
        },
      });

      // Artifacts are what the cluster will apply: only the apply controller may fetch them.
      // Metrics and health stay reachable (scrapers, kubelet probes), and webhooks (senders outside the cluster).
      new k8s.KubeNetworkPolicy(controllers, 'source-controller-ingress', {
        metadata: { name: 'source-controller-ingress', namespace: ns, labels },
        spec: {
          podSelector: { matchLabels: podLabels('source-controller') },
          policyTypes: ['Ingress'],
          ingress: [
            {
              from: [{ podSelector: { matchLabels: podLabels('apply-controller') } }],
              ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(PORTS.artifacts) }],
            },
            {
              ports: [
                { protocol: 'TCP', port: k8s.IntOrString.fromNumber(PORTS.metrics) },
                { protocol: 'TCP', port: k8s.IntOrString.fromNumber(PORTS.health) },
                { protocol: 'TCP', port: k8s.IntOrString.fromNumber(PORTS.webhooks) },
              ],
            },
          ],
        },
      });
    },
  });
}

export default trellisPackage();
