/**
 * The two controller Deployments and their Services. Both run the same image
 * (the Trellis repository on Node 24) with a different entry point, as a
 * non-root user with a read-only root filesystem and no capabilities, with
 * liveness and readiness probes on their health port and resource requests.
 */
import type { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import { CONTROLLER_NODE_OPTIONS } from './node-options.ts';

/** Ports the controllers listen on (their flags' defaults). */
export const PORTS = { metrics: 8080, health: 8081, artifacts: 9090, webhooks: 9292 } as const;

/** A writable emptyDir folder. */
export interface ScratchVolume {
  readonly mountPath: string;
  /** The kubelet evicts the Pod when the folder outgrows this (a full node disk would hurt every Pod on it). */
  readonly sizeLimit: string;
}

/** One controller Deployment. */
export interface ControllerDeployment {
  /** `source-controller` or `apply-controller`: Deployment, ServiceAccount and label. */
  readonly name: string;
  readonly namespace: string;
  readonly image: string;
  readonly replicas: number;
  /** `node <options> <entry>`: the image's bundle, `source-controller.mjs` (options: node-options.ts). */
  readonly entry: string;
  readonly args: readonly string[];
  readonly labels: Record<string, string>;
  readonly ports: readonly k8s.ContainerPort[];
  /** Writable folders (emptyDir), by volume name: where it is mounted and how large it may grow. */
  readonly scratch: Readonly<Record<string, ScratchVolume>>;
  readonly memoryLimit: string;
}

const q = (s: string): k8s.Quantity => k8s.Quantity.fromString(s);

/** The selector labels of a controller's Pods. */
export function podLabels(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'trellis' };
}

/** Adds a controller Deployment. */
export function controllerDeployment(scope: Chart, c: ControllerDeployment): void {
  const selector = podLabels(c.name);
  const probe = (path: string, periodSeconds: number): k8s.Probe => ({
    httpGet: { path, port: k8s.IntOrString.fromString('health') }, periodSeconds, timeoutSeconds: 5, failureThreshold: 3,
  });
  new k8s.KubeDeployment(scope, c.name, {
    metadata: { name: c.name, namespace: c.namespace, labels: { ...c.labels, ...selector } },
    spec: {
      replicas: c.replicas,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...c.labels, ...selector } },
        spec: {
          serviceAccountName: c.name,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          terminationGracePeriodSeconds: 30,
          containers: [{
            name: 'manager',
            image: c.image,
            imagePullPolicy: 'IfNotPresent',
            command: ['node', ...CONTROLLER_NODE_OPTIONS, c.entry],
            args: [...c.args],
            env: [
              { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            ],
            ports: [...c.ports],
            livenessProbe: probe('/healthz', 10),
            readinessProbe: probe('/readyz', 5),
            resources: { requests: { cpu: q('50m'), memory: q('64Mi') }, limits: { memory: q(c.memoryLimit) } },
            securityContext: {
              allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
            },
            volumeMounts: Object.entries(c.scratch).map(([name, v]) => ({ name, mountPath: v.mountPath })),
          }],
          volumes: Object.entries(c.scratch).map(([name, v]) => ({ name, emptyDir: { sizeLimit: q(v.sizeLimit) } })),
        },
      },
    },
  });
}

/**
 * A ClusterIP Service in front of a controller's Pods; `selector` narrows it
 * further (the source controller's selects only the leader's Pod).
 */
export function controllerService(scope: Chart, name: string, namespace: string, labels: Record<string, string>,
  ports: readonly k8s.ServicePort[], selector: Record<string, string> = {}): void {
  new k8s.KubeService(scope, `${name}-service`, {
    metadata: { name, namespace, labels },
    spec: { type: 'ClusterIP', selector: { ...podLabels(name), ...selector }, ports: [...ports] },
  });
}
