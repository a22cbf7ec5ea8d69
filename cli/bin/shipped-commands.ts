/**
 * What the shipped builds use in place of `checkout-commands.ts` (see there and
 * hack/build-cli.ts): no local-environment or package-building commands.
 */
import type { Command } from 'commander';

/** None: `up`, `build` and `dev` need a checkout of Trellis. */
export function checkoutCommands(): Command[] {
  return [];
}
