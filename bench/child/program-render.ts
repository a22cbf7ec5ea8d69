/**
 * Child process of the program-render workload: the renders of one compiled
 * program in a fresh process, as the apply controller does them — the first
 * render (compiling the QuickJS module, a Worker, a fresh interpreter, parsing
 * the program, running it), renders with new values once the process is warm
 * (each still in a fresh sandbox: only the compiled module is reused), and
 * renders of values already rendered (the cache answers). Timed inside the
 * process; memory from /proc/self/status. Prints one JSON line.
 *
 * Usage: node bench/child/program-render.ts <program.js> <warm renders> <cached renders>
 */
import { readFileSync } from 'node:fs';
import { programDigest, RenderCache, renderProgram } from '../../apply-controller/program/index.ts';
import { readProcessMemory } from '../framework/memory.ts';

const [file, warmText, cachedText] = process.argv.slice(2);
if (!file || !warmText || !cachedText) {
  process.stderr.write('usage: program-render.ts <program.js> <warm renders> <cached renders>\n');
  process.exit(2);
}
const source = readFileSync(file, 'utf8');
const digest = programDigest(source);
/** The values a Package would give, resolved over the web example's defaults as the controller does before rendering. */
const valuesFor = (i: number): Record<string, unknown> => ({
  replicas: 1 + (i % 5), image: 'nginx:1.25.3', message: `package ${i}`, ingress: { enabled: i % 2 === 0, host: 'web.example.com' },
  extraConfigs: { [`extra-${i}`]: { 'a.txt': String(i) } },
});
const cache = new RenderCache();
const timed = async (values: Record<string, unknown>): Promise<number> => {
  const t0 = performance.now();
  await renderProgram(source, digest, values, { cache });
  return performance.now() - t0;
};

const before = readProcessMemory('self');
const coldMs = await timed(valuesFor(0));
const warmMs: number[] = [];
for (let i = 1; i <= Number(warmText); i++) warmMs.push(await timed(valuesFor(i)));
const cachedMs: number[] = [];
for (let i = 0; i < Number(cachedText); i++) cachedMs.push(await timed(valuesFor(1)));
const after = readProcessMemory('self');
process.stdout.write(`${JSON.stringify({
  coldMs, warmMs, cachedMs, misses: cache.misses, hits: cache.hits, programBytes: Buffer.byteLength(source), rssBefore: before?.rss ?? 0, hwm: after?.hwm ?? 0,
})}\n`);
