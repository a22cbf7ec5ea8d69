/**
 * Loaded by AVA in every test worker before its test file (`ava.require` in
 * package.json). Two things a stuck run needs:
 *
 * - A worker whose tests and hooks are all done exits. AVA 7 otherwise waits for
 *   the worker process to end by itself, and a handle some library left open
 *   (a socket, a timer) holds the whole run until `npm test`'s stall
 *   watchdog stops it.
 * - While it runs, the worker leaves `<run dir>/workers/<pid>` naming its test
 *   file, and answers SIGUSR2 by writing what keeps its event loop alive to
 *   `<pid>.resources`. The watchdog reads both to say which file was stuck.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { registerCompletionHandler } from 'ava';
import { workersDir } from '../../hack/lib/stall.ts';

/** Sets the worker up; AVA calls it once, before the test file loads. */
export default function setUpWorker(): void {
  registerCompletionHandler(() => process.exit());
  const runDir = process.env.TRELLIS_TEST_RUN_DIR;
  if (!runDir) return;
  const dir = workersDir(runDir);
  mkdirSync(dir, { recursive: true });
  const marker = join(dir, String(process.pid));
  writeFileSync(marker, fileURLToPath(test.meta.file));
  process.on('exit', () => rmSync(marker, { force: true }));
  process.on('SIGUSR2', () => {
    writeFileSync(join(dir, `${process.pid}.resources`), process.getActiveResourcesInfo().join('\n'));
  });
}
