/**
 * `kubectl package status NAME`: everything about one Package on one screen —
 * its source and what it resolved, the revision it runs (and a pin), its
 * conditions, how many objects of each kind it manages and the health of each
 * (up to {@link OBJECTS_SHOWN}), and its latest Events (events.k8s.io/v1,
 * written by the controllers).
 */
import { Command } from 'commander';
import { parseInventoryId, statusInventory, type Package } from '../../apply-controller/index.ts';
import type { Condition } from '../../runtime/conditions.ts';
import { getCondition } from '../../runtime/conditions.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import { KubeApiError } from '../../runtime/kube-transport.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { examples, runAction, withClusterFlags, type ClusterFlags, type CommandIO } from './context.ts';
import { age, formatTable, oneLine, paint, statusColor, type Cell, type Color } from './format.ts';
import { readObjectHealth, type ObjectHealth } from './object-health.ts';
import { readPackage } from './list.ts';
import { renderFormatted } from './output.ts';
import { sourceRefOf } from './reconcile.ts';
import type { SourceObject } from './wait.ts';

/** An events.k8s.io/v1 Event, the fields shown. */
export interface KubeEvent extends KubeObject {
  type?: string;
  reason?: string;
  note?: string;
  eventTime?: string;
  reportingController?: string;
  series?: { count?: number; lastObservedTime?: string };
  deprecatedCount?: number;
  deprecatedLastTimestamp?: string;
  regarding?: { kind?: string; name?: string; namespace?: string; uid?: string };
}

/** When an event last happened. */
export function eventTime(e: KubeEvent): string | undefined {
  return e.series?.lastObservedTime ?? e.eventTime ?? e.deprecatedLastTimestamp ?? e.metadata?.creationTimestamp;
}

