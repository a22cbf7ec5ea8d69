// Runs after `npm test` stopped the shared cluster: every process the run started
// (etcd, kube-apiserver, registries, git servers, controllers) has its state under
// TRELLIS_TEST_RUN_DIR, so any process whose command line names it is a leftover.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';

test('no process of the test run is left behind', (t) => {
  const runDir = process.env.TRELLIS_TEST_RUN_DIR;
  if (!runDir) return t.fail('TRELLIS_TEST_RUN_DIR is not set: run this through npm test');
  const leftovers: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (cmdline.includes(runDir)) leftovers.push(`${entry}: ${cmdline.slice(0, 200)}`);
  }
  t.deepEqual(leftovers, [], 'processes still running');
});
