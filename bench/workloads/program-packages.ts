/**
 * Workload 10, program Packages (issue 15): 50 Packages of the web example as a
 * program bundle, each in its own namespace with its own OCIRepository and its
 * own values (so each renders once), created at once against controllers
 * started fresh with their default flags: the apply-controller's peak and
 * settled RSS, and the renders it counted (`trellis_package_render_*`). Then a
 * no-op reconcile of one of them, measured like workload 2 (requests at the
 * apiserver, writes, wall time), with the renders and render-cache hits the
 * controller counted meanwhile: the goal is none.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Package } from '../../apply-controller/api.ts';
import { runPush } from '../../cli/push.ts';
import { projectRoot } from '../../hack/lib/system-tools.ts';
import { buildBundle } from '../../packages-cdk8s/build/bundle.ts';
import { mapBounded } from '../../runtime/concurrency.ts';
import { ociRepositoryResource } from '../../source-controller/api.ts';
import { readControllerMetrics } from '../framework/controller-metrics.ts';
import { requireControllerEntries } from '../framework/controllers.ts';
import { MemorySampler } from '../framework/memory.ts';
import type { MetricSample } from '../framework/prometheus.ts';
import { formatMiB, median } from '../framework/stats.ts';
import { atMost, type BenchContext, type Measurement, type Workload, type WorkloadOutcome } from '../framework/workload.ts';
import { deleteNamespace, ensureNamespace, isReadyNow, WaitTimeoutError, watchUntil } from './support/kube.ts';
import { measureNoop } from './support/noop.ts';
import { BENCH_MANAGER, ociRepository, PACKAGE_TYPE, packageObject } from './support/packages.ts';

const PACKAGES = 50;
const SET_LABEL = 'bench.trellis.dev/set';
const CONTENDER = 'Trellis (apply-controller, default flags)';
const INSTALL = `${PACKAGES} program Packages (web example), nothing → all Ready`;
const PEAK_RSS = `peak RSS, apply-controller, ${PACKAGES} program Packages`;
const SETTLED_RSS = `RSS, apply-controller, ${PACKAGES} program Packages Ready and settled`;
const INSTALL_RENDERS = `renders while installing ${PACKAGES} program Packages`;
const NOOP_LABEL = 'no-op, program Package';
const NOOP_RENDERS = `${NOOP_LABEL}: renders + render-cache hits`;
const OCI_TYPE = { apiVersion: ociRepositoryResource.apiVersion, kind: ociRepositoryResource.kind };
const TIME_LIMIT_MS = 900_000;
const NOOP_ROUNDS = 3;

/** Renders (the histogram's counts, all results) and render-cache hits in a controller's /metrics, all Packages together. */
export function renderCounts(samples: readonly MetricSample[]): { renders: number; hits: number } {
  let renders = 0;
  let hits = 0;
  for (const s of samples) {
    if (s.name === 'trellis_package_render_duration_seconds_count') renders += s.value;
    if (s.name === 'trellis_package_render_cache_hits_total') hits += s.value;
  }
  return { renders, hits };
}

/** Mean render time from the histogram's sum and count. */
function meanRenderMs(samples: readonly MetricSample[]): number | undefined {
  const sum = samples.filter((s) => s.name === 'trellis_package_render_duration_seconds_sum').reduce((a, s) => a + s.value, 0);
  const { renders } = renderCounts(samples);
  return renders > 0 ? (sum / renders) * 1000 : undefined;
}

const namespaceOf = (i: number): string => `bench-prog-${String(i + 1).padStart(2, '0')}`;

/** The apply-controller's /metrics; an empty answer (a scrape that failed) is asked again, then is an error, never zeros. */
async function scrapeApply(url: string | undefined, log: (line: string) => void): Promise<MetricSample[]> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    const samples = await readControllerMetrics(url);
    if (samples.length > 0) return samples;
    log(`the apply-controller's /metrics gave nothing (attempt ${attempt})`);
    await sleep(2_000);
  }
  throw new Error(`the apply-controller's /metrics (${url ?? 'no URL'}) gave nothing five times`);
}

async function pushWebBundle(ctx: BenchContext, host: string): Promise<string> {
  const built = await buildBundle(join(projectRoot, 'packages-cdk8s', 'examples', 'web'), { out: join(ctx.dir, 'web.tgz') });
  const sink = { write: () => true };
  const url = `oci://${host}/bench/program/web`;
  await runPush(built.file, `${url}:1.0.0`, { insecure: true }, { stdout: sink, stderr: sink });
  return url;
}

/** Creates the namespaces, sources and Packages (8 at a time) and waits, by a watch, until every Package is Ready. */
async function installAll(ctx: BenchContext, url: string): Promise<{ seconds: number; ready: number; timedOut: boolean }> {
  const { client } = await ctx.env.cluster();
  const ready = new Set<string>();
  const { resourceVersion } = await client.list(PACKAGE_TYPE, { labelSelector: `${SET_LABEL}=program` });
  const t0 = performance.now();
  let done = 0;
  const watching = watchUntil<Package>(client, PACKAGE_TYPE, {
    resourceVersion, labelSelector: `${SET_LABEL}=program`, timeoutMs: TIME_LIMIT_MS, what: `${PACKAGES} program Packages to be Ready`,
  }, (pkg) => {
    if (isReadyNow(pkg)) ready.add(pkg.metadata.namespace ?? '');
    if (ready.size === PACKAGES && done === 0) done = performance.now();
    return ready.size === PACKAGES;
  });
  await mapBounded(Array.from({ length: PACKAGES }, (_, i) => i), 8, async (i) => {
    const ns = namespaceOf(i);
    await ensureNamespace(client, ns);
    await client.create(ociRepository(ns, 'web', { url, ref: { tag: '1.0.0' }, insecure: true }), { fieldManager: BENCH_MANAGER });
    const pkg = packageObject(ns, 'web', { sourceRef: { kind: 'OCIRepository', name: 'web' }, values: { replicas: 1, message: `program Package ${i + 1}` } });
    await client.create({ ...pkg, metadata: { ...pkg.metadata, labels: { [SET_LABEL]: 'program' } } }, { fieldManager: BENCH_MANAGER });
  });
  try {
    await watching;
    return { seconds: (done - t0) / 1000, ready: ready.size, timedOut: false };
  } catch (err) {
    if (!(err instanceof WaitTimeoutError)) throw err;
    return { seconds: (performance.now() - t0) / 1000, ready: ready.size, timedOut: true };
  }
}

