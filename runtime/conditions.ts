/**
 * Status conditions in the kstatus convention, so `kubectl wait`, Flux-style
 * tooling and humans read Trellis objects the same way:
 *
 * - `Ready` (normal-true): the object's desired state is reached.
 * - `Reconciling` (abnormal-true): work is in progress; absent when idle.
 * - `Stalled` (abnormal-true): the controller cannot progress until the user
 *   changes something; absent otherwise.
 *
 * Detail conditions are all abnormal-true: present with status True only while
 * the problem exists, removed when it is gone. All helpers are pure and return
 * a new array.
 */
import { redactString } from './redact.ts';

/** A status condition (metav1.Condition). */
export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  /** CamelCase, machine-readable. */
  readonly reason: string;
  /** Human-readable; redacted. */
  readonly message: string;
  /** RFC 3339; changes only when `status` changes. */
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number;
}

/** `True`, `False` or `Unknown`. */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** What callers give {@link setCondition}; the time is filled in. */
export interface ConditionInput {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration?: number;
}

/** Condition types. Polarity is documented per type. */
export const ConditionType = {
  /** Normal-true: desired state reached. False with a reason when not. */
  Ready: 'Ready',
  /** Abnormal-true: a reconcile is in progress (or retrying a transient failure). */
  Reconciling: 'Reconciling',
  /** Abnormal-true: no progress possible until the object (or what it references) changes. */
  Stalled: 'Stalled',
  /** Abnormal-true: the source (Git, OCI) could not be reached or resolved. */
  FetchFailed: 'FetchFailed',
  /** Abnormal-true: an artifact could not be packaged, stored or downloaded. */
  ArtifactFailed: 'ArtifactFailed',
  /** Abnormal-true: a digest or signature did not verify. */
  VerificationFailed: 'VerificationFailed',
  /** Abnormal-true: server-side apply or prune of the package's objects failed. */
  ApplyFailed: 'ApplyFailed',
  /** Abnormal-true: the applied objects did not become healthy within the timeout. */
  HealthCheckFailed: 'HealthCheckFailed',
  /** Abnormal-true: managed objects differ from what was applied (drift mode `warn`). */
  DriftDetected: 'DriftDetected',
  /** Abnormal-true: the last Available revision was re-applied after a failure. */
  RolledBack: 'RolledBack',
} as const;

/** Common reasons. Controllers add their own CamelCase reasons. */
export const Reason = {
  Succeeded: 'Succeeded',
  Progressing: 'Progressing',
  ProgressingWithRetry: 'ProgressingWithRetry',
  ReconcileFailed: 'ReconcileFailed',
  Suspended: 'Suspended',
} as const;

/** Longest message kept (the apiserver caps condition messages at 32 KiB). */
const MAX_MESSAGE = 4096;

/** The condition of `type`, if present. */
export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when the condition of `type` is present with status True. */
export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

/**
 * Sets (adds or replaces) one condition. `lastTransitionTime` is kept when the
 * status did not change; the message is redacted and capped.
 */
export function setCondition(conditions: readonly Condition[] | undefined, input: ConditionInput,
  now: Date = new Date()): Condition[] {
  const list = conditions ?? [];
  const previous = getCondition(list, input.type);
  const message = redactString(input.message).slice(0, MAX_MESSAGE);
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message,
    lastTransitionTime: previous && previous.status === input.status
      ? previous.lastTransitionTime
      : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(input.observedGeneration === undefined ? {} : { observedGeneration: input.observedGeneration }),
  };
  if (!previous) return [...list, next];
  return list.map((c) => (c.type === input.type ? next : c));
}

/** Removes the condition of `type` (abnormal-true conditions are removed when resolved). */
export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** Ready=True; Reconciling and Stalled removed. */
export function markReady(conditions: readonly Condition[] | undefined, message: string,
  observedGeneration?: number, reason: string = Reason.Succeeded, now?: Date): Condition[] {
  const cleared = removeCondition(removeCondition(conditions, ConditionType.Reconciling), ConditionType.Stalled);
  return setCondition(cleared, { type: ConditionType.Ready, status: 'True', reason, message, observedGeneration }, now);
}

/** Reconciling=True and Ready=Unknown with the same reason; Stalled removed. */
export function markReconciling(conditions: readonly Condition[] | undefined, message: string,
  observedGeneration?: number, reason: string = Reason.Progressing, now?: Date): Condition[] {
  let next = removeCondition(conditions, ConditionType.Stalled);
  next = setCondition(next, { type: ConditionType.Reconciling, status: 'True', reason, message, observedGeneration }, now);
  return setCondition(next, { type: ConditionType.Ready, status: 'Unknown', reason, message, observedGeneration }, now);
}

/** Stalled=True and Ready=False with the same reason; Reconciling removed. */
export function markStalled(conditions: readonly Condition[] | undefined, reason: string, message: string,
  observedGeneration?: number, now?: Date): Condition[] {
  let next = removeCondition(conditions, ConditionType.Reconciling);
  next = setCondition(next, { type: ConditionType.Stalled, status: 'True', reason, message, observedGeneration }, now);
  return setCondition(next, { type: ConditionType.Ready, status: 'False', reason, message, observedGeneration }, now);
}

/**
 * A transient failure that will be retried: Ready=False with the failure's
 * reason, Reconciling=True (`ProgressingWithRetry`), Stalled removed.
 */
export function markFailed(conditions: readonly Condition[] | undefined, reason: string, message: string,
  observedGeneration?: number, now?: Date): Condition[] {
  let next = removeCondition(conditions, ConditionType.Stalled);
  next = setCondition(next, {
    type: ConditionType.Reconciling, status: 'True', reason: Reason.ProgressingWithRetry, message, observedGeneration,
  }, now);
  return setCondition(next, { type: ConditionType.Ready, status: 'False', reason, message, observedGeneration }, now);
}

/** True when two condition lists say the same thing (ignoring order), so an unchanged status is not patched. */
export function conditionsEqual(a: readonly Condition[] | undefined, b: readonly Condition[] | undefined): boolean {
  const left = a ?? [];
  const right = b ?? [];
  if (left.length !== right.length) return false;
  return left.every((c) => {
    const other = getCondition(right, c.type);
    return other !== undefined && other.status === c.status && other.reason === c.reason
      && other.message === c.message && other.lastTransitionTime === c.lastTransitionTime
      && other.observedGeneration === c.observedGeneration;
  });
}

/**
 * True when the last reconcile of this generation of the spec ended Ready: the
 * Ready condition and the status were both observed at `generation`. Reconcilers
 * use it to skip work only when nothing in the spec changed since a success.
 */
export function readyAtGeneration(status: { readonly conditions?: readonly Condition[]; readonly observedGeneration?: number } | undefined,
  generation: number | undefined): boolean {
  const ready = getCondition(status?.conditions, ConditionType.Ready);
  return ready?.status === 'True' && ready.observedGeneration === generation && status?.observedGeneration === generation;
}
