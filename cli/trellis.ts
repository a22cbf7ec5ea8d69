/**
 * The `trellis` command line. Each subcommand lives in its own module; this file
 * only wires them into commander.
 */
import { Command } from 'commander';
import { checkoutCommands } from './bin/checkout-commands.ts';
import { endOnUsageError } from './bin/exit.ts';
import { installCommands } from './install/index.ts';
import { imageCommand } from './image/command.ts';
import { completeCommand, completionCommand } from './package/completion.ts';
import { processIO } from './package/context.ts';
import { packageCommand } from './package/index.ts';
import { clientVersionLine, versionCommand } from './package/version.ts';
import { pushCommand } from './push.ts';
import { uiCommand } from './ui.ts';

const program = new Command()
  .name('trellis')
  .description('Trellis: a GitOps package manager that runs as Kubernetes controllers')
  .version(clientVersionLine(), '--version', 'print the version of trellis')
  // Program options only before a subcommand: `package install --version RANGE` is install's own flag.
  .enablePositionalOptions()
  .showHelpAfterError();

// up, build, dev: only when run from a checkout (the shipped builds have none of them).
for (const command of checkoutCommands()) program.addCommand(command);
program.addCommand(pushCommand());
program.addCommand(packageCommand());
program.addCommand(imageCommand());
for (const command of installCommands()) program.addCommand(command);
program.addCommand(uiCommand());
program.addCommand(versionCommand(processIO()));
program.addCommand(completionCommand(processIO(), 'trellis'));
program.addCommand(completeCommand(processIO(), () => program), { hidden: true });

// No top-level await: the shipped builds are CommonJS (hack/build-cli.ts). A failure still
// ends the process with its stack, as an unhandled rejection.
void program.parseAsync(process.argv).catch(endOnUsageError);