async function run(ctx: BenchContext): Promise<WorkloadOutcome> {
  requireControllerEntries();
  const { client } = await ctx.env.cluster();
  const registry = await ctx.env.registry();
  ctx.log('building and pushing the web example');
  const url = await pushWebBundle(ctx, registry.host);
  // Fresh processes: the peak RSS is this workload's.
  const controllers = await ctx.env.controllers({ fresh: true });
  const sampler = new MemorySampler([controllers.apply.pid], 250);
  const measurements: Measurement[] = [];
  const add = (metric: string, unit: Measurement['unit'], value: number | undefined): void => {
    measurements.push({ metric, contender: CONTENDER, role: 'trellis', unit, samples: value === undefined ? [] : [value] });
  };
  try {
    const installed = await installAll(ctx, url);
    ctx.log(`${installed.ready} of ${PACKAGES} Ready after ${installed.seconds.toFixed(1)} s`);
    const seen = sampler.stop().get(controllers.apply.pid);
    await sleep(5_000);
    const settled = controllers.apply.memory()?.rss;
    const afterInstall = await scrapeApply(controllers.apply.metricsUrl, ctx.log);
    const counts = renderCounts(afterInstall);
    add(INSTALL, 'ms', installed.timedOut ? undefined : installed.seconds * 1000);
    add(PEAK_RSS, 'bytes', seen?.peak ?? controllers.apply.memory()?.hwm);
    add(SETTLED_RSS, 'bytes', settled);
    add(INSTALL_RENDERS, 'count', counts.renders);

    const noop = await measureNoop(ctx, { namespace: namespaceOf(0), name: 'web', objects: 5 },
      { rounds: ctx.options.rounds ?? NOOP_ROUNDS, label: NOOP_LABEL, contender: CONTENDER });
    const afterNoop = renderCounts(await scrapeApply(controllers.apply.metricsUrl, ctx.log));
    ctx.log(`renders/hits after the install ${counts.renders}/${counts.hits}, after the no-ops ${afterNoop.renders}/${afterNoop.hits}`);
    const noopRenders = afterNoop.renders - counts.renders;
    const noopHits = afterNoop.hits - counts.hits;
    measurements.push(...noop.measurements);
    add(NOOP_RENDERS, 'count', noopRenders + noopHits);
    const med = (metric: string): number | undefined => {
      const m = noop.measurements.find((x) => x.metric === metric);
      return m && m.samples.length > 0 ? median(m.samples) : undefined;
    };
    const mean = meanRenderMs(afterInstall);
    return {
      measurements,
      goals: [
        atMost(NOOP_RENDERS, '0 renders on a no-op', noopRenders + noopHits, 0,
          () => `${noopRenders} renders, ${noopHits} cache hits in ${noop.measurements[0]?.samples.length ?? '?'} no-ops`),
        atMost(noop.metrics.writes, 'zero writes (issue 12)', med(noop.metrics.writes), 0, (v) => `${v}`),
      ],
      notes: [
        `${PACKAGES} namespaces, each with an OCIRepository of the same artifact and a Package with its own values (replicas 1, its own message), `
          + 'so every Package renders once; created 8 at a time inside the timed span. '
          + `${installed.timedOut ? `Only ${installed.ready} of ${PACKAGES} were Ready at the ${TIME_LIMIT_MS / 1000} s limit. ` : ''}`
          + `The controller counted ${counts.renders} renders and ${counts.hits} render-cache hits during the install `
          + `(a hit is the second read of a bundle after API discovery), ${mean === undefined ? '' : `${Math.round(mean)} ms per render on average (trellis_package_render_duration_seconds), `}`
          + `RSS when the round started ${formatMiB(seen?.first ?? 0)}. Peak RSS is the highest of VmHWM and the sampled VmRSS.`,
        ...noop.notes,
      ],
    };
  } finally {
    sampler.stop();
    await mapBounded(Array.from({ length: PACKAGES }, (_, i) => namespaceOf(i)), 8, (ns) =>
      deleteNamespace(client, ns, { timeoutMs: 300_000, releaseFinalizers: [PACKAGE_TYPE, OCI_TYPE] }).catch(() => undefined));
  }
}

/** Workload 10. */
export const workload: Workload = {
  name: 'program-packages',
  number: 10,
  title: 'Program Packages',
  description: `${PACKAGES} Packages of the web example as a program bundle (issue 15), each with its own values: apply-controller RSS and renders; `
    + 'then a no-op reconcile of one: API requests, writes, renders.',
  goal: '0 renders on a no-op (issue 15); apply-controller RSS reported',
  defaultRounds: 1,
  run,
};
