/**
 * The `package` command group — `trellis package …`, and `kubectl package …`
 * through the kubectl-package plugin binary. One module per subcommand; this
 * file only assembles them.
 */
import { Command, CommanderError } from 'commander';
import { adoptCommand } from './adopt.ts';
import { completeCommand, completionCommand } from './completion.ts';
import { processIO, usageExitOverride, type CommandIO } from './context.ts';
import { diffCommand } from './diff.ts';
import { historyCommand } from './history.ts';
import { installCommand } from './install.ts';
import { getCommand, listCommand } from './list.ts';
import { logsCommand } from './logs.ts';
import { reconcileCommand } from './reconcile.ts';
import { rollbackCommand } from './rollback.ts';
import { statusCommand } from './status.ts';
import { resumeCommand, suspendCommand } from './suspend.ts';
import { uninstallCommand } from './uninstall.ts';
import { clientVersionLine, versionCommand } from './version.ts';

/** The command at the top of `cmd`'s tree (the program). */
export function programOf(cmd: Command): Command {
  let top = cmd;
  while (top.parent) top = top.parent;
  return top;
}

/** The `package` command with every subcommand, writing through `io`. */
export function packageCommand(io: CommandIO = processIO()): Command {
  const cmd = new Command('package')
    .description('install, inspect, upgrade and roll back Trellis packages (also: kubectl package …)')
    .showHelpAfterError()
    // Options of the group only before a subcommand: `install --version RANGE` is install's, not this --version.
    .enablePositionalOptions()
    .version(clientVersionLine(), '--version', 'print the version of kubectl-package')
    .addHelpText('after', [
      '',
      'Quick start:',
      '  kubectl package install web oci://$TRELLIS_REGISTRY/examples/web --version \'^1\' --wait',
      '  kubectl package list',
      '  kubectl package history web',
      '  kubectl package rollback web --to 1',
      '',
    ].join('\n'));
  for (const sub of [
    installCommand(io), listCommand(io), getCommand(io), statusCommand(io), logsCommand(io), historyCommand(io), rollbackCommand(io),
    diffCommand(io), reconcileCommand(io), suspendCommand(io), resumeCommand(io), uninstallCommand(io), adoptCommand(io),
    versionCommand(io), completionCommand(io, 'kubectl-package'),
  ]) cmd.addCommand(sub);
  cmd.addCommand(completeCommand(io, () => programOf(cmd)), { hidden: true });
  return cmd;
}

/** Applies commander settings to a command and all its subcommands (addCommand does not pass them on). */
function configureTree(cmd: Command, configure: (c: Command) => void): void {
  configure(cmd);
  for (const sub of cmd.commands) configureTree(sub, configure);
}

/**
 * Runs `package <argv…>` in-process and resolves with the exit code: usage
 * errors and `--help` go to the IO's terminal instead of exiting the process.
 */
export async function runPackageCli(argv: readonly string[], io: CommandIO): Promise<number> {
  let code = 0;
  const scoped: CommandIO = { ...io, exit: (c) => { code = c; io.exit(c); } };
  const cmd = packageCommand(scoped);
  configureTree(cmd, (c) => {
    c.exitOverride(usageExitOverride(c));
    c.configureOutput({ writeOut: (s) => io.term.out(s), writeErr: (s) => io.term.err(s) });
  });
  try {
    await cmd.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  return code;
}
