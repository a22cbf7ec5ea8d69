/**
 * `kubectl package diff NAME [--values f] [--set k=v]`: what the next revision
 * would change in the cluster — the source's current artifact rendered with the
 * Package's values (plus the given ones) through the apply controller's own
 * bundle reader, compared with server-side dry-run applies by the apply engine's
 * diff (field manager `trellis`, the package's labels and drift-ignore rules),
 * and the objects a prune would delete. Secret values are masked by the engine.
 * Nothing is written. Like `kubectl diff`, exits 1 when there are differences.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import type { Package } from '../../apply-controller/api.ts';
import { ArtifactCache } from '../../apply-controller/artifact.ts';
import { mergeValues, type Values } from '../../apply-controller/bundle/values.ts';
import { inventoryOf, staleEntries } from '../../apply-controller/inventory.ts';
import { KindScopes, readPackageBundle } from '../../apply-controller/reconcile/bundle.ts';
import { settingsOf } from '../../apply-controller/reconcile/settings.ts';
import { readValuesFrom } from '../../apply-controller/reconcile/values.ts';
import { BundleValidationError } from '../../apply-controller/bundle/problems.ts';
import { diffObjects, type ObjectDiff } from '../../apply-controller/ssa/diff.ts';
import { packageLabels } from '../../apply-controller/ssa/options.ts';
import type { InventoryEntry } from '../../apply-controller/ssa/objects.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { collect } from './args.ts';
import { examples, runAction, withClusterFlags, type ClusterFlags, type CommandIO } from './context.ts';
import { CliError, ExitStatus } from './errors.ts';
import { paint, type Color } from './format.ts';
import { readValuesFiles } from './install.ts';
import { readPackage } from './list.ts';
import { renderObjects } from './output.ts';
import { sourceRefOf } from './reconcile.ts';
import { applySetValues, SetValueError, setsWithoutSchema } from './set-values.ts';
import type { SourceObject } from './wait.ts';

/** Flags of `diff`. */
export interface DiffFlags extends ClusterFlags {
  readonly values?: readonly string[];
  readonly set?: readonly string[];
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
  const sets = flags.set ?? [];
  const files = flags.values ?? [];
  let values: Values | undefined = pkg.spec.values;
  if (files.length > 0) values = mergeValues(values ?? {}, readValuesFiles(files));
  if (sets.length === 0) return values;
  if (!schema) throw new CliError(setsWithoutSchema(sets).message);
  try {
    return applySetValues(schema, values ?? {}, sets);
  } catch (err) {
    if (err instanceof SetValueError) throw new CliError(err.message);
    throw err;
  }
}

/** Computes what the next revision of the Package would change. Writes nothing. */
export async function computeDiff(io: CommandIO, name: string, flags: DiffFlags): Promise<PackageDiff> {
  const { pkg, target } = await readPackage(io, flags, name);
  const { client } = target;
  const namespace = pkg.metadata.namespace ?? '';
  const source = await client.get<SourceObject>(sourceRefOf(pkg));
  const artifact = source?.status?.artifact;
  if (!source) throw new CliError(`the source ${pkg.spec.sourceRef.kind}/${pkg.spec.sourceRef.name} of ${name} does not exist`);
  if (!artifact) throw new CliError(`the source ${pkg.spec.sourceRef.kind}/${pkg.spec.sourceRef.name} has no artifact yet`);
  const settings = settingsOf(pkg);
  const cacheDir = await mkdtemp(join(tmpdir(), 'kubectl-package-diff-'));
  try {
    const cache = new ArtifactCache({ dir: cacheDir, maxEntries: 1 });
    return await cache.withArtifact(artifact, async (dir) => {
      const scopes = new KindScopes(client);
      const valuesFrom = await readValuesFrom(client, pkg);
      const read = (values: Values | undefined) => readPackageBundle(dir, pkg, scopes, { values, valuesFrom, restricted: false });
      let bundle;
      try {
        const first = await read(pkg.spec.values);
        const values = valuesFor(pkg, flags, first.manifest?.values.schema);
        bundle = values === pkg.spec.values ? first : await read(values);
      } catch (err) {
        if (err instanceof BundleValidationError) throw new CliError(`the package cannot be applied: ${err.message}`);
        throw err;
      }
      const changes = await diffObjects(client, bundle.objects, {
        fieldManager: 'trellis', labels: packageLabels(name, namespace), ignore: settings.ignore,
      });
      const prune = settings.prune ? staleEntries(pkg.status?.inventory, inventoryOf(bundle.objects)) : [];
      return { revision: artifact.revision, changes: changes.filter((d) => d.action !== 'none'), prune };
    });
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}

/** Runs `diff`. */
export async function diffPackage(io: CommandIO, name: string, flags: DiffFlags): Promise<void> {
  const diff = await computeDiff(io, name, flags);
  const format = flags.output ?? 'table';
  if (format === 'table') io.term.out(formatDiff(diff, io.term.color));
  else io.term.out(renderObjects([diff as unknown as KubeObject], format));
  if (diff.changes.length > 0 || diff.prune.length > 0) throw new ExitStatus(1);
}

/** The `diff` subcommand. */
export function diffCommand(io: CommandIO): Command {
  const cmd = new Command('diff')
    .description('show what the next revision would change (server-side dry-run; secret values masked); exits 1 when something would change')
    .argument('<name>', 'name of the Package')
    .option('-f, --values <file>', 'values to diff with, merged over the Package\'s (repeatable)', collect)
    .option('--set <key=value>', 'a value to diff with, typed by the package\'s schema (repeatable)', collect);
  withClusterFlags(cmd, { output: 'table' });
  return cmd
    .addHelpText('after', examples('kubectl package diff web', 'kubectl package diff web --set replicas=5'))
    .action(async (name: string, flags: DiffFlags) => { await runAction(io, () => diffPackage(io, name, flags)); });
}
