/**
 * Status writes of the notification kinds: the Ready condition (and Stalled
 * for a spec only a person can fix), patched only when it says something new.
 */
import { conditionsEqual, markFailed, markReady, markStalled, type Condition } from '../../runtime/conditions.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import { isNotFound } from '../../runtime/kube-transport.ts';
import type { KubeObject, ObjectMeta, ObjectRef } from '../../runtime/object.ts';

/** What an object's Ready condition should say. */
export type Readiness =
  | { readonly ready: true; readonly reason?: string; readonly message: string }
  | { readonly ready: false; readonly stalled?: boolean; readonly reason: string; readonly message: string };

interface WithStatus extends KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  status?: { conditions?: Condition[]; observedGeneration?: number; [key: string]: unknown };
}

/** The conditions for `readiness`, from the object's current ones. */
export function conditionsFor(previous: readonly Condition[] | undefined, readiness: Readiness, generation: number | undefined): Condition[] {
  if (readiness.ready) return markReady(previous, readiness.message, generation, readiness.reason);
  return readiness.stalled
    ? markStalled(previous, readiness.reason, readiness.message, generation)
    : markFailed(previous, readiness.reason, readiness.message, generation);
}

/**
 * Patches the status of `obj` to `readiness` plus `extra` fields (null
 * removes one) when it differs from what the object shows; returns true when
 * it wrote. An object
 * deleted meanwhile is not an error.
 */
export async function writeReadiness(client: KubeClient, obj: WithStatus, readiness: Readiness,
  extra: Record<string, unknown> = {}): Promise<boolean> {
  const generation = obj.metadata.generation;
  const conditions = conditionsFor(obj.status?.conditions, readiness, generation);
  const same = conditionsEqual(obj.status?.conditions, conditions) && obj.status?.observedGeneration === generation
    // A null in `extra` removes the field (merge patch): absent and null are the same here.
    && Object.entries(extra).every(([k, v]) => JSON.stringify(obj.status?.[k] ?? null) === JSON.stringify(v ?? null));
  if (same) return false;
  const ref: ObjectRef = { apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' };
  try {
    await client.patchStatus(ref, { conditions, ...(generation !== undefined ? { observedGeneration: generation } : {}), ...extra });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** A Secret as the apiserver returns it. */
export interface SecretObject extends KubeObject {
  data?: Record<string, string>;
}

/** The decoded data of Secret `name` in `namespace`; undefined when it does not exist. */
export async function readSecretData(client: KubeClient, namespace: string, name: string): Promise<Map<string, string> | undefined> {
  const secret = await client.get<SecretObject>({ apiVersion: 'v1', kind: 'Secret', namespace, name });
  if (!secret) return undefined;
  return new Map(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}
