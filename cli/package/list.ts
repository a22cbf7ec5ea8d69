/**
 * `kubectl package list` and `kubectl package get NAME`: Packages as a
 * kubectl-style table (NAME, READY, REVISION, AGE, MESSAGE; `-A` adds
 * NAMESPACE, `-o wide` the source, revision number and suspension), or as
 * JSON, YAML, names or a JSONPath template; `-l` selects by label and `-w`
 * keeps printing changes.
 */
import { Command } from 'commander';
import { packageResource, type Package } from '../../apply-controller/index.ts';
import { getCondition } from '../../runtime/conditions.ts';
import type { KubeClient, ListOptions } from '../../runtime/kube.ts';
import type { ResourceType } from '../../runtime/object.ts';
import { examples, runAction, target, withClusterFlags, type ClusterFlags, type CommandIO } from './context.ts';
import { CliError, NotFoundError } from './errors.ts';
import { age, formatTable, shortRevision, statusColor, type Cell } from './format.ts';
import { renderFormatted, type OutputFormat } from './output.ts';

/** The table columns of a Package, without NAMESPACE. */
export const PACKAGE_COLUMNS = ['NAME', 'READY', 'REVISION', 'AGE', 'MESSAGE'] as const;

/** The columns of `-o wide`: the source, the PackageRevision number, and whether it is suspended, before MESSAGE. */
export const WIDE_PACKAGE_COLUMNS = ['NAME', 'READY', 'REVISION', 'AGE', 'SOURCE', 'CURRENT', 'SUSPENDED', 'MESSAGE'] as const;

/** One table row for a Package (NAMESPACE first when `withNamespace`; the wide columns when `wide`). */
export function packageRow(pkg: Package, now: Date, withNamespace = false, wide = false): Cell[] {
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
    ...(wide ? wideCells(pkg) : []),
    message,
  ];
  return withNamespace ? [pkg.metadata.namespace ?? '', ...row] : row;
}

function wideCells(pkg: Package): Cell[] {
  const ref = pkg.spec.sourceRef;
  const sourceNamespace = ref.namespace !== undefined && ref.namespace !== pkg.metadata.namespace ? `${ref.namespace}/` : '';
  return [
    `${ref.kind}/${sourceNamespace}${ref.name}`,
    pkg.status?.currentRevision === undefined ? '' : String(pkg.status.currentRevision),
    pkg.spec.suspend === true ? 'True' : 'False',
  ];
}

/** The table of Packages, sorted by namespace then name (as kubectl lists them). */
export function packageTable(packages: readonly Package[], now: Date, withNamespace: boolean, color = false, wide = false): string {
  const sorted = [...packages].sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '')
    || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  const columns = wide ? WIDE_PACKAGE_COLUMNS : PACKAGE_COLUMNS;
  const headers = withNamespace ? ['NAMESPACE', ...columns] : [...columns];
  return formatTable(headers, sorted.map((p) => packageRow(p, now, withNamespace, wide)), color);
}

/** What `list` and `get` show, and how. */
interface Listing {
  readonly format: OutputFormat;
  readonly withNamespace: boolean;
  /** `get NAME`: one object, printed as itself (not a List) by json/yaml/jsonpath. */
  readonly single: boolean;
}

/** Packages in the listing's format (the header only when `header`). */
function renderPackages(io: CommandIO, packages: readonly Package[], listing: Listing, header = true): string {
  const { format } = listing;
  if (format === 'table' || format === 'wide') {
    const text = packageTable(packages, io.now(), listing.withNamespace, io.term.color, format === 'wide');
    return header ? text : text.slice(text.indexOf('\n') + 1);
  }
  return renderFormatted(packages, format, !listing.single);
}

const PACKAGE_TYPE = { apiVersion: packageResource.apiVersion, kind: packageResource.kind };

/**
 * Prints every change of the listed Packages until the IO's signal ends it (or
 * the process is interrupted): one row (or object) per change, as
 * `kubectl get -w` does. A watch the server closes is started again from the
 * last version seen; one that expired lists again.
 */
