/**
 * Helpers for the apply-engine integration tests: a runtime client for the test
 * cluster and small builders of the objects the tests apply.
 */
import { randomBytes } from 'node:crypto';
import { KubeClient } from '../../../runtime/kube.ts';
import type { DesiredObject } from '../../../apply-controller/ssa/index.ts';
import type { TestCluster } from '../../support/cluster.ts';

/** An admin client without client-side rate limiting. */
export function client(cluster: TestCluster): KubeClient {
  return new KubeClient(cluster.kubeConfig, { qps: 0 });
}

/** A ConfigMap. */
export function configMap(namespace: string, name: string, data: Record<string, string>): DesiredObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

/** A ClusterIP Service selecting `app: <selector>`. */
export function service(namespace: string, name: string, port = 80, selector = name): DesiredObject {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace },
    spec: { selector: { app: selector }, ports: [{ name: 'http', port, targetPort: port }] },
  };
}

/** Options of {@link deployment}. */
export interface DeploymentShape {
  readonly image?: string;
  readonly replicas?: number;
  /** The value of the `app` label in selector and template (default: the name). */
  readonly app?: string;
  readonly progressDeadlineSeconds?: number;
}

/** A Deployment of one container. */
export function deployment(namespace: string, name: string, shape: DeploymentShape = {}): DesiredObject {
  const app = shape.app ?? name;
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace },
    spec: {
      replicas: shape.replicas ?? 1,
      ...(shape.progressDeadlineSeconds === undefined ? {} : { progressDeadlineSeconds: shape.progressDeadlineSeconds }),
      selector: { matchLabels: { app } },
      template: { metadata: { labels: { app } }, spec: { containers: [{ name: 'main', image: shape.image ?? 'nginx:1.25' }] } },
    },
  };
}

/** A namespaced CRD with a unique group (parallel tests never share one), and its kind's apiVersion. */
export function gadgetCrd(): { crd: DesiredObject; apiVersion: string; kind: string; name: string } {
  const group = `g${randomBytes(4).toString('hex')}.ssa.test.trellis.dev`;
  const name = `gadgets.${group}`;
  return {
    name, apiVersion: `${group}/v1`, kind: 'Gadget',
    crd: {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name },
      spec: {
        group, scope: 'Namespaced',
        names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', listKind: 'GadgetList' },
        versions: [{
          name: 'v1', served: true, storage: true,
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } },
        }],
      },
    },
  };
}
