// Runs after `npm test` stopped the shared cluster: every process the run started
// (etcd, kube-apiserver, registries, git servers, controllers) has its state under
// TRELLIS_TEST_RUN_DIR, so any process whose command line or working folder names
// it is a leftover (git's upload-pack runs inside the repo with a bare `.`).
import test from 'ava';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

test('no process of the test run is left behind', (t) => {
  const runDir = process.env.TRELLIS_TEST_RUN_DIR;
  if (!runDir) return t.fail('TRELLIS_TEST_RUN_DIR is not set: run this through npm test');
  const leftovers: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline: string;
    let cwd = '';
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      cwd = readlinkSync(`/proc/${entry}/cwd`);
    } catch {
      continue;
    }
    if (cmdline.includes(runDir) || cwd.startsWith(runDir)) leftovers.push(`${entry} (in ${cwd}): ${cmdline.slice(0, 200)}`);
  }
  t.deepEqual(leftovers, [], 'processes still running');
});