async function watchPackages(io: CommandIO, client: KubeClient, type: ResourceType, options: ListOptions,
  listing: Listing, resourceVersion: string | undefined): Promise<void> {
  let version = resourceVersion;
  const signal = io.signal;
  const stopped = (): boolean => signal?.aborted === true;
  while (!stopped()) {
    // An ERROR event ends this watch from inside the callback: its status decides what comes next.
    const ended = new AbortController();
    const state: { failure?: KubeWatchError } = {};
    try {
      await client.watch<Package>(type, { ...options, resourceVersion: version, signal: signal ? AbortSignal.any([signal, ended.signal]) : ended.signal }, (event) => {
        if (state.failure !== undefined) return;
        if (event.type === 'ERROR') {
          state.failure = new KubeWatchError(event.object as unknown as { code?: number; message?: string });
          ended.abort();
          return;
        }
        version = event.object.metadata.resourceVersion ?? version;
        if (event.type !== 'BOOKMARK') io.term.out(renderPackages(io, [event.object], { ...listing, single: true }, false));
      });
    } catch (err) {
      if (stopped()) return;
      if (state.failure === undefined) throw err;
    }
    if (state.failure !== undefined) {
      if (state.failure.code !== 410) throw new CliError(`the watch failed: ${state.failure.message}`);
      version = (await client.list<Package>(type, options)).resourceVersion;
    }
  }
}

/** An ERROR event in a watch (410: the version expired). */
class KubeWatchError extends Error {
  readonly code: number | undefined;

  constructor(status: { code?: number; message?: string }) {
    super(status.message ?? 'the watch failed');
    this.code = status.code;
  }
}

/** Runs `list` (and `get` without a name). */
export async function listPackages(io: CommandIO, flags: ClusterFlags): Promise<void> {
  const { client, namespace } = target(io, flags);
  const all = flags.allNamespaces === true;
  const type: ResourceType = { ...PACKAGE_TYPE, ...(all ? {} : { namespace }) };
  const options: ListOptions = flags.selector ? { labelSelector: flags.selector } : {};
  const list = await client.list<Package>(type, options);
  const listing: Listing = { format: flags.output ?? 'table', withNamespace: all, single: false };
  const table = listing.format === 'table' || listing.format === 'wide';
  if (list.items.length === 0 && table) {
    const where = all ? '' : ` in ${namespace} namespace`;
    io.term.err(`No packages found${where}${flags.selector ? ` matching ${flags.selector}` : ''}.\n`);
  } else {
    io.term.out(renderPackages(io, list.items, listing));
  }
  if (flags.watch) await watchPackages(io, client, type, options, listing, list.resourceVersion);
}

/** Reads one Package or throws NotFoundError naming it. */
export async function readPackage(io: CommandIO, flags: ClusterFlags, name: string): Promise<{ pkg: Package; target: ReturnType<typeof target> }> {
  const t = target(io, flags);
  const pkg = await t.client.get<Package>({ ...PACKAGE_TYPE, namespace: t.namespace, name });
  if (!pkg) throw new NotFoundError(`package "${name}" not found in namespace ${t.namespace}`);
  return { pkg, target: t };
}

/** Runs `get NAME` (without a name: `list`). */
export async function getPackage(io: CommandIO, name: string | undefined, flags: ClusterFlags): Promise<void> {
  if (name === undefined) return listPackages(io, flags);
  if (flags.selector) throw new CliError('give a name or a selector (-l), not both');
  if (flags.allNamespaces) throw new CliError('-A lists every namespace: leave out the name, or use -n NAMESPACE');
  const { pkg, target: t } = await readPackage(io, flags, name);
  const listing: Listing = { format: flags.output ?? 'table', withNamespace: false, single: true };
  io.term.out(renderPackages(io, [pkg], listing));
  if (flags.watch) {
    await watchPackages(io, t.client, { ...PACKAGE_TYPE, namespace: t.namespace }, { fieldSelector: `metadata.name=${name}` },
      listing, pkg.metadata.resourceVersion);
  }
}

/** The `list` subcommand. */
export function listCommand(io: CommandIO): Command {
  const cmd = new Command('list').alias('ls').description('list Packages');
  withClusterFlags(cmd, { allNamespaces: true, output: 'table', selectAndWatch: true });
  return cmd
    .addHelpText('after', examples('kubectl package list', 'kubectl package list -A -o wide', 'kubectl package list -l team=shop -w',
      'kubectl package list -o jsonpath=\'{range .items[*]}{.metadata.name}{"\\n"}{end}\''))
    .action(async (flags: ClusterFlags) => { await runAction(io, () => listPackages(io, flags)); });
}

/** The `get` subcommand. */
export function getCommand(io: CommandIO): Command {
  const cmd = new Command('get').description('show one Package (without a name: like list)').argument('[name]', 'name of the Package');
  withClusterFlags(cmd, { allNamespaces: true, output: 'table', selectAndWatch: true });
  return cmd
    .addHelpText('after', examples('kubectl package get web', 'kubectl package get web -o yaml', 'kubectl package get web -w',
      'kubectl package get web -o jsonpath=\'{.status.lastAppliedRevision}\''))
    .action(async (name: string | undefined, flags: ClusterFlags) => { await runAction(io, () => getPackage(io, name, flags)); });
}
