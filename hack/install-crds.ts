/**
 * Installs Trellis's CRDs into a cluster and waits until each is Established.
 * Server-side apply makes it idempotent: applying unchanged CRDs writes nothing new.
 * The objects go through runtime/kube.ts as plain JSON — client-node's typed
 * serializer would drop `enum`, `default` and `x-kubernetes-preserve-unknown-fields`.
 */
import type { KubeClient } from '../runtime/kube.ts';
import type { KubeObject } from '../runtime/object.ts';
import { trellisCrds } from './generate-crds.ts';
import { waitFor } from './lib/processes.ts';

/** Options for {@link installCrds}. */
export interface InstallCrdsOptions {
  readonly fieldManager?: string;
  readonly timeoutMs?: number;
}

interface CrdStatus extends KubeObject {
  readonly status?: { readonly conditions?: readonly { readonly type: string; readonly status: string }[] };
}

/** Applies every Trellis CRD and resolves once all are Established. */
export async function installCrds(client: KubeClient, opts: InstallCrdsOptions = {}): Promise<void> {
  const crds = trellisCrds();
  for (const crd of crds) await client.apply(crd, { fieldManager: opts.fieldManager ?? 'trellis', force: true });
  for (const crd of crds) {
    await waitFor(`CRD ${crd.metadata.name} to be Established`, async () => {
      const live = await client.get<CrdStatus>({
        apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: crd.metadata.name,
      });
      return live?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
    }, { timeoutMs: opts.timeoutMs ?? 30_000 });
  }
}
