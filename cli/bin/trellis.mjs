#!/usr/bin/env node
// `trellis`: runs cli/trellis.ts on Node 24 (installed into .tools/ when the system Node is older).
import { run } from '../../hack/bootstrap.mjs';

await run('cli/trellis.ts', process.argv.slice(2));
