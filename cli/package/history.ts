/**
 * `kubectl package history NAME`: the PackageRevisions of a Package (labelled
 * `apply.trellis.dev/package=NAME`), oldest first — number, source revision,
 * status, age — with the one the cluster runs marked `(current)`. What it
 * prints went through `revisionForDisplay`: recorded objects only sealed (an
 * unsealed blob, which may hold Secret data, is replaced), messages redacted.
 */
import { Command } from 'commander';
import { listRevisions, revisionForDisplay, type PackageRevision } from '../../apply-controller/index.ts';
import { examples, runAction, withClusterFlags, type ClusterFlags, type CommandIO } from './context.ts';
import { age, formatTable, shortRevision, type Cell, type Color } from './format.ts';
import { readPackage } from './list.ts';
import { renderFormatted } from './output.ts';

const PHASE_COLORS: Record<string, Color> = { Available: 'green', Failed: 'red', Superseded: 'gray' };

/** The history table. */
export function historyTable(revisions: readonly PackageRevision[], current: number | undefined, now: Date, color = false): string {
  const rows = revisions.map((r): Cell[] => {
    const phase = r.status?.phase ?? 'Pending';
    const isCurrent = r.spec.revision === current;
    return [
      String(r.spec.revision),
      shortRevision(r.spec.source.revision),
      { text: isCurrent ? `${phase} (current)` : phase, color: PHASE_COLORS[phase] ?? 'yellow' },
      age(r.metadata.creationTimestamp, now),
      r.status?.message ?? '',
    ];
  });
  return formatTable(['REVISION', 'SOURCE', 'STATUS', 'AGE', 'MESSAGE'], rows, color);
}

/** Runs `history`. */
export async function showHistory(io: CommandIO, name: string, flags: ClusterFlags): Promise<void> {
  const { pkg, target } = await readPackage(io, flags, name);
  const revisions = (await listRevisions(target.client, target.namespace, name)).map(revisionForDisplay);
  const format = flags.output ?? 'table';
  if (format !== 'table' && format !== 'wide') {
    io.term.out(renderFormatted(revisions, format, true));
    return;
  }
  if (revisions.length === 0) {
    io.term.err(`${name} has no revisions yet: the apply controller records one when it applies the package.\n`);
    return;
  }
  io.term.out(historyTable(revisions, (pkg).status?.currentRevision, io.now(), io.term.color));
}

/** The `history` subcommand. */
export function historyCommand(io: CommandIO): Command {
  const cmd = new Command('history').description('list the revisions of a Package (what was applied, from which source)')
    .argument('<name>', 'name of the Package');
  withClusterFlags(cmd, { output: 'table' });
  return cmd
    .addHelpText('after', examples('kubectl package history web', 'kubectl package history web -o yaml'))
    .action(async (name: string, flags: ClusterFlags) => { await runAction(io, () => showHistory(io, name, flags)); });
}
