#!/usr/bin/env node
// `kubectl package …` (a kubectl plugin): the same as `trellis package …`.
import { run } from '../../hack/bootstrap.mjs';

await run('cli/trellis.ts', ['package', ...process.argv.slice(2)]);
