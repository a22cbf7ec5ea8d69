/**
 * The `trellis` command line. Each subcommand lives in its own module; this file
 * only wires them into commander.
 */
import { Command } from 'commander';
import { checkoutCommands } from './bin/checkout-commands.ts';
import { installCommands } from './install/index.ts';
import { imageCommand } from './image/command.ts';
import { packageCommand } from './package/index.ts';
import { pushCommand } from './push.ts';
import { uiCommand } from './ui.ts';

const program = new Command()
  .name('trellis')
  .description('Trellis: a GitOps package manager that runs as Kubernetes controllers')
  .showHelpAfterError();

// up, build, dev: only when run from a checkout (the shipped builds have none of them).
for (const command of checkoutCommands()) program.addCommand(command);
program.addCommand(pushCommand());
program.addCommand(packageCommand());
program.addCommand(imageCommand());
for (const command of installCommands()) program.addCommand(command);
program.addCommand(uiCommand());

// No top-level await: the shipped builds are CommonJS (hack/build-cli.ts). A failure still
// ends the process with its stack, as an unhandled rejection.
void program.parseAsync(process.argv);
