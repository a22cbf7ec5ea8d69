/**
 * The span before the first write of a cold apply, without a cluster: the
 * bench's ConfigMaps written as the cold-apply workload's YAML files, then, pass
 * after pass in this one process, what the apply-controller does with them
 * before it writes anything of its own: read and validate the bundle, the
 * canonical texts and content hash, and the record's plan (chunking,
 * compression, sealing) under a throwaway key. Prints the medians of the
 * passes after the first two (the JIT's warm-up) as one line: the time of each
 * part, the process's CPU and the main thread's garbage collection per pass.
 *
 * A diagnostic, not a workload: run it under the controllers' Node.js options
 * to see what they see (development notes, session 26), and compare builds by
 * alternating processes, not within one.
 *
 * Usage (Node 24 from .tools/, which `npm test` or `npm run bench` installs):
 *   .tools/node_modules/node/bin/node --max-semi-space-size=2 --heap-growing-percent=50 \
 *     bench/tools/prewrite-loop.ts [--objects 5000] [--passes 12]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { readBundle } from '../../apply-controller/bundle/read.ts';
import { builtinIsNamespaced } from '../../apply-controller/bundle/builtin-kinds.ts';
import { contentHashOf, withObjectTexts } from '../../apply-controller/revisions/encode.ts';
import { revisionKey } from '../../apply-controller/revisions/keys.ts';
import { planSliced } from '../../apply-controller/revisions/plan.ts';
import { median } from '../framework/stats.ts';
import { configMaps, manifestFiles, writeFiles } from '../workloads/support/packages.ts';

const { values } = parseArgs({ options: { objects: { type: 'string', default: '5000' }, passes: { type: 'string', default: '12' } } });
const objects = Number(values.objects);
const passes = Number(values.passes);
if (!Number.isInteger(objects) || objects < 1 || !Number.isInteger(passes) || passes < 3) {
  process.stderr.write('usage: prewrite-loop.ts [--objects <n>] [--passes <n, at least 3>]\n');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'trellis-prewrite-'));
let gcMs = 0;
const gc = new PerformanceObserver((list) => { for (const entry of list.getEntries()) gcMs += entry.duration; });
gc.observe({ entryTypes: ['gc'] });
const key = revisionKey('prewrite', randomBytes(32));
const rows: { read: number; texts: number; plan: number; cpu: number; gc: number }[] = [];
try {
  writeFiles(dir, manifestFiles(configMaps(objects), 'cm'));
  for (let pass = 1; pass <= passes; pass += 1) {
    const gcBefore = gcMs;
    const cpuBefore = process.cpuUsage();
    const t0 = performance.now();
    const bundle = await readBundle(dir, { isNamespaced: builtinIsNamespaced, defaultNamespace: 'prewrite' });
    if (!bundle.ok) throw new Error(`the bundle was refused: ${bundle.errors.map((e) => e.message).join('; ')}`);
    const t1 = performance.now();
    const record = withObjectTexts(bundle.phases.map((stage) => ({ name: stage.phase, objects: stage.objects.map((o) => o.object) })));
    contentHashOf(record);
    const t2 = performance.now();
    await planSliced('prewrite', record, { key });
    const t3 = performance.now();
    // A moment for the observer's gc entries of this pass to arrive.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const cpu = process.cpuUsage(cpuBefore);
    rows.push({ read: t1 - t0, texts: t2 - t1, plan: t3 - t2, cpu: (cpu.user + cpu.system) / 1000, gc: gcMs - gcBefore });
    process.stderr.write(`pass ${pass}/${passes}: read ${Math.round(t1 - t0)} ms, texts and hash ${Math.round(t2 - t1)} ms, plan ${Math.round(t3 - t2)} ms\n`);
  }
} finally {
  gc.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
const warm = rows.slice(2);
const ms = (pick: (row: typeof rows[number]) => number): string => `${Math.round(median(warm.map(pick)))} ms`;
process.stdout.write(`${objects.toLocaleString('en')} objects, medians of passes 3-${passes}: read ${ms((r) => r.read)}, texts and hash ${ms((r) => r.texts)}, `
  + `plan ${ms((r) => r.plan)}, CPU ${ms((r) => r.cpu)}, main-thread GC ${ms((r) => r.gc)}\n`);
