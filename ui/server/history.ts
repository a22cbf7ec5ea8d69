/**
 * A Package's revision history as a timeline, and what differs between two
 * revisions. PackageRevisions are sealed with the apply controller's key, so
 * their objects cannot be read with a user's credentials; what a record shows in
 * the clear is enough to say what changed: the source revision and digest, the
 * values hash, and per phase the object count and the sealed content's identity
 * (blobs are sealed with a synthetic IV and slices are named by keyed digest, so
 * the same objects under the same key give the same record). Field-level diffs
 * are for the next revision (the planning API). Pure.
 */
import type { Package, PackageRevision, PackageRevisionPhaseRecord } from '../../apply-controller/index.ts';
import { getCondition } from '../../runtime/conditions.ts';
import { redactString } from '../../runtime/redact.ts';

/** One revision on the timeline. */
export interface TimelineEntry {
  readonly revision: number;
  /** `Available`, `Failed`, `Superseded` or `Pending` (still being applied). */
  readonly phase: string;
  readonly message: string;
  readonly created?: string | undefined;
  readonly sourceRevision: string;
  readonly digest: string;
  /** The values differ from the previous revision's (false for the first). */
  readonly valuesChanged: boolean;
  /** The revision the cluster runs. */
  readonly current: boolean;
  /** The Package is pinned to it. */
  readonly pinned: boolean;
  /** The cluster returned to it after a later revision (a rollback, automatic or pinned). */
  readonly rolledBackTo: boolean;
  readonly phases: readonly { readonly name: string; readonly count: number }[];
}

/** The newest first timeline of a Package's revisions. */
export function timeline(pkg: Package, revisions: readonly PackageRevision[]): TimelineEntry[] {
  const sorted = [...revisions].sort((a, b) => a.spec.revision - b.spec.revision);
  const current = pkg.status?.currentRevision;
  const pinned = pkg.spec.rollback?.revision;
  const newest = sorted.at(-1)?.spec.revision;
  const rolledBack = getCondition(pkg.status?.conditions, 'RolledBack')?.status === 'True';
  return sorted.map((r, i): TimelineEntry => {
    const isCurrent = r.spec.revision === current;
    return {
      revision: r.spec.revision,
      phase: r.status?.phase ?? 'Pending',
      message: redactString(r.status?.message ?? ''),
      created: r.metadata.creationTimestamp,
      sourceRevision: r.spec.source.revision,
      digest: r.spec.source.digest,
      valuesChanged: i > 0 && sorted[i - 1]?.spec.valuesHash !== r.spec.valuesHash,
      current: isCurrent,
      pinned: r.spec.revision === pinned,
      rolledBackTo: isCurrent && newest !== undefined && r.spec.revision < newest && (rolledBack || pinned === r.spec.revision),
      phases: r.spec.phases.map((p) => ({ name: p.name, count: p.count })),
    };
  }).reverse();
}

/** How one phase differs between two revisions. */
export interface PhaseDiff {
  readonly name: string;
  /** Object counts; undefined where the revision has no such phase. */
  readonly fromCount?: number | undefined;
  readonly toCount?: number | undefined;
  /** `added`, `removed`, `changed` or `unchanged`. */
  readonly change: 'added' | 'removed' | 'changed' | 'unchanged';
}

/** What differs between two revisions, as far as their records tell. */
export interface RevisionDiff {
  readonly from: number;
  readonly to: number;
  readonly source: { readonly from: string; readonly to: string; readonly changed: boolean };
  readonly digest: { readonly from: string; readonly to: string; readonly changed: boolean };
  readonly valuesChanged: boolean;
  readonly phases: readonly PhaseDiff[];
  /** The two were sealed with different keys: phases compare as changed whatever they hold. */
  readonly keysDiffer: boolean;
}

/** The sealed content's identity: the inline blob, or the slices' keyed digests. */
function identity(p: PackageRevisionPhaseRecord): string {
  return p.objects ?? (p.slices ?? []).map((s) => s.digest).join(',');
}

const KEY_ANNOTATION = 'apply.trellis.dev/revision-key';

/** Compares two revisions' records. */
export function diffRevisions(from: PackageRevision, to: PackageRevision): RevisionDiff {
  const names = [...new Set([...from.spec.phases.map((p) => p.name), ...to.spec.phases.map((p) => p.name)])];
  const phases = names.map((name): PhaseDiff => {
    const a = from.spec.phases.find((p) => p.name === name);
    const b = to.spec.phases.find((p) => p.name === name);
    const change = !a ? 'added' : !b ? 'removed' : identity(a) === identity(b) && a.count === b.count ? 'unchanged' : 'changed';
    return { name, fromCount: a?.count, toCount: b?.count, change };
  });
  return {
    from: from.spec.revision,
    to: to.spec.revision,
    source: { from: from.spec.source.revision, to: to.spec.source.revision, changed: from.spec.source.revision !== to.spec.source.revision },
    digest: { from: from.spec.source.digest, to: to.spec.source.digest, changed: from.spec.source.digest !== to.spec.source.digest },
    valuesChanged: from.spec.valuesHash !== to.spec.valuesHash,
    phases,
    keysDiffer: from.metadata.annotations?.[KEY_ANNOTATION] !== to.metadata.annotations?.[KEY_ANNOTATION],
  };
}
