/**
 * The typed errors of the apply engine. Each names the object (inventory id and
 * `Kind/namespace/name`) and carries the apiserver's own words, so a condition
 * message can say exactly what failed.
 */
import { KubeApiError } from '../../runtime/kube-transport.ts';
import type { HealthStatus } from '../health/status.ts';
import { ChangeSet } from './change-set.ts';

/** What {@link ApplyError} needs to name the object. */
export interface ObjectNames {
  readonly id: string;
  readonly subject: string;
}

/**
 * An object could not be applied (or prepared for it). `message` is
 * `<subject>: <apiserver message>`; `statusCode` and `reason` come from the
 * apiserver's Status when it answered with one.
 */
export class ApplyError extends Error {
  override readonly name: string = 'ApplyError';
  readonly id: string;
  readonly subject: string;
  /** HTTP status of the refusal; undefined when the failure was not an API answer (a timeout, an unknown kind). */
  readonly statusCode: number | undefined;
  /** The Status reason (`Invalid`, `Forbidden`, ...) or the error's name. */
  readonly reason: string;
  /** The apiserver's message (or the underlying error's), without the subject prefix. */
  readonly serverMessage: string;
  /**
   * What the stage did before the failure (objects already written). Filled in by
   * `applyStage`; empty when nothing was written.
   */
  changeSet: ChangeSet = new ChangeSet();

  constructor(names: ObjectNames, cause: unknown) {
    const serverMessage = cause instanceof Error ? cause.message : String(cause);
    super(`${names.subject}: ${serverMessage}`, { cause });
    this.id = names.id;
    this.subject = names.subject;
    this.serverMessage = serverMessage;
    this.statusCode = cause instanceof KubeApiError ? cause.statusCode : undefined;
    this.reason = cause instanceof KubeApiError ? cause.reason : cause instanceof Error ? cause.name : 'Error';
  }
}

/**
 * The apiserver refused a change to a field that cannot change once set (a
 * Deployment's `spec.selector`, a Job's template, a Service's `clusterIP`). Only
 * deleting and re-creating the object can apply it: pass `force` to allow that.
 */
export class ImmutableFieldError extends ApplyError {
  override readonly name: string = 'ImmutableFieldError';

  constructor(names: ObjectNames, cause: unknown) {
    super(names, cause);
    this.message = `${names.subject}: ${this.serverMessage} (an immutable field changed: the object must be re-created, which force allows)`;
  }
}

/**
 * The object exists and belongs to someone else: another Package, a controller
 * (a controlling owner reference) or whoever made it. Nothing was written to
 * it; see ownership.ts for the policies that allow adoption.
 */
export class ObjectCollisionError extends ApplyError {
  override readonly name: string = 'ObjectCollisionError';
  /** Who owns the object, in words (`belongs to Package team-a/web`). */
  readonly owner: string;

  constructor(names: ObjectNames, owner: string, policy: string) {
    super(names, new Error(`${owner}; collision protection (${policy}) does not let this Package take it over`));
    this.owner = owner;
  }
}

/** One object that did not become healthy in time. */
export interface UnhealthyObject {
  readonly id: string;
  readonly subject: string;
  readonly status: HealthStatus;
  /** assessHealth's message, e.g. `Deployment web: 0/2 replicas available`. */
  readonly message: string;
}

/** Objects did not all become Current within the timeout (or one Failed with `failFast`). */
export class HealthCheckError extends Error {
  override readonly name = 'HealthCheckError';
  /** Every object that was not Current at the last look, in the order they were given. */
  readonly unhealthy: readonly UnhealthyObject[];
  /** True when the wait ended early because an object Failed (`failFast`). */
  readonly failedFast: boolean;

  constructor(unhealthy: readonly UnhealthyObject[], timeoutMs: number, failedFast = false) {
    const list = unhealthy.map((u) => `${u.subject} (${u.status}): ${detailOf(u)}`).join('; ');
    super(failedFast
      ? `an object failed: ${list}`
      : `${unhealthy.length} object${unhealthy.length === 1 ? ' is' : 's are'} not healthy after ${Math.round(timeoutMs / 1000)}s: ${list}`);
    this.unhealthy = unhealthy;
    this.failedFast = failedFast;
  }
}

/** A health message without the `Kind name: ` prefix that the subject already says. */
function detailOf(u: UnhealthyObject): string {
  const parts = u.subject.split('/');
  const prefix = `${parts[0] ?? ''} ${parts[parts.length - 1] ?? ''}: `;
  return u.message.startsWith(prefix) ? u.message.slice(prefix.length) : u.message;
}

/**
 * True when the apiserver refused a change because a field is immutable. The
 * apiserver reports it as 422 Invalid with wording that differs by kind and
 * version, so the message is matched the way kubectl's `replace --force` users
 * would recognize it.
 */
export function isImmutableFieldError(err: unknown): boolean {
  if (!(err instanceof KubeApiError) || err.statusCode !== 422) return false;
  return IMMUTABLE_WORDING.some((re) => re.test(err.message));
}

const IMMUTABLE_WORDING: readonly RegExp[] = [
  // `spec.selector: ... field is immutable`, `is immutable after creation`
  /\bimmutable\b/i,
  /may not change once set/i,
  // RoleBinding / ClusterRoleBinding
  /cannot change roleRef/i,
  // StatefulSet: `updates to statefulset spec for fields other than 'replicas', ... are forbidden`
  /updates to \S+ spec for fields other than/i,
];
