/**
 * `kubectl package suspend NAME` / `resume NAME`: sets `spec.suspend` on the
 * Package (and, with `--with-source`, on its source). A suspended Package is
 * left alone by the apply controller — no apply, no prune, no drift correction —
 * until it is resumed; `resume` also asks for a reconcile so it catches up at once.
 */
import { Command } from 'commander';
import { packageResource, type Package } from '../../apply-controller/index.ts';
import type { ObjectRef } from '../../runtime/object.ts';
import { timeoutOption } from './args.ts';
import { examples, runAction, withClusterFlags, type ClusterFlags, type CommandIO } from './context.ts';
import { readPackage } from './list.ts';
import { FIELD_MANAGER } from './objects.ts';
import { requestReconcile, sourceRefOf } from './reconcile.ts';
import { pollUntil, reconcileVerdict } from './wait.ts';

/** Flags of `suspend` and `resume`. */
export interface SuspendFlags extends ClusterFlags {
  readonly withSource?: boolean;
  readonly wait?: boolean;
  readonly timeout?: number;
}

/** Sets `spec.suspend` to `suspend` on the Package (and its source); `resume` then requests a reconcile. */
export async function setSuspended(io: CommandIO, name: string, suspend: boolean, flags: SuspendFlags): Promise<void> {
  const { pkg, target } = await readPackage(io, flags, name);
  const { client } = target;
  const ref: ObjectRef = { apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace: target.namespace, name };
  const refs = flags.withSource ? [sourceRefOf(pkg), ref] : [ref];
  const requestedAt = io.now().toISOString();
  for (const r of refs) {
    // `false` rather than removing the field: the CRD defaults it to false anyway, and the spec says so plainly.
    await client.patch(r, { spec: { suspend } }, { fieldManager: FIELD_MANAGER });
    if (!suspend) await requestReconcile(client, r, requestedAt);
    io.term.out(`${r.kind.toLowerCase()}.${r.apiVersion.split('/')[0] ?? ''}/${r.name} ${suspend ? 'suspended' : 'resumed'}\n`);
  }
  if (!suspend && flags.wait) {
    io.term.out(`${await pollUntil(io.term, async () => reconcileVerdict(await client.get<Package>(ref), requestedAt),
      { timeoutMs: flags.timeout ?? 300_000, what: `waiting for ${name} to reconcile` })}\n`);
  }
}

function suspendLike(io: CommandIO, verb: 'suspend' | 'resume'): Command {
  const suspend = verb === 'suspend';
  const cmd = new Command(verb)
    .description(suspend
      ? 'stop the apply controller from touching a Package (no apply, prune or drift correction)'
      : 'let the apply controller manage a suspended Package again, reconciling it now')
    .argument('<name>', 'name of the Package')
    .option('--with-source', `${verb} its source too`, false);
  if (!suspend) {
    cmd.option('--wait', 'wait until the reconcile finished; fail when it did not end Ready', false)
      .addOption(timeoutOption());
  }
  withClusterFlags(cmd);
  return cmd
    .addHelpText('after', examples(`kubectl package ${verb} web`, `kubectl package ${verb} web --with-source -n shop`))
    .action(async (name: string, flags: SuspendFlags) => { await runAction(io, () => setSuspended(io, name, suspend, flags)); });
}

/** The `suspend` subcommand. */
export function suspendCommand(io: CommandIO): Command {
  return suspendLike(io, 'suspend');
}

/** The `resume` subcommand. */
export function resumeCommand(io: CommandIO): Command {
  return suspendLike(io, 'resume');
}
