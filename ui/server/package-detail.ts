/**
 * Everything the Package page shows, read with the user's credentials: the
 * Package (its values masked), its source, its phases with each object's health
 * read live, the revision timeline, conditions, Events and drift. Objects are
 * reported by identity and verdict only, never by content.
 */
import {
  listRevisions, packageResource, parseInventoryId, statusInventory, type InventoryEntry, type Package, type PackageRevision,
} from '../../apply-controller/index.ts';
import { mapBounded } from '../../runtime/concurrency.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { KubeObject, ObjectRef } from '../../runtime/object.ts';
import { redact, redactString } from '../../runtime/redact.ts';
import { sourceRefOf } from '../../cli/package/reconcile.ts';
import type { SourceObject } from '../../cli/package/wait.ts';
import { packageChecks, verdictOf, type Verdict } from './health.ts';
import { timeline, type TimelineEntry } from './history.ts';
import {
  conditionViews, packageRow, sourceRow, type ConditionView, type EventView, type PackageRow, type SourceRow,
} from './summaries.ts';

/** At most this many objects are read for their health (a page, not an audit). */
export const MAX_OBJECTS = 300;

/** One object of a phase. */
export interface ObjectHealth {
  readonly kind: string;
  readonly group: string;
  readonly namespace: string;
  readonly name: string;
  readonly health: Verdict;
}

/** One phase, in apply order. */
export interface PhaseView {
  readonly name: string;
  readonly objects: readonly ObjectHealth[];
}

/** The values in effect, masked. */
export interface ValuesView {
  /** `spec.values` with every secret-looking key's value masked. */
  readonly values: unknown;
  /** Where more values come from; Secret contents are never read. */
  readonly valuesFrom: readonly string[];
}

/** The Package page. */
export interface PackageDetail {
  readonly summary: PackageRow;
  readonly source?: SourceRow | undefined;
  readonly phases: readonly PhaseView[];
  /** Objects beyond {@link MAX_OBJECTS} that were not read. */
  readonly objectsNotShown: number;
  readonly history: readonly TimelineEntry[];
  readonly conditions: readonly ConditionView[];
  readonly events: readonly EventView[];
  /** Drift: Events that say what was corrected or found changed, and the DriftDetected condition. */
  readonly drift: readonly EventView[];
  readonly values: ValuesView;
  readonly spec: {
    readonly interval?: string | undefined; readonly timeout?: string | undefined; readonly driftMode: string;
    readonly rollbackOnFailure: boolean; readonly serviceAccountName?: string | undefined; readonly path?: string | undefined;
  };
}

/** The ref of a Package. */
export function packageRef(namespace: string, name: string): ObjectRef {
  return { apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace, name };
}

function objectRefOf(entry: InventoryEntry): ObjectRef & { group: string } {
  const key = parseInventoryId(entry.id);
  return {
    apiVersion: key.group ? `${key.group}/${entry.v}` : entry.v, kind: key.kind, name: key.name, group: key.group,
    ...(key.namespace ? { namespace: key.namespace } : {}),
  };
}

/**
 * The inventory cut into the current revision's phases (the inventory is in
 * apply order); objects beyond them (kept from an earlier revision after a failed
 * apply) form a last group.
 */
export function phaseGroups(inventory: readonly InventoryEntry[], revision: PackageRevision | undefined): { name: string; entries: InventoryEntry[] }[] {
  const groups: { name: string; entries: InventoryEntry[] }[] = [];
  let at = 0;
  for (const p of revision?.spec.phases ?? []) {
    groups.push({ name: p.name, entries: inventory.slice(at, at + p.count) });
    at += p.count;
  }
  if (at < inventory.length) groups.push({ name: revision ? 'from an earlier revision' : 'objects', entries: inventory.slice(at) });
  return groups;
}

async function readPhases(client: KubeClient, pkg: Package, revision: PackageRevision | undefined): Promise<{ phases: PhaseView[]; notShown: number }> {
  const inventory = statusInventory(pkg.status);
  const shown = inventory.slice(0, MAX_OBJECTS);
  const checks = packageChecks(pkg);
  const verdicts = await mapBounded(shown, 8, async (entry): Promise<ObjectHealth> => {
    let ref;
    try {
      ref = objectRefOf(entry);
    } catch {
      return { kind: '?', group: '', namespace: '', name: entry.id, health: { status: 'Unknown', message: 'not an inventory id' } };
    }
    let health: Verdict;
    try {
      health = verdictOf(await client.get<KubeObject>(ref), checks);
    } catch (err) {
      health = { status: 'Unknown', message: redactString(err instanceof Error ? err.message : String(err)) };
    }
    return { kind: ref.kind, group: ref.group, namespace: ref.namespace ?? '', name: ref.name, health };
  });
  const byId = new Map(shown.map((e, i) => [e.id, verdicts[i]]));
  const phases = phaseGroups(shown, revision).map((g) => ({
    name: g.name, objects: g.entries.map((e) => byId.get(e.id)).filter((o): o is ObjectHealth => o !== undefined),
  }));
  return { phases, notShown: inventory.length - shown.length };
}

function valuesOf(pkg: Package): ValuesView {
  return {
    values: redact(pkg.spec.values ?? {}),
    valuesFrom: (pkg.spec.valuesFrom ?? []).map((v) => `${v.kind} ${v.name}${v.valuesKey ? ` key ${v.valuesKey}` : ''}`
      + `${v.targetPath ? ` -> ${v.targetPath}` : ''}${v.kind === 'Secret' ? ' (contents not shown)' : ''}`),
  };
}

const DRIFT_REASONS = new Set(['DriftDetected', 'DriftCorrected']);

/** Reads the Package page; undefined when the Package does not exist (or the user may not read it). */
export async function readPackageDetail(client: KubeClient, namespace: string, name: string, events: readonly EventView[]): Promise<PackageDetail | undefined> {
  const pkg = await client.get<Package>(packageRef(namespace, name));
  if (!pkg) return undefined;
  const [source, revisions] = await Promise.all([
    client.get<SourceObject>(sourceRefOf(pkg)).catch(() => undefined),
    listRevisions(client, namespace, name).catch((): PackageRevision[] => []),
  ]);
  const current = revisions.find((r) => r.spec.revision === pkg.status?.currentRevision);
  const { phases, notShown } = await readPhases(client, pkg, current);
  const drift = events.filter((e) => DRIFT_REASONS.has(e.reason));
  return {
    summary: packageRow(pkg, events.at(-1)),
    source: source ? sourceRow(source, [`${namespace}/${name}`]) : undefined,
    phases,
    objectsNotShown: notShown,
    history: timeline(pkg, revisions),
    conditions: conditionViews(pkg.status?.conditions),
    events: [...events].reverse().slice(0, 50),
    drift: [...drift].reverse().slice(0, 20),
    values: valuesOf(pkg),
    spec: {
      interval: pkg.spec.interval, timeout: pkg.spec.timeout, driftMode: pkg.spec.drift?.mode ?? 'correct',
      rollbackOnFailure: pkg.spec.rollback?.onFailure === true, serviceAccountName: pkg.spec.serviceAccountName, path: pkg.spec.path,
    },
  };
}
