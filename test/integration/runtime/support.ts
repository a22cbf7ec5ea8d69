/**
 * Helpers for the runtime integration tests: a runtime KubeClient for the test
 * cluster, and a throwaway CRD with a status subresource (ConfigMaps have no
 * generation and no status, so status-only behaviour needs a custom kind).
 */
import { randomBytes } from 'node:crypto';
import type { ExecutionContext } from 'ava';
import { KubeClient, type KubeClientOptions } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { eventually, type TestCluster } from '../../support/cluster.ts';

/** Waits until `condition` holds (polling every `intervalMs`), failing after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 30_000, intervalMs = 50): Promise<void> {
  await eventually(() => Promise.resolve(condition()), timeoutMs, intervalMs);
}

/** A runtime client for the test cluster (admin). */
export function adminClient(cluster: TestCluster, options: KubeClientOptions = {}): KubeClient {
  const client = new KubeClient(cluster.kubeConfig, { qps: 0, ...options });
  return client;
}

/** A Widget: a namespaced test kind with spec, status and a status subresource. */
export interface Widget extends KubeObject {
  spec?: { size?: number };
  status?: { observed?: number; note?: string };
}

/** The apiVersion/kind of a test CRD made by {@link createWidgetCrd}. */
export interface WidgetType {
  readonly apiVersion: string;
  readonly kind: 'Widget';
}

/**
 * Creates a CRD with a unique group (so parallel tests do not share it),
 * waits until it is Established and served, and deletes it when the test ends.
 */
export async function createWidgetCrd(t: ExecutionContext, client: KubeClient): Promise<WidgetType> {
  const group = `w${randomBytes(4).toString('hex')}.runtime.test.trellis.dev`;
  const name = `widgets.${group}`;
  const ref = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name };
  await client.create({
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name },
    spec: {
      group, scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [{
        name: 'v1', served: true, storage: true, subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', properties: { size: { type: 'integer' } } },
              status: { type: 'object', properties: { observed: { type: 'integer' }, note: { type: 'string' } } },
            },
          },
        },
      }],
    },
  });
  t.teardown(async () => { await client.delete(ref).catch(() => undefined); });
  const type: WidgetType = { apiVersion: `${group}/v1`, kind: 'Widget' };
  await eventually(async () => {
    const crd = await client.get<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>(ref);
    const established = crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    return established && await client.serves(type.apiVersion, type.kind);
  }, 30_000);
  return type;
}
