/**
 * From a Kubernetes Event the controllers recorded to what an alert says:
 * its severity (Warning -> error, Normal -> info), its category (failed,
 * recovered, rolled back, drift, applied, ...) and whether an Alert selects
 * it. Pure: the dispatcher supplies the object's labels and what it saw of
 * the object before.
 */
import type { Alert, EventCategory } from '../api.ts';

/** The groups whose objects' events may be sent. */
export const ALERT_GROUPS: readonly string[] = ['apply.trellis.dev', 'source.trellis.dev'];

/** The parts of an events.k8s.io/v1 Event an alert uses. */
export interface ObservedEvent {
  /** The Event's own uid (de-duplication across replicas and restarts). */
  readonly eventUid: string;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly note: string;
  /** When it was recorded (RFC 3339). */
  readonly time: string;
  readonly reportingController: string;
  readonly object: {
    readonly apiVersion: string;
    readonly kind: string;
    readonly namespace: string;
    readonly name: string;
    readonly uid: string;
  };
}

/** `info` or `error`. */
export type Severity = 'info' | 'error';

/** The severity of an event of `type`. */
export function severityOf(type: ObservedEvent['type']): Severity {
  return type === 'Warning' ? 'error' : 'info';
}

/** Normal reasons that say a new revision is in place (and, after a failure, that it recovered). */
const APPLIED_REASONS = new Set(['Applied', 'NewArtifact']);

/**
 * The category of `event`. `failing` is whether the object's last event seen
 * was a failure: an Applied or NewArtifact then means it recovered.
 */
export function categorize(event: Pick<ObservedEvent, 'type' | 'reason'>, failing: boolean): EventCategory {
  if (event.type === 'Warning') {
    if (event.reason === 'RolledBack') return 'rolledBack';
    if (event.reason === 'DriftDetected') return 'driftDetected';
    return 'failed';
  }
  if (event.reason === 'DriftCorrected') return 'driftCorrected';
  if (event.reason === 'Progressing') return 'progressing';
  if (event.reason === 'Uninstalled') return 'deleted';
  if (APPLIED_REASONS.has(event.reason)) return failing ? 'recovered' : 'applied';
  return 'applied';
}

/** True for categories that leave the object failing until a recovery. */
export function isFailing(category: EventCategory): boolean {
  return category === 'failed' || category === 'rolledBack';
}

/** Label selectors of `matchLabels` hold for `labels`. */
function labelsMatch(want: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(want ?? {}).every(([k, v]) => labels[k] === v);
}

/** True when `alert` sends an event of `category` and `severity` about `object` (with `labels`). */
export function alertSelects(alert: Alert, event: ObservedEvent, category: EventCategory,
  labels: Readonly<Record<string, string>>): boolean {
  const spec = alert.spec;
  if (spec.suspend || alert.metadata.namespace !== event.object.namespace) return false;
  if (spec.eventSeverity === 'error' && severityOf(event.type) !== 'error' && category !== 'recovered') return false;
  if (spec.categories && spec.categories.length > 0 && !spec.categories.includes(category)) return false;
  return spec.eventSources.some((s) => s.kind === event.object.kind
    && (s.name === undefined || s.name === '*' || s.name === event.object.name)
    && labelsMatch(s.matchLabels, labels));
}

/** True when an Alert with these sources needs the object's labels (one read per event). */
export function needsLabels(alert: Alert): boolean {
  return alert.spec.eventSources.some((s) => s.matchLabels !== undefined && Object.keys(s.matchLabels).length > 0);
}
