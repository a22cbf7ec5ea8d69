/**
 * `kubectl package diff NAME [--values f] [--set k=v]`: what the next revision
 * would change in the cluster — the source's current artifact planned by the
 * apply controller's public planning API (`planPackage`: the reconciler's own
 * bundle reading, values, tenancy and server-side dry-run diff, Secret values
 * masked) with the Package's values plus the given ones, and the objects a prune
 * would delete. Nothing is written. Exit codes as `kubectl diff` has them, so a
 * script can tell the three apart: 0 no changes, 1 changes, 2 the diff could
 * not be computed (a usage error included).
 */
import { Command } from 'commander';
import {
  BundleValidationError, mergeValues, planPackage, type InventoryEntry, type ObjectDiff, type Package, type Values,
} from '../../apply-controller/index.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { collect } from './args.ts';
import {
  examples, runAction, usageErrorExitCode, withClusterFlags, withErrorExitCode, type ClusterFlags, type CommandIO,
} from './context.ts';
import { CliError, ExitStatus } from './errors.ts';
import { paint, type Color } from './format.ts';
import { readValuesFiles } from './install.ts';
import { readPackage } from './list.ts';
import { renderFormatted } from './output.ts';
import { sourceRefOf } from './reconcile.ts';
import { applyValueFlags } from '../values.ts';
import { SetValueError, setsWithoutSchema } from './set-values.ts';
import type { SourceObject } from './wait.ts';

/** Flags of `diff`. */
export interface DiffFlags extends ClusterFlags {
  readonly values?: readonly string[];
  readonly set?: readonly string[];
  readonly setJson?: readonly string[];
}

/** What the next revision would do. */
export interface PackageDiff {
  /** The source revision the diff was computed from. */
  readonly revision: string;
  /** Objects that would be created or changed. */
  readonly changes: readonly ObjectDiff[];
  /** Objects a prune would delete (inventory ids). */
  readonly prune: readonly InventoryEntry[];
}

const MARKS: Record<string, readonly [string, Color]> = {
  create: ['+', 'green'], update: ['~', 'yellow'], recreate: ['!', 'red'], delete: ['-', 'red'],
};

function shown(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? 'undefined' : text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** The human-readable diff: one block per object, one line per field, and a summary line. */
export function formatDiff(diff: PackageDiff, color = false): string {
  const lines: string[] = [];
  for (const d of diff.changes) {
    const [mark, c] = MARKS[d.action] ?? ['?', 'yellow'];
    lines.push(paint(`${mark} ${d.subject}${d.action === 'recreate' ? ' (delete and re-create: an immutable field changes)' : ''}`, c, color));
    if (d.action === 'create') continue;
    for (const f of d.changes) {
      const text = f.op === 'add' ? `+ ${f.path}: ${shown(f.to)}`
        : f.op === 'remove' ? `- ${f.path}: ${shown(f.from)}`
          : `~ ${f.path}: ${shown(f.from)} -> ${shown(f.to)}`;
      lines.push(`    ${text}`);
    }
  }
  for (const entry of diff.prune) lines.push(paint(`- ${entry.id} (pruned)`, 'red', color));
  const count = (a: string): number => diff.changes.filter((d) => d.action === a).length;
  lines.push(`${count('create')} to create, ${count('update') + count('recreate')} to change, ${diff.prune.length} to delete (source ${diff.revision})`);
  return `${lines.join('\n')}\n`;
}

/** Values for the diff: the Package's, then `--values` files, then `--set` typed by the bundle's schema. */
function valuesFor(pkg: Package, flags: DiffFlags, schema: Record<string, unknown> | undefined): Values | undefined {
  const sets = [...flags.set ?? [], ...flags.setJson ?? []];
  const files = flags.values ?? [];
  let values: Values | undefined = pkg.spec.values;
  if (files.length > 0) values = mergeValues(values ?? {}, readValuesFiles(files));
  if (sets.length === 0) return values;
  if (!schema) throw new CliError(setsWithoutSchema(sets).message);
  try {
    return applyValueFlags(schema, values ?? {}, flags);
  } catch (err) {
    if (err instanceof SetValueError) throw new CliError(err.message);
    throw err;
  }
}

/**
 * Computes what the next revision of the Package would change, as the apply
 * controller would (with the user's credentials, and the tenancy the Package's
 * own spec implies). Writes nothing.
 */
export async function computeDiff(io: CommandIO, name: string, flags: DiffFlags): Promise<PackageDiff> {
  const { pkg, target } = await readPackage(io, flags, name);
  const source = await target.client.get<SourceObject>(sourceRefOf(pkg));
  const artifact = source?.status?.artifact;
  if (!source) throw new CliError(`the source ${pkg.spec.sourceRef.kind}/${pkg.spec.sourceRef.name} of ${name} does not exist`);
  if (!artifact) throw new CliError(`the source ${pkg.spec.sourceRef.kind}/${pkg.spec.sourceRef.name} has no artifact yet`);
  try {
    const plan = await planPackage(pkg, {
      client: target.client, source: { artifact }, values: (_, schema) => valuesFor(pkg, flags, schema),
    });
    return { revision: artifact.revision, changes: plan.changes, prune: plan.prune };
  } catch (err) {
    if (err instanceof BundleValidationError) throw new CliError(`the package cannot be applied: ${err.message}`);
    throw err;
  }
}

/** Runs `diff`. */
export async function diffPackage(io: CommandIO, name: string, flags: DiffFlags): Promise<void> {
  const diff = await computeDiff(io, name, flags);
  const format = flags.output ?? 'table';
  if (format === 'table' || format === 'wide') io.term.out(formatDiff(diff, io.term.color));
  else if (format === 'name') io.term.out([...diff.changes.map((d) => d.subject), ...diff.prune.map((p) => p.id)].map((l) => `${l}\n`).join(''));
  else io.term.out(renderFormatted([diff as unknown as KubeObject], format));
  if (diff.changes.length > 0 || diff.prune.length > 0) throw new ExitStatus(DIFF_CHANGES);
}

/** `diff`'s exit code when the next revision would change something. */
export const DIFF_CHANGES = 1;
/** `diff`'s exit code when it could not tell (an error, a usage error). */
export const DIFF_FAILED = 2;

/** The `diff` subcommand. */
export function diffCommand(io: CommandIO): Command {
  const cmd = new Command('diff')
    .description('show what the next revision would change (server-side dry-run; secret values masked); exits 0 when nothing would change, 1 when something would, 2 on errors')
    .argument('<name>', 'name of the Package')
    .option('-f, --values <file>', 'values to diff with, merged over the Package\'s (repeatable)', collect)
    .option('--set <key=value>', 'a value to diff with, typed by the package\'s schema (repeatable)', collect)
    .option('--set-json <key=json>', 'a value to diff with, as JSON (repeatable; before --set)', collect);
  withClusterFlags(cmd, { output: 'table', formats: ['table', 'json', 'yaml', 'name', 'jsonpath'] });
  usageErrorExitCode(cmd, DIFF_FAILED);
  const scoped = withErrorExitCode(io, DIFF_FAILED);
  return cmd
    .addHelpText('after', `${examples('kubectl package diff web', 'kubectl package diff web --set replicas=5', 'kubectl package diff web -o name')}
Exit status: 0 no changes, 1 something would change, 2 the diff failed.
`)
    .action(async (name: string, flags: DiffFlags) => { await runAction(scoped, () => diffPackage(scoped, name, flags)); });
}
