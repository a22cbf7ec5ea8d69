/**
 * Whether the controllers' Deployments have rolled out, by the kstatus rules
 * for Deployments: the controller saw the latest spec, every desired replica
 * exists, runs the latest template and is available, and no old replica is
 * left. Pods run only where a kubelet runs them: on a cluster without nodes a
 * Deployment stays "not ready" and `--wait` says so when its time is up.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient } from '../../runtime/kube.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { WaitTimeoutError } from '../package/errors.ts';

/** The controllers' Deployment names. */
export const CONTROLLER_DEPLOYMENTS = ['source-controller', 'apply-controller'] as const;

interface Deployment extends KubeObject {
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number; replicas?: number; updatedReplicas?: number; readyReplicas?: number; availableReplicas?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

/** A Deployment's rollout state. */
export interface RolloutState {
  readonly name: string;
  readonly ready: boolean;
  /** `2/2 available`, or what is still missing. */
  readonly message: string;
}

/** The rollout state of one Deployment (undefined: it does not exist). */
export function rolloutState(name: string, d: Deployment | undefined): RolloutState {
  if (!d) return { name, ready: false, message: 'not found' };
  const desired = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  const n = (v: number | undefined): number => v ?? 0;
  const waiting = (message: string): RolloutState => ({ name, ready: false, message });
  if ((s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return waiting('the Deployment controller has not seen the latest spec');
  const deadline = s.conditions?.find((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
  if (deadline) return waiting(`progress deadline exceeded: ${deadline.message ?? ''}`.trim());
  if (n(s.updatedReplicas) < desired) return waiting(`${n(s.updatedReplicas)}/${desired} replicas updated`);
  if (n(s.replicas) > desired) return waiting(`${n(s.replicas) - desired} old replicas pending termination`);
  if (n(s.availableReplicas) < desired) return waiting(`${n(s.availableReplicas)}/${desired} replicas available`);
  return { name, ready: true, message: `${n(s.availableReplicas)}/${desired} replicas available` };
}

/** Reads the controllers' Deployments once. */
export async function readRollout(client: KubeClient, namespace: string): Promise<RolloutState[]> {
  return Promise.all(CONTROLLER_DEPLOYMENTS.map(async (name) =>
    rolloutState(name, await client.get<Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name }))));
}

/**
 * Polls until both Deployments rolled out; throws WaitTimeoutError naming the
 * ones that did not, and why, when `timeoutMs` passes.
 */
export async function waitForRollout(client: KubeClient, namespace: string, timeoutMs: number,
  onProgress: (states: readonly RolloutState[]) => void = () => undefined): Promise<RolloutState[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await readRollout(client, namespace);
    onProgress(states);
    if (states.every((s) => s.ready)) return states;
    if (Date.now() >= deadline) {
      const missing = states.filter((s) => !s.ready).map((s) => `${s.name}: ${s.message}`).join('; ');
      throw new WaitTimeoutError(`the controllers are not ready after ${Math.round(timeoutMs / 1000)} s (${missing}). `
        + `Their Pods may be pending or failing: kubectl -n ${namespace} get pods; kubectl -n ${namespace} describe deployment`);
    }
    await sleep(Math.min(1_000, Math.max(0, deadline - Date.now())));
  }
}
