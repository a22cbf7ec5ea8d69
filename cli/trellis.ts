/**
 * The `trellis` command line. Each subcommand lives in its own module; this file
 * only wires them into commander.
 */
import { Command } from 'commander';
import { buildCommand } from './build.ts';
import { devCommand } from './dev.ts';
import { imageCommand } from './image/command.ts';
import { packageCommand } from './package/index.ts';
import { pushCommand } from './push.ts';
import { upCommand } from './up.ts';

const program = new Command()
  .name('trellis')
  .description('Trellis: a GitOps package manager that runs as Kubernetes controllers')
  .showHelpAfterError();

program.addCommand(upCommand());
program.addCommand(buildCommand());
program.addCommand(pushCommand());
program.addCommand(devCommand());
program.addCommand(packageCommand());
program.addCommand(imageCommand());

await program.parseAsync(process.argv);
