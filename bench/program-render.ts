/**
 * `node hack/bootstrap.mjs bench/program-render.ts [--renders N]`: the cost of
 * install-time programs for the web example, in one process, without a cluster:
 * compiling it (trellis build's part), a cold render (a fresh sandbox: Worker,
 * QuickJS instance, parsing the program, running it), a cached render (same
 * program digest and values: what an unchanged Package costs), and this
 * process's RSS after N renders with N different values (as N program Packages
 * would leave it: the cache holds the outputs, the sandboxes are gone).
 * Prints one markdown table; the machine's load average goes with it, since
 * renders take a core each.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RenderCache, renderProgram } from '../apply-controller/program/index.ts';
import { projectRoot } from '../hack/lib/system-tools.ts';
import { compileProgram } from '../packages-cdk8s/build/compile.ts';

const { values: args } = parseArgs({ options: { renders: { type: 'string', default: '50' } } });
const renders = Number(args.renders);
const ms = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** The values a Package would give, resolved over the defaults as the controller does before rendering. */
const valuesFor = (over: Record<string, unknown>): Record<string, unknown> => ({
  replicas: 2, image: 'nginx:1.25.3', message: 'Hello from Trellis', ingress: { enabled: false, host: 'web.example.com' }, extraConfigs: {}, ...over,
});

const t0 = process.hrtime.bigint();
const program = await compileProgram(join(projectRoot, 'packages-cdk8s', 'examples', 'web', 'package.ts'));
const compileMs = ms(t0);

const cold: number[] = [];
for (let i = 0; i < 5; i++) {
  const start = process.hrtime.bigint();
  await renderProgram(program.source, program.digest, valuesFor({ replicas: i }), { cache: new RenderCache() });
  cold.push(ms(start));
}
const cache = new RenderCache(renders + 1);
await renderProgram(program.source, program.digest, valuesFor({ replicas: 1 }), { cache });
const warm: number[] = [];
for (let i = 0; i < 20; i++) {
  const start = process.hrtime.bigint();
  await renderProgram(program.source, program.digest, valuesFor({ replicas: 1 }), { cache });
  warm.push(ms(start));
}

const rssBefore = process.memoryUsage().rss;
let peak = rssBefore;
const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
const manyStart = process.hrtime.bigint();
await Promise.all(Array.from({ length: renders }, (_, i) =>
  renderProgram(program.source, program.digest, valuesFor({ replicas: i % 21, message: `package ${i}` }), { cache })));
const manyMs = ms(manyStart);
clearInterval(sampler);
const rssAfter = process.memoryUsage().rss;

process.stdout.write([
  `| web example (program ${(program.source.length / 1024).toFixed(0)} KiB), load ${loadavg().map((l) => l.toFixed(1)).join(' ')} | value |`,
  '| --- | --- |',
  `| compile (esbuild) | ${compileMs.toFixed(0)} ms |`,
  `| cold render, median of 5 | ${median(cold).toFixed(0)} ms (min ${Math.min(...cold).toFixed(0)}) |`,
  `| cached render (same digest and values), median of 20 | ${median(warm).toFixed(2)} ms |`,
  `| ${renders} renders with different values (2 at a time) | ${(manyMs / 1000).toFixed(1)} s |`,
  `| RSS before / peak / after those ${renders} renders | ${mib(rssBefore)} / ${mib(peak)} / ${mib(rssAfter)} |`,
  '',
].join('\n'));
