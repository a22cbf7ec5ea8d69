/**
 * The health vocabulary (kstatus's status names) and small readers of an object as
 * the apiserver returns it. Readers never throw: a half-written status is simply
 * "not there yet".
 */
import type { HealthChecks } from './checks.ts';

/**
 * kstatus's computed status of an object:
 * - `Current`: the object is what its spec asks for (a rollout finished, a Job
 *   started, a CRD is established, or the kind has no status to wait for);
 * - `InProgress`: a controller is still working on it;
 * - `Failed`: kstatus's Failed and nothing else — a Job with Failed=True, a
 *   Deployment past its progress deadline, a running Pod crash-looping, a Pod
 *   unschedulable past a 15 s grace period, a CRD whose names are refused,
 *   `Stalled=True` on any kind (and, opted in, a Pod that ran and failed). A
 *   health wait ends early on it; docs/api.md ("Health") says which of these
 *   can still heal on their own;
 * - `Terminating`: it is being deleted;
 * - `NotFound`: it does not exist;
 * - `Unknown`: what was read is not an object this code can judge (an unknown
 *   Pod phase, a `health.trellis.dev/wait-for` value the kind does not know).
 */
export type HealthStatus = 'Current' | 'InProgress' | 'Failed' | 'Terminating' | 'NotFound' | 'Unknown';

/** The health of one object; `message` names it and the reason (`Deployment web: 0/2 replicas available`). */
export interface Health {
  readonly status: HealthStatus;
  readonly message: string;
}

/** An object as read from the cluster (any kind). */
export type ClusterObject = Record<string, unknown>;

/**
 * What a verdict may depend on besides the object. Only the Pod scheduling grace
 * period looks at the clock; tests pass `now` to make it deterministic.
 */
export interface HealthOptions {
  /** The moment to judge at, in milliseconds since the epoch (default: `Date.now()`). */
  readonly now?: number;
  /**
   * User-defined checks (the Package's, then the bundle's; see checks.ts): the
   * first that matches an object replaces the kind's rule. An object's own
   * `health.trellis.dev/current` annotation is read whether or not this is set.
   */
  readonly checks?: HealthChecks;
}

/** {@link HealthOptions} with its defaults filled in, as the kind rules receive it. */
export interface HealthContext {
  readonly now: number;
}

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

/** The first condition of `type` in `status.conditions`, if any. */
export function condition(obj: ClusterObject, type: string): Condition | undefined {
  return conditions(obj).find((c) => c.type === type);
}

/** `Type is Status (Reason): message`, for messages. */
export function describeCondition(c: Condition): string {
  const reason = c.reason ? ` (${c.reason})` : '';
  return `${c.type} is ${c.status}${reason}${c.message ? `: ${c.message}` : ''}`;
}

/** `group/Kind` of an object (core group: `/Kind`), the key of the kind rules. */
export function kindKey(obj: ClusterObject): string {
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  const slash = apiVersion.lastIndexOf('/');
  return `${slash < 0 ? '' : apiVersion.slice(0, slash)}/${String(obj.kind)}`;
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
 * `status.observedGeneration` differs from `metadata.generation`. When either is
 * missing there is nothing to compare, as in kstatus: most kinds never write
 * `observedGeneration` (the DaemonSet rule asks for both itself).
 */
export function staleGeneration(obj: ClusterObject): string | undefined {
  const generation = section(obj, 'metadata').generation;
  const observed = section(obj, 'status').observedGeneration;
  if (typeof generation !== 'number' || typeof observed !== 'number' || observed === generation) return undefined;
  return `waiting for the controller to observe generation ${generation} (observed ${observed})`;
}

/** The object's annotation `key`, or undefined. */
export function annotation(obj: ClusterObject, key: string): string | undefined {
  const value = field(section(obj, 'metadata'), 'annotations', key);
  return typeof value === 'string' ? value : undefined;
}

/** Every `status.conditions` entry, in the order the controller wrote them. */
export function conditions(obj: ClusterObject): Condition[] {
  const list = section(obj, 'status').conditions;
  if (!Array.isArray(list)) return [];
  const out: Condition[] = [];
  for (const c of list) {
    const rec = record(c);
    if (typeof rec?.type !== 'string' || typeof rec.status !== 'string') continue;
    out.push({
      type: rec.type,
      status: rec.status,
      ...(typeof rec.reason === 'string' ? { reason: rec.reason } : {}),
      ...(typeof rec.message === 'string' ? { message: rec.message } : {}),
    });
  }
  return out;
}
