/**
 * `kubectl package …` in the shipped builds (hack/build-cli.ts): the kubectl-package
 * plugin alone, the same commands as `trellis package …`. (The checkout runs
 * kubectl-package.mjs, which goes through cli/trellis.ts.)
 */
import { packageCommand } from '../package/index.ts';
import { endOnUsageError } from './exit.ts';

// No top-level await: the shipped builds are CommonJS.
void packageCommand().name('kubectl package').parseAsync(process.argv).catch(endOnUsageError);
