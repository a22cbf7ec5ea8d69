/**
 * The commands `trellis` has only when it runs from a checkout of this repository:
 *
 * - `up` starts the local lab (hack/'s control plane, simulated node and registry);
 * - `build` and `dev` run cdk8s package programs, which needs Node 24 (it runs the
 *   package's TypeScript directly) and the kit's sources next to the package.
 *
 * The shipped builds (`npm run build:cli`: the single-file executables and the npm
 * package) replace this module with `shipped-commands.ts`, which has none of them, so
 * nothing of hack/ or the kit's build runner ends up in what users install.
 */
import type { Command } from 'commander';
import { buildCommand } from '../build.ts';
import { devCommand } from '../dev.ts';
import { initCommand } from '../init.ts';
import { upCommand } from '../up.ts';

/** `up`, `init`, `build` and `dev`, in the order `trellis --help` lists them. */
export function checkoutCommands(): Command[] {
  return [upCommand(), initCommand(), buildCommand(), devCommand()];
}
