/**
 * The design floor of a cold apply: how much of the cold-apply goal (at least
 * 0.8× the bare SSA loop's speed) the parts of Trellis's design that act
 * during the writes take before the reconcile does any work of its own — the
 * two Package labels on every object, the managed-object cache's watch, and
 * the controllers' Node.js options. Each variant of `bench/child/floor-loop.ts`
 * runs in its own process against a fresh local cluster, the variants
 * alternating round after round; a round's namespace is gone, and the cluster
 * has settled, before the next round starts (a namespace of thousands of
 * objects still being deleted would slow whichever round comes next).
 *
 * A diagnostic, not a workload: its figures are for the development notes.
 *
 * Usage: node hack/bootstrap.mjs bench/tools/design-floor.ts [--objects 5000] [--rounds 10]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalCluster } from '../../hack/local-cluster.ts';
import { KubeClient } from '../../runtime/kube.ts';
import { loadKubeConfig } from '../../runtime/kubeconfig.ts';
import { CONTROLLER_NODE_OPTIONS } from '../../packages-cdk8s/trellis/node-options.ts';
import { cpuBetween, cpuSnapshot, processName, type MeteredProcess } from '../framework/cpu.ts';
import { formatDuration, formatRatio, median } from '../framework/stats.ts';
import { deleteNamespace, ensureNamespace } from '../workloads/support/kube.ts';

const VARIANTS = ['bare', 'labels', 'watch', 'floor'] as const;
type Variant = typeof VARIANTS[number];
/** Quiet time after a namespace is gone: its objects' deletion leaves work behind in etcd and the apiserver. */
const SETTLE_MS = 2_000;

const { values } = parseArgs({ options: { objects: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '10' } } });
const objects = Number(values.objects);
const rounds = Number(values.rounds);
if (!Number.isInteger(objects) || objects < 1 || !Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write('usage: design-floor.ts [--objects <n>] [--rounds <n>]\n');
  process.exit(2);
}

const log = (line: string): void => { process.stderr.write(`[floor ${new Date().toISOString().slice(11, 19)}] ${line}\n`); };
const dir = mkdtempSync(join(tmpdir(), 'trellis-floor-'));
const child = join(import.meta.dirname, '..', 'child', 'floor-loop.ts');
const cluster = await startLocalCluster({ dir, log });
const client = new KubeClient(loadKubeConfig({ path: cluster.kubeconfigPath }), { qps: 0, userAgent: 'trellis-bench-floor' });
const samples = new Map<Variant, { ms: number; cluster: number; client: number }[]>(VARIANTS.map((v) => [v, []]));
try {
  const clusterProcesses: MeteredProcess[] = cluster.pids.map((pid) => ({ name: processName(pid), pid }));
  const self: MeteredProcess[] = [{ name: 'client', pid: 'self', withChildren: true }];
  let run = 0;
  for (let round = 1; round <= rounds; round += 1) {
    for (const variant of VARIANTS) {
      const namespace = `floor-${variant}-${++run}`;
      await ensureNamespace(client, namespace);
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const before = cpuSnapshot([...clusterProcesses, ...self]);
      const flags = variant === 'floor' ? CONTROLLER_NODE_OPTIONS : [];
      const out = execFileSync(process.execPath, [...flags, child, cluster.kubeconfigPath, namespace, String(objects), variant], { encoding: 'utf8' });
      const cpu = cpuBetween(before, cpuSnapshot([...clusterProcesses, ...self]));
      const { ms } = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { ms: number };
      const clusterCpu = clusterProcesses.reduce((sum, p) => sum + (cpu.get(p.name) ?? 0), 0);
      const sample = { ms, cluster: clusterCpu, client: cpu.get('client') ?? 0 };
      samples.get(variant)?.push(sample);
      log(`round ${round}/${rounds} ${variant}: ${formatDuration(ms)}, cluster CPU ${clusterCpu.toFixed(2)} s, client CPU ${sample.client.toFixed(2)} s`);
      await deleteNamespace(client, namespace, { timeoutMs: 600_000 });
      await new Promise((r) => setTimeout(r, SETTLE_MS));
    }
  }
} finally {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}

const bare = median((samples.get('bare') ?? []).map((s) => s.ms));
process.stdout.write(`| variant (${objects.toLocaleString('en')} objects, ${rounds} rounds) | median | bare loop's speed | cluster CPU | client CPU (with start-up) |\n|---|---|---|---|---|\n`);
for (const variant of VARIANTS) {
  const s = samples.get(variant) ?? [];
  const ms = median(s.map((x) => x.ms));
  process.stdout.write(`| ${variant} | ${formatDuration(ms)} | ${formatRatio(bare / ms)} | ${median(s.map((x) => x.cluster)).toFixed(2)} s | ${median(s.map((x) => x.client)).toFixed(2)} s |\n`);
}
