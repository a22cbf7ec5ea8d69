/**
 * The `trellis` commands that put Trellis itself into a cluster and take it out:
 * `install`, `check`, `bootstrap`, `uninstall`.
 */
import type { Command } from 'commander';
import { bootstrapCommand } from './bootstrap.ts';
import { checkCommand } from './check.ts';
import { installCommand } from './install.ts';
import { uninstallCommand } from './uninstall.ts';

/** The commands, in the order `trellis --help` lists them. */
export function installCommands(): Command[] {
  return [installCommand(), checkCommand(), bootstrapCommand(), uninstallCommand()];
}
