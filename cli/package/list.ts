/**
 * `kubectl package list` and `kubectl package get NAME`: Packages as a
 * kubectl-style table (NAME, READY, REVISION, AGE, MESSAGE; `-A` adds
 * NAMESPACE), or as JSON/YAML.
 */
import { Command } from 'commander';
import { packageResource, type Package } from '../../apply-controller/index.ts';
import { getCondition } from '../../runtime/conditions.ts';
import { examples, runAction, target, withClusterFlags, type ClusterFlags, type CommandIO } from './context.ts';
import { NotFoundError } from './errors.ts';
import { age, formatTable, shortRevision, statusColor, type Cell } from './format.ts';
import { renderObjects } from './output.ts';

/** The table columns of a Package, without NAMESPACE. */
export const PACKAGE_COLUMNS = ['NAME', 'READY', 'REVISION', 'AGE', 'MESSAGE'] as const;

/** One table row for a Package (NAMESPACE first when `withNamespace`). */
export function packageRow(pkg: Package, now: Date, withNamespace = false): Cell[] {
  const ready = getCondition(pkg.status?.conditions, 'Ready');
  const status = ready?.status ?? 'Unknown';
  let message = ready?.message ?? (pkg.status ? '' : 'waiting for the apply controller');
  if (pkg.spec.suspend === true) message = `Suspended${message ? `: ${message}` : ''}`;
  const pinned = pkg.spec.rollback?.revision;
  if (pinned !== undefined) message = `Pinned to revision ${pinned}${message ? `: ${message}` : ''}`;
  const row: Cell[] = [
    pkg.metadata.name ?? '',
    { text: status, color: statusColor(status) },
    shortRevision(pkg.status?.lastAppliedRevision),
    age(pkg.metadata.creationTimestamp, now),
    message,
  ];
  return withNamespace ? [pkg.metadata.namespace ?? '', ...row] : row;
}

/** The table of Packages, sorted by namespace then name (as kubectl lists them). */
export function packageTable(packages: readonly Package[], now: Date, withNamespace: boolean, color = false): string {
  const sorted = [...packages].sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '')
    || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  const headers = withNamespace ? ['NAMESPACE', ...PACKAGE_COLUMNS] : [...PACKAGE_COLUMNS];
  return formatTable(headers, sorted.map((p) => packageRow(p, now, withNamespace)), color);
}

/** Runs `list`. */
export async function listPackages(io: CommandIO, flags: ClusterFlags): Promise<void> {
  const { client, namespace } = target(io, flags);
  const all = flags.allNamespaces === true;
  const { items } = await client.list<Package>({
    apiVersion: packageResource.apiVersion, kind: packageResource.kind, ...(all ? {} : { namespace }),
  });
  const format = flags.output ?? 'table';
  if (format !== 'table') {
    io.term.out(renderObjects(items, format, true));
    return;
  }
  if (items.length === 0) {
    io.term.err(all ? 'No packages found.\n' : `No packages found in ${namespace} namespace.\n`);
    return;
  }
  io.term.out(packageTable(items, io.now(), all, io.term.color));
}

/** Reads one Package or throws NotFoundError naming it. */
export async function readPackage(io: CommandIO, flags: ClusterFlags, name: string): Promise<{ pkg: Package; target: ReturnType<typeof target> }> {
  const t = target(io, flags);
  const pkg = await t.client.get<Package>({ apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace: t.namespace, name });
  if (!pkg) throw new NotFoundError(`package "${name}" not found in namespace ${t.namespace}`);
  return { pkg, target: t };
}

/** Runs `get`. */
export async function getPackage(io: CommandIO, name: string, flags: ClusterFlags): Promise<void> {
  const { pkg } = await readPackage(io, flags, name);
  const format = flags.output ?? 'table';
  if (format !== 'table') io.term.out(renderObjects([pkg], format));
  else io.term.out(packageTable([pkg], io.now(), false, io.term.color));
}

/** The `list` subcommand. */
export function listCommand(io: CommandIO): Command {
  const cmd = new Command('list').alias('ls').description('list Packages');
  withClusterFlags(cmd, { allNamespaces: true, output: 'table' });
  return cmd
    .addHelpText('after', examples('kubectl package list', 'kubectl package list -A', 'kubectl package list -n shop -o yaml'))
    .action(async (flags: ClusterFlags) => { await runAction(io, () => listPackages(io, flags)); });
}

/** The `get` subcommand. */
export function getCommand(io: CommandIO): Command {
  const cmd = new Command('get').description('show one Package').argument('<name>', 'name of the Package');
  withClusterFlags(cmd, { output: 'table' });
  return cmd
    .addHelpText('after', examples('kubectl package get web', 'kubectl package get web -o yaml'))
    .action(async (name: string, flags: ClusterFlags) => { await runAction(io, () => getPackage(io, name, flags)); });
}
