/**
 * What the overview shows of each Package and source: one flat row, computed
 * from the object as the watch delivers it. Messages go through the same
 * redaction as logs and Events; nothing of `spec.values` is in a row. Pure.
 */
import type { Package } from '../../apply-controller/index.ts';
import { getCondition, type Condition } from '../../runtime/conditions.ts';
import { redactString } from '../../runtime/redact.ts';
import type { KubeObject } from '../../runtime/object.ts';
import type { SourceObject } from '../../cli/package/wait.ts';

/** The one word the overview sorts and filters by (kstatus's view of an object). */
export type State = 'Ready' | 'Reconciling' | 'Stalled' | 'Failed' | 'Suspended' | 'Unknown';

/** A condition as the dashboard shows it. */
export interface ConditionView {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime?: string | undefined;
}

/** An Event as the dashboard shows it. */
export interface EventView {
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  /** When it last happened (RFC 3339). */
  readonly time?: string | undefined;
  readonly count: number;
  /** `Kind/namespace/name` of the object it is about. */
  readonly regarding: string;
}

/** One row of the Packages table. */
export interface PackageRow {
  readonly namespace: string;
  readonly name: string;
  readonly state: State;
  /** The Ready condition's reason and message (redacted). */
  readonly reason: string;
  readonly message: string;
  readonly currentRevision?: number | undefined;
  readonly pinnedRevision?: number | undefined;
  readonly sourceRevision?: string | undefined;
  readonly attemptedRevision?: string | undefined;
  readonly source: { readonly kind: string; readonly namespace: string; readonly name: string };
  readonly suspended: boolean;
  readonly created?: string | undefined;
  readonly lastEvent?: EventView | undefined;
}

/** One row of the sources table. */
export interface SourceRow {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly state: State;
  readonly reason: string;
  readonly message: string;
  readonly url: string;
  /** What it follows: `semver ^1`, `branch main`. */
  readonly follows: string;
  readonly revision?: string | undefined;
  readonly digest?: string | undefined;
  readonly size?: number | undefined;
  readonly lastUpdate?: string | undefined;
  /** `Verified`, `Failed: <reason>`, or undefined without `verify`. */
  readonly verification?: string | undefined;
  readonly suspended: boolean;
  readonly created?: string | undefined;
  /** `namespace/name` of the Packages that apply it. */
  readonly packages: readonly string[];
}

interface Reconcilable extends KubeObject {
  spec?: { suspend?: boolean };
  status?: { conditions?: Condition[]; observedGeneration?: number };
}

/** The state of a Package or source: Stalled, then Reconciling, then Ready's status. */
export function stateOf(obj: Reconcilable): State {
  const conditions = obj.status?.conditions;
  if (obj.spec?.suspend === true) return 'Suspended';
  if (getCondition(conditions, 'Stalled')?.status === 'True') return 'Stalled';
  if (getCondition(conditions, 'Reconciling')?.status === 'True') return 'Reconciling';
  const ready = getCondition(conditions, 'Ready');
  const current = obj.status?.observedGeneration === undefined || obj.status.observedGeneration === obj.metadata?.generation;
  if (ready?.status === 'True' && current) return 'Ready';
  if (ready?.status === 'False' && current) return 'Failed';
  return ready ? 'Reconciling' : 'Unknown';
}

/** Conditions with redacted messages. */
export function conditionViews(conditions: readonly Condition[] | undefined): ConditionView[] {
  return (conditions ?? []).map((c) => ({
    type: c.type, status: c.status, reason: c.reason, message: redactString(c.message), lastTransitionTime: c.lastTransitionTime,
  }));
}

function readyText(obj: Reconcilable): { reason: string; message: string } {
  const ready = getCondition(obj.status?.conditions, 'Ready');
  return { reason: ready?.reason ?? '', message: redactString(ready?.message ?? (obj.status ? '' : 'waiting for the controller')) };
}

/** The namespace/name key of an object. */
export function keyOf(obj: KubeObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** The overview row of a Package. */
export function packageRow(pkg: Package, lastEvent?: EventView): PackageRow {
  const namespace = pkg.metadata.namespace ?? '';
  const ref = pkg.spec.sourceRef;
  return {
    namespace,
    name: pkg.metadata.name ?? '',
    state: stateOf(pkg),
    ...readyText(pkg),
    currentRevision: pkg.status?.currentRevision,
    pinnedRevision: pkg.spec.rollback?.revision,
    sourceRevision: pkg.status?.lastAppliedRevision,
    attemptedRevision: pkg.status?.lastAttemptedRevision,
    source: { kind: ref.kind, namespace: ref.namespace ?? namespace, name: ref.name },
    suspended: pkg.spec.suspend === true,
    created: pkg.metadata.creationTimestamp,
    lastEvent,
  };
}

function followsOf(source: SourceObject): string {
  const ref = source.spec.ref as Record<string, unknown> | undefined;
  if (!ref) return 'default';
  return Object.entries(ref).map(([k, v]) => `${k} ${String(v)}`).join(', ');
}

function verificationOf(source: SourceObject): string | undefined {
  const verified = getCondition(source.status?.conditions, 'SourceVerified');
  if (!verified) return source.spec.verify ? 'not verified yet' : undefined;
  return verified.status === 'True' ? 'Verified' : `Failed: ${verified.reason}`;
}

/** The overview row of a source; `packages` are the Packages that apply it. */
export function sourceRow(source: SourceObject, packages: readonly string[]): SourceRow {
  const artifact = source.status?.artifact;
  return {
    kind: source.kind ?? '',
    namespace: source.metadata.namespace ?? '',
    name: source.metadata.name ?? '',
    state: stateOf(source),
    ...readyText(source),
    url: redactString(source.spec.url),
    follows: followsOf(source),
    revision: artifact?.revision,
    digest: artifact?.digest,
    size: artifact?.size,
    lastUpdate: artifact?.lastUpdateTime,
    verification: verificationOf(source),
    suspended: source.spec.suspend === true,
    created: source.metadata.creationTimestamp,
    packages,
  };
}

/** A core/v1 or events.k8s.io/v1 Event, the fields read. */
export interface AnyEvent extends KubeObject {
  type?: string;
  reason?: string;
  message?: string;
  note?: string;
  count?: number;
  eventTime?: string | null;
  lastTimestamp?: string | null;
  firstTimestamp?: string | null;
  series?: { count?: number; lastObservedTime?: string };
  deprecatedCount?: number;
  deprecatedLastTimestamp?: string;
  involvedObject?: { kind?: string; name?: string; namespace?: string; uid?: string };
  regarding?: { kind?: string; name?: string; namespace?: string; uid?: string };
}

/** An Event (either API) as the dashboard shows it, its message redacted. */
export function eventView(e: AnyEvent): EventView {
  const about = e.regarding ?? e.involvedObject ?? {};
  return {
    type: e.type ?? '',
    reason: e.reason ?? '',
    message: redactString(e.note ?? e.message ?? ''),
    time: e.series?.lastObservedTime ?? e.lastTimestamp ?? e.deprecatedLastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? undefined,
    count: e.series?.count ?? e.count ?? e.deprecatedCount ?? 1,
    regarding: `${about.kind ?? ''}/${about.namespace ?? e.metadata?.namespace ?? ''}/${about.name ?? ''}`,
  };
}
