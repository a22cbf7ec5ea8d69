/**
 * The health vocabulary (kstatus's status names) and small readers of an object as
 * the apiserver returns it. Readers never throw: a half-written status is simply
 * "not there yet".
 */

/**
 * kstatus's computed status of an object:
 * - `Current`: the object is what its spec asks for (a rollout finished, a Job
 *   completed, a CRD is established, or the kind has no status to wait for);
 * - `InProgress`: a controller is still working on it;
 * - `Failed`: it will not get there without a change (a Job failed, a Deployment
 *   exceeded its progress deadline, a Pod is crash-looping, `Stalled` is True);
 * - `Terminating`: it is being deleted;
 * - `NotFound`: it does not exist;
 * - `Unknown`: what was read is not an object this code can judge.
 */
export type HealthStatus = 'Current' | 'InProgress' | 'Failed' | 'Terminating' | 'NotFound' | 'Unknown';

/** The health of one object; `message` names it and the reason (`Deployment web: 0/2 replicas available`). */
export interface Health {
  readonly status: HealthStatus;
  readonly message: string;
}

/** An object as read from the cluster (any kind). */
export type ClusterObject = Record<string, unknown>;

/** One entry of `status.conditions`. */
export interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
}

/** `metadata`, `spec` or `status` of an object (empty when absent). */
export function section(obj: ClusterObject, key: 'metadata' | 'spec' | 'status'): Record<string, unknown> {
  return record(obj[key]) ?? {};
}

/** True when the object has a `status` with at least one field. */
export function hasStatus(obj: ClusterObject): boolean {
  return Object.keys(section(obj, 'status')).length > 0;
}

/** A nested field, or undefined. */
export function field(obj: Record<string, unknown> | undefined, ...path: string[]): unknown {
  let current: unknown = obj;
  for (const key of path) {
    current = record(current)?.[key];
    if (current === undefined) return undefined;
  }
  return current;
}

/** A numeric field, or `fallback` when absent (controllers omit zero counts). */
export function count(obj: Record<string, unknown>, key: string, fallback = 0): number {
  const v = obj[key];
  return typeof v === 'number' ? v : fallback;
}

/** The condition of `type` in `status.conditions`, if any. */
export function condition(obj: ClusterObject, type: string): Condition | undefined {
  const list = section(obj, 'status').conditions;
  if (!Array.isArray(list)) return undefined;
  for (const c of list) {
    const rec = record(c);
    if (rec?.type === type && typeof rec.status === 'string') {
      return {
        type,
        status: rec.status,
        ...(typeof rec.reason === 'string' ? { reason: rec.reason } : {}),
        ...(typeof rec.message === 'string' ? { message: rec.message } : {}),
      };
    }
  }
  return undefined;
}

/** `Type is Status (Reason): message`, for messages. */
export function describeCondition(c: Condition): string {
  const reason = c.reason ? ` (${c.reason})` : '';
  return `${c.type} is ${c.status}${reason}${c.message ? `: ${c.message}` : ''}`;
}

/** `Kind name`, the prefix of every health message. */
export function nameOf(obj: ClusterObject): string {
  const kind = typeof obj.kind === 'string' ? obj.kind : 'object';
  const name = section(obj, 'metadata').name;
  return `${kind} ${typeof name === 'string' ? name : '(no name)'}`;
}

/** A health result whose message is prefixed with the object's kind and name. */
export function health(status: HealthStatus, obj: ClusterObject, detail: string): Health {
  return { status, message: `${nameOf(obj)}: ${detail}` };
}

/**
 * Why the controller's status is stale, or undefined when it is current:
 * `status.observedGeneration` behind `metadata.generation`, or (with `required`)
 * missing while the object has a generation — the built-in workload controllers
 * always write it, so its absence means they have not looked yet.
 */
export function staleGeneration(obj: ClusterObject, required: boolean): string | undefined {
  const generation = section(obj, 'metadata').generation;
  const observed = section(obj, 'status').observedGeneration;
  if (typeof generation !== 'number') return undefined;
  if (typeof observed !== 'number') {
    return required ? `waiting for the controller to observe generation ${generation}` : undefined;
  }
  return observed < generation ? `waiting for the controller to observe generation ${generation} (observed ${observed})` : undefined;
}
