/**
 * `kubectl package rollback NAME [--to N]`: pins the Package to one of its
 * PackageRevisions (`spec.rollback.revision`). The apply controller re-applies
 * that revision's own recorded objects and holds the Package there while the
 * source moves on; `--unpin` removes the pin so it follows the source again.
 * Without `--to`, the pin is the newest revision before the current one that
 * was healthy (Available, or Superseded by a later healthy one).
 */
import { Command } from 'commander';
import { listRevisions, packageResource, type Package, type PackageRevision } from '../../apply-controller/index.ts';
import type { ObjectRef } from '../../runtime/object.ts';
import { parsePositiveInt, timeoutOption } from './args.ts';
import { examples, runAction, withClusterFlags, type ClusterFlags, type CommandIO } from './context.ts';
import { CliError } from './errors.ts';
import { shortRevision } from './format.ts';
import { readPackage } from './list.ts';
import { FIELD_MANAGER } from './objects.ts';
import { pollUntil, readyVerdict, revisionVerdict } from './wait.ts';

/** Flags of `rollback`. */
export interface RollbackFlags extends ClusterFlags {
  readonly to?: number;
  readonly unpin?: boolean;
  readonly wait?: boolean;
  readonly timeout?: number;
}

/** Phases of a revision that was healthy once. */
function wasHealthy(rev: PackageRevision): boolean {
  return rev.status?.phase === 'Available' || rev.status?.phase === 'Superseded';
}

/**
 * The revision `rollback` pins: `to` when given (it must exist and have been
 * healthy), else the newest healthy revision below `current`. Throws CliError
 * saying why there is none. Pure.
 */
export function chooseRollbackRevision(revisions: readonly PackageRevision[], current: number | undefined,
  to: number | undefined, name: string): PackageRevision {
  if (to !== undefined) {
    const chosen = revisions.find((r) => r.spec.revision === to);
    if (!chosen) {
      const known = revisions.map((r) => r.spec.revision).join(', ');
      throw new CliError(`${name} has no revision ${to}${known ? ` (revisions: ${known})` : ''}`);
    }
    if (!wasHealthy(chosen)) {
      const phase = chosen.status?.phase ?? 'not finished';
      throw new CliError(`revision ${to} of ${name} is ${phase}${chosen.status?.message ? ` (${chosen.status.message})` : ''}: only a revision that was healthy can be rolled back to`);
    }
    return chosen;
  }
  if (current === undefined) throw new CliError(`${name} has no current revision yet: nothing to roll back from`);
  const earlier = revisions.filter((r) => r.spec.revision < current && wasHealthy(r));
  const chosen = earlier.at(-1);
  if (!chosen) throw new CliError(`${name} has no healthy revision before revision ${current} to roll back to`);
  return chosen;
}

function packageRef(namespace: string, name: string): ObjectRef {
  return { apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace, name };
}

/** Runs `rollback`. */
export async function rollbackPackage(io: CommandIO, name: string, flags: RollbackFlags): Promise<void> {
  if (flags.unpin && flags.to !== undefined) throw new CliError('give either --to or --unpin');
  const { pkg, target } = await readPackage(io, flags, name);
  const { client, namespace } = target;
  const ref = packageRef(namespace, name);
  const timeoutMs = flags.timeout ?? 300_000;
  if (flags.unpin) {
    if (pkg.spec.rollback?.revision === undefined) {
      io.term.out(`package.apply.trellis.dev/${name} is not pinned\n`);
      return;
    }
    // A merge patch, not an apply: `install` applies the rest of the spec as the same manager.
    await client.patch(ref, { spec: { rollback: { revision: null } } }, { fieldManager: FIELD_MANAGER });
    io.term.out(`package.apply.trellis.dev/${name} unpinned: it follows its source again\n`);
    if (flags.wait) {
      io.term.out(`${await pollUntil(io.term, async () => readyVerdict(await client.get<Package>(ref)),
        { timeoutMs, what: `waiting for ${name} to follow its source` })}\n`);
    }
    return;
  }
  const revisions = await listRevisions(client, namespace, name);
  const chosen = chooseRollbackRevision(revisions, pkg.status?.currentRevision, flags.to, name);
  const number = chosen.spec.revision;
  await client.patch(ref, { spec: { rollback: { revision: number } } }, { fieldManager: FIELD_MANAGER });
  io.term.out(`package.apply.trellis.dev/${name} rolled back: pinned to revision ${number} (${shortRevision(chosen.spec.source.revision)})\n`);
  io.term.err(`note: ${name} stays at revision ${number} until "kubectl package rollback ${name} --unpin"\n`);
  if (flags.wait) {
    io.term.out(`${await pollUntil(io.term, async () => revisionVerdict(await client.get<Package>(ref), number),
      { timeoutMs, what: `waiting for ${name} to run revision ${number}` })}\n`);
  }
}

/** The `rollback` subcommand. */
export function rollbackCommand(io: CommandIO): Command {
  const cmd = new Command('rollback')
    .description('pin a Package to an earlier revision (the previous healthy one by default)')
    .argument('<name>', 'name of the Package')
    .option('--to <revision>', 'the revision number to roll back to (see "kubectl package history")', parsePositiveInt)
    .option('--unpin', 'remove the pin: follow the source again', false)
    .option('--wait', 'wait until the Package runs the revision and is Ready', false)
    .addOption(timeoutOption());
  withClusterFlags(cmd);
  return cmd
    .addHelpText('after', examples('kubectl package rollback web', 'kubectl package rollback web --to 1 --wait', 'kubectl package rollback web --unpin'))
    .action(async (name: string, flags: RollbackFlags) => { await runAction(io, () => rollbackPackage(io, name, flags)); });
}
