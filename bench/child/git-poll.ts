/**
 * Child process of the Git workload: the no-op poll of the source-controller
 * (resolveRef: one ref listing, compared with the stored revision), repeated in
 * one warm process as the controller repeats it. The first poll warms the
 * process up and is not counted. Prints one JSON line with every timing.
 *
 * Usage: node bench/child/git-poll.ts <repo-url> <branch> <polls>
 */
import { resolveRef } from '../../source-controller/git/refs.ts';

const [url, branch, count] = process.argv.slice(2);
const polls = Number(count);
if (!url || !branch || !Number.isInteger(polls) || polls < 1) {
  process.stderr.write('usage: git-poll.ts <repo-url> <branch> <polls>\n');
  process.exit(2);
}
await resolveRef(url, { branch });
const samples: number[] = [];
for (let i = 0; i < polls; i++) {
  const t0 = performance.now();
  await resolveRef(url, { branch });
  samples.push(performance.now() - t0);
}
process.stdout.write(`${JSON.stringify({ samples })}\n`);