/** Objects of each kind in an inventory (`Deployment`, `Certificate.cert-manager.io`), sorted by kind. */
export function inventoryCounts(inventory: readonly { readonly id: string }[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const entry of inventory) {
    let kind = 'unknown';
    try {
      const key = parseInventoryId(entry.id);
      kind = key.group ? `${key.kind}.${key.group}` : key.kind;
    } catch {
      // an id written by a newer controller: still counted
    }
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return Object.fromEntries([...counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** The latest events about the Package, newest last (as kubectl describe lists them). */
export async function packageEvents(client: KubeClient, pkg: Package, limit = 10): Promise<KubeEvent[]> {
  const namespace = pkg.metadata.namespace ?? 'default';
  const type = { apiVersion: 'events.k8s.io/v1', kind: 'Event', namespace };
  let items: KubeEvent[];
  try {
    items = (await client.list<KubeEvent>(type, { fieldSelector: `regarding.kind=Package,regarding.name=${pkg.metadata.name ?? ''}` })).items;
  } catch (err) {
    // Older apiservers do not know these field labels on events.k8s.io: filter here instead.
    if (!(err instanceof KubeApiError && err.statusCode === 400)) throw err;
    items = (await client.list<KubeEvent>(type)).items;
  }
  const mine = items.filter((e) => e.regarding?.kind === 'Package' && e.regarding.name === pkg.metadata.name
    && (e.regarding.uid === undefined || pkg.metadata.uid === undefined || e.regarding.uid === pkg.metadata.uid));
  mine.sort((a, b) => (eventTime(a) ?? '').localeCompare(eventTime(b) ?? ''));
  return mine.slice(-limit);
}

/** Everything `status` shows, as data (`-o json|yaml` prints this). */
export interface PackageStatusReport {
  readonly package: Package;
  readonly source?: SourceObject | undefined;
  readonly inventory: Record<string, number>;
  /** The health of each managed object (the first {@link OBJECTS_SHOWN}). */
  readonly objects: readonly ObjectHealth[];
  readonly events: readonly KubeEvent[];
}

/** Objects whose health `status` reads and shows. */
export const OBJECTS_SHOWN = 50;

const HEALTH_COLORS: Partial<Record<ObjectHealth['health'], Color>> = { Current: 'green', InProgress: 'yellow', Failed: 'red', NotFound: 'red', Terminating: 'yellow' };

function objectsTable(report: PackageStatusReport, color: boolean): string[] {
  const total = Object.values(report.inventory).reduce((a, b) => a + b, 0);
  if (report.objects.length === 0) return [];
  const rows = report.objects.map((o): Cell[] => [
    o.kind, o.namespace ? `${o.namespace}/${o.name}` : o.name, { text: o.health, color: HEALTH_COLORS[o.health] }, o.message,
  ]);
  const more = total > report.objects.length ? [`  … and ${total - report.objects.length} more (kubectl get with the package's labels lists them)`] : [];
  return ['Objects:', indent(formatTable(['KIND', 'NAME', 'HEALTH', 'MESSAGE'], rows, color)), ...more];
}

function conditionsTable(conditions: readonly Condition[], now: Date, color: boolean): string {
  const rows = conditions.map((c): Cell[] => [c.type, { text: c.status, color: c.type === 'Ready' ? statusColor(c.status) : undefined },
    c.reason, age(c.lastTransitionTime, now), c.message]);
  return formatTable(['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'], rows, color);
}

function indent(text: string): string {
  return text.trimEnd().split('\n').map((l) => `  ${l}`).join('\n');
}

function sourceLines(pkg: Package, source: SourceObject | undefined): string[] {
  const ref = sourceRefOf(pkg);
  const head = `${ref.kind}/${ref.name}${ref.namespace !== pkg.metadata.namespace ? ` (namespace ${ref.namespace})` : ''}`;
  if (!source) return [`Source:       ${head}  (not found)`];
  const follows = source.spec.ref ? Object.entries(source.spec.ref).map(([k, v]) => `${k} ${String(v)}`).join(', ') : 'default';
  const ready = getCondition(source.status?.conditions, 'Ready');
  return [
    `Source:       ${head}  ${source.spec.url}  (${follows})${source.spec.suspend ? '  [suspended]' : ''}`,
    `              Ready=${ready?.status ?? 'Unknown'}  ${oneLine(ready?.message ?? '')}`,
    `              Artifact: ${source.status?.artifact?.revision ?? '(none yet)'}`,
  ];
}

/** The human-readable report. */
export function formatStatus(report: PackageStatusReport, now: Date, color = false): string {
  const { package: pkg } = report;
  const status = pkg.status;
  const pinned = pkg.spec.rollback?.revision;
  const lines = [
    `Name:         ${pkg.metadata.name ?? ''}`,
    `Namespace:    ${pkg.metadata.namespace ?? ''}`,
    ...sourceLines(pkg, report.source),
    `Revision:     ${status?.currentRevision ?? '-'}  ${status?.lastAppliedRevision ?? ''}${pinned !== undefined ? paint(`  (pinned to revision ${pinned})`, 'yellow', color) : ''}`,
    `Attempted:    ${status?.lastAttemptedRevision ?? '-'}`,
    `Suspended:    ${pkg.spec.suspend === true ? paint('yes', 'yellow', color) : 'no'}`,
    `Age:          ${age(pkg.metadata.creationTimestamp, now)}`,
    'Conditions:',
    (status?.conditions ?? []).length > 0 ? indent(conditionsTable(status?.conditions ?? [], now, color)) : '  (none yet: the apply controller has not reported)',
  ];
  const total = Object.values(report.inventory).reduce((a, b) => a + b, 0);
  lines.push(`Inventory:    ${total} object${total === 1 ? '' : 's'}`);
  if (total > 0) lines.push(indent(formatTable(['KIND', 'COUNT'], Object.entries(report.inventory).map(([k, n]) => [k, String(n)]))));
  lines.push(...objectsTable(report, color));
  lines.push('Events:');
  if (report.events.length === 0) lines.push('  <none>');
  else {
    lines.push(indent(formatTable(['TYPE', 'REASON', 'AGE', 'FROM', 'MESSAGE'], report.events.map((e): Cell[] => {
      const count = e.series?.count ?? e.deprecatedCount ?? 1;
      return [
        { text: e.type ?? '', color: e.type === 'Warning' ? 'yellow' : undefined }, e.reason ?? '',
        `${age(eventTime(e), now)}${count > 1 ? ` (x${count})` : ''}`, e.reportingController ?? '', e.note ?? '',
      ];
    }), color)));
  }
  return `${lines.join('\n')}\n`;
}

/** Runs `status`. */
export async function showStatus(io: CommandIO, name: string, flags: ClusterFlags): Promise<void> {
  const { pkg, target } = await readPackage(io, flags, name);
  const { client } = target;
  const inventory = statusInventory(pkg.status);
  const [source, events, objects] = await Promise.all([
    client.get<SourceObject>(sourceRefOf(pkg)),
    packageEvents(client, pkg),
    readObjectHealth(client, inventory, OBJECTS_SHOWN),
  ]);
  const report: PackageStatusReport = { package: pkg, source, inventory: inventoryCounts(inventory), objects, events };
  const format = flags.output ?? 'table';
  if (format === 'table' || format === 'wide' || format === 'name') io.term.out(formatStatus(report, io.now(), io.term.color));
  else io.term.out(renderFormatted([report as unknown as KubeObject], format));
}

/** The `status` subcommand. */
export function statusCommand(io: CommandIO): Command {
  const cmd = new Command('status')
    .description('show a Package\'s source, revision, conditions, objects with their health, and latest events')
    .argument('<name>', 'name of the Package');
  withClusterFlags(cmd, { output: 'table', formats: ['table', 'json', 'yaml', 'jsonpath'] });
  return cmd
    .addHelpText('after', examples('kubectl package status web', 'kubectl package status web -n shop -o json'))
    .action(async (name: string, flags: ClusterFlags) => { await runAction(io, () => showStatus(io, name, flags)); });
}
