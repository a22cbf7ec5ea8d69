/**
 * Child process of the Git workload: one fetch the way the source-controller
 * does it (resolve the branch, fetchTree, packTree into an artifact tarball),
 * timed inside the process so Node's own start-up is not counted (a controller
 * is a long-running process). Prints one JSON line.
 *
 * Usage: node bench/child/git-fetch.ts <repo-url> <branch> <work-dir>
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fetchTree } from '../../source-controller/git/fetch.ts';
import { packTree } from '../../source-controller/git/pack.ts';
import { resolveRef } from '../../source-controller/git/refs.ts';
import { readProcessMemory } from '../framework/memory.ts';

const [url, branch, work] = process.argv.slice(2);
if (!url || !branch || !work) {
  process.stderr.write('usage: git-fetch.ts <repo-url> <branch> <work-dir>\n');
  process.exit(2);
}
mkdirSync(work, { recursive: true });
const before = readProcessMemory('self');
const t0 = performance.now();
const resolved = await resolveRef(url, { branch });
const t1 = performance.now();
const tree = await fetchTree(url, resolved, join(work, 'tree'));
const t2 = performance.now();
const packed = await packTree(tree.dir, join(work, 'artifact.tar.gz'));
const t3 = performance.now();
const after = readProcessMemory('self');
rmSync(work, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({
  ms: t3 - t0, resolveMs: t1 - t0, fetchMs: t2 - t1, packMs: t3 - t2,
  artifactBytes: packed.size, revision: tree.revision,
  rssBefore: before?.rss ?? 0, hwm: after?.hwm ?? 0,
})}\n`);
