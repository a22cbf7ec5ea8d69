/**
 * Workload 4, many packages — the shape of Flux's MTTP benchmark: 1,000
 * Packages of 4 objects each (a Deployment scaled to 0, a ServiceAccount, a
 * Service, a ConfigMap), each from its own OCIRepository in the local
 * registry, all created at once; from the first create to every Package
 * Ready. Objects per second end to end, and the peak RSS (VmHWM) of each
 * controller, started fresh for the measurement. A run that does not finish
 * within its time limit reports how far it got.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Package } from '../../apply-controller/api.ts';
import { createDeterministicTarGz } from '../../runtime/archive.ts';
import { mapBounded } from '../../runtime/concurrency.ts';
import { ociRepositoryResource } from '../../source-controller/api.ts';
import { OciClient, TRELLIS_ARTIFACT_TYPE, TRELLIS_CONTENT_MEDIA_TYPE } from '../../source-controller/oci/index.ts';
import { apiRequestsByVerb, describeMemory, describeVerbs, readControllerMetrics, reconcileTime } from '../framework/controller-metrics.ts';
import { requireControllerEntries, type Controllers } from '../framework/controllers.ts';
import { MemorySampler, type SampledMemory } from '../framework/memory.ts';
import { runAlternately, type Contender } from '../framework/rounds.ts';
import { formatMiB, median } from '../framework/stats.ts';
import { atLeast, atMost, type BenchContext, type Workload, type WorkloadOutcome } from '../framework/workload.ts';
import { deleteNamespace, ensureNamespace, isReadyNow, WaitTimeoutError, watchUntil } from './support/kube.ts';
import { BENCH_MANAGER, ociRepository, PACKAGE_TYPE, packageObject, writeFiles } from './support/packages.ts';

const OBJECTS_PER_PACKAGE = 4;
const APPLY_RSS = 'peak RSS, apply-controller';
const SOURCE_RSS = 'peak RSS, source-controller';
const MIB = 1024 * 1024;
/** The benchmark's own creates in flight: fast enough that creating is a small part of the time (it is reported). */
const CREATE_CONCURRENCY = 16;
const GOAL_RATE = '≥ 40 objects/s on 2 cores';
const GOAL_RSS = 'apply-controller RSS ≤ 200 MiB';
const OCI_TYPE = { apiVersion: ociRepositoryResource.apiVersion, kind: ociRepositoryResource.kind };

/** The four manifests of package `name`. */
function appManifests(name: string): string {
  const labels = { app: name };
  const docs = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { 'app.properties': `name=${name}\nreplicas=0\n` } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
      spec: {
        replicas: 0, selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { serviceAccountName: name, containers: [{ name: 'app', image: 'registry.invalid/app:1.0.0', ports: [{ containerPort: 8080 }] }] },
        },
      },
    },
  ];
  return docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
}

/** Pushes one bundle per package (a plain folder of the four manifests) and returns the repositories. */
async function pushBundles(ctx: BenchContext, host: string, packages: number): Promise<string[]> {
  const client = new OciClient({ insecure: true });
  const width = Math.max(3, String(packages).length);
  const names = Array.from({ length: packages }, (_, i) => `app-${String(i + 1).padStart(width, '0')}`);
  try {
    await mapBounded(names, 8, async (name) => {
      const dir = join(ctx.dir, 'bundles', name);
      writeFiles(dir, { 'manifests/app.yaml': appManifests(name) });
      const tarball = `${dir}.tar.gz`;
      await createDeterministicTarGz(join(dir, 'manifests'), tarball);
      await client.pushArtifact({ host, repository: `bench/many/${name}` }, {
        artifactType: TRELLIS_ARTIFACT_TYPE, tag: '1.0.0',
        layers: [{ mediaType: TRELLIS_CONTENT_MEDIA_TYPE, file: tarball, title: 'package.tar.gz' }],
      });
      rmSync(dir, { recursive: true, force: true });
    });
  } finally {
    client.close();
  }
  return names;
}

/** How long the Packages get before the run counts as missed: 0.6 s per Package (six times what the goal allows), 3 to 15 minutes. */
function timeLimitMs(packages: number): number {
  return Math.min(900_000, Math.max(180_000, packages * 600));
}

/** What one round saw; `timedOut` when not every Package was Ready in time. */
interface RoundResult {
  readonly seconds: number;
  readonly ready: number;
  readonly timedOut: boolean;
}

/** Creates every OCIRepository and Package at once (16 in flight) and waits, by a watch, until all Packages are Ready or the limit passes. */
async function createAndWait(ctx: BenchContext, ns: string, names: readonly string[], host: string): Promise<RoundResult> {
  const { client } = await ctx.env.cluster();
  const limit = timeLimitMs(names.length);
  const ready = new Set<string>();
  let done = 0;
  const { resourceVersion } = await client.list({ ...PACKAGE_TYPE, namespace: ns });
  const t0 = performance.now();
  const watching = watchUntil<Package>(client, { ...PACKAGE_TYPE, namespace: ns }, {
    resourceVersion, timeoutMs: limit, what: `${names.length} Packages to be Ready`,
  }, (pkg) => {
    if (isReadyNow(pkg)) ready.add(pkg.metadata.name ?? '');
    if (ready.size === names.length && done === 0) done = performance.now();
    return ready.size === names.length;
  });
  await mapBounded(names, CREATE_CONCURRENCY, async (name) => {
    await client.create(ociRepository(ns, name, { url: `oci://${host}/bench/many/${name}`, ref: { tag: '1.0.0' }, insecure: true }),
      { fieldManager: BENCH_MANAGER });
    await client.create(packageObject(ns, name, { sourceRef: { kind: 'OCIRepository', name } }), { fieldManager: BENCH_MANAGER });
  });
  ctx.log(`created ${names.length} OCIRepositories and Packages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  try {
    await watching;
    return { seconds: (done - t0) / 1000, ready: ready.size, timedOut: false };
  } catch (err) {
    // Not all Ready in time is this workload's result: how far it got is still worth reporting.
    if (!(err instanceof WaitTimeoutError)) throw err;
    return { seconds: (performance.now() - t0) / 1000, ready: ready.size, timedOut: true };
  }
}

/** The profile of a round from both controllers' /metrics and the memory sampler. */
async function profileOf(controllers: Controllers, seen: ReadonlyMap<number, SampledMemory>, r: RoundResult): Promise<string> {
  const [applyMetrics, sourceMetrics] = await Promise.all([
    readControllerMetrics(controllers.apply.metricsUrl), readControllerMetrics(controllers.source.metricsUrl)]);
  const applyRequests = apiRequestsByVerb(applyMetrics);
  const applyTotal = [...applyRequests.values()].reduce((a, b) => a + b, 0);
  const reconciles = reconcileTime(applyMetrics, 'Package');
  return `Profile (${r.seconds.toFixed(1)} s${r.timedOut ? `, ended by the time limit with ${r.ready} Ready` : ''}): the apply-controller made `
    + `${describeVerbs(applyRequests)} since it started, ${(applyTotal / r.seconds).toFixed(1)} requests/s on average; ${reconciles.count} Package reconciles, `
    + `${reconciles.count > 0 ? (reconciles.seconds / reconciles.count).toFixed(2) : '?'} s each on average. `
    + `The source-controller made ${describeVerbs(apiRequestsByVerb(sourceMetrics))}. `
    + `RSS when the round started: apply-controller ${formatMiB(seen.get(controllers.apply.pid)?.first ?? 0)}, `
    + `source-controller ${formatMiB(seen.get(controllers.source.pid)?.first ?? 0)}. `
    + `Memory at the end: apply-controller ${describeMemory(applyMetrics) ?? 'n/a'}; source-controller ${describeMemory(sourceMetrics) ?? 'n/a'}.`;
}

async function run(ctx: BenchContext): Promise<WorkloadOutcome> {
  requireControllerEntries();
  const packages = ctx.options.packages;
  const rate = `${packages.toLocaleString('en')} Packages × ${OBJECTS_PER_PACKAGE} objects, nothing → all Ready`;
  const cluster = await ctx.env.cluster();
  const registry = await ctx.env.registry();
  const client = cluster.client;
  mkdirSync(ctx.dir, { recursive: true });
  ctx.log(`pushing ${packages} bundles to the registry`);
  const names = await pushBundles(ctx, registry.host, packages);
  let runs = 0;
  let current = '';
  const profiles: string[] = [];
  const shortfalls: string[] = [];

  const contender: Contender = {
    name: 'Trellis (both controllers)', role: 'trellis',
    metrics: { [rate]: 'objects/s', [APPLY_RSS]: 'bytes', [SOURCE_RSS]: 'bytes' },
    async run() {
      // Fresh processes: their peak RSS is this workload's, not an earlier one's.
      const controllers = await ctx.env.controllers({ fresh: true });
      const ns = current = `bench-many-${++runs}`;
      await ensureNamespace(client, ns);
      const sampler = new MemorySampler([controllers.apply.pid, controllers.source.pid], 250);
      const r = await createAndWait(ctx, ns, names, registry.host);
      const seen = sampler.stop();
      profiles.push(await profileOf(controllers, seen, r));
      const applyPeak = seen.get(controllers.apply.pid)?.peak ?? controllers.apply.memory()?.hwm ?? 0;
      const sourcePeak = seen.get(controllers.source.pid)?.peak ?? controllers.source.memory()?.hwm ?? 0;
      if (r.timedOut) {
        shortfalls.push(`${r.ready} of ${packages} Packages Ready after the ${Math.round(r.seconds)} s limit (≤ ${((r.ready * OBJECTS_PER_PACKAGE) / r.seconds).toFixed(1)} objects/s)`);
        return { [APPLY_RSS]: applyPeak, [SOURCE_RSS]: sourcePeak };
      }
      return { [rate]: (packages * OBJECTS_PER_PACKAGE) / r.seconds, [APPLY_RSS]: applyPeak, [SOURCE_RSS]: sourcePeak };
    },
  };
  const measurements = await runAlternately([contender], {
    rounds: ctx.rounds, log: ctx.log,
    after: async () => {
      if (current) await deleteNamespace(client, current, { timeoutMs: 900_000, releaseFinalizers: [PACKAGE_TYPE, OCI_TYPE] });
    },
  });
  const med = (metric: string): number | undefined => {
    const m = measurements.find((x) => x.metric === metric);
    return m && m.samples.length > 0 ? median(m.samples) : undefined;
  };
  return {
    measurements,
    goals: [
      shortfalls.length > 0
        ? { metric: rate, goal: GOAL_RATE, met: false, detail: shortfalls.join('; ') }
        : atLeast(rate, GOAL_RATE, med(rate), 40, (v) => `${v.toFixed(1)} objects/s`),
      atMost(APPLY_RSS, GOAL_RSS, med(APPLY_RSS), 200 * MIB, formatMiB),
    ],
    notes: [
      `From the first create to the last Package Ready; the ${packages.toLocaleString('en')} OCIRepositories and Packages are created by the benchmark `
        + `${CREATE_CONCURRENCY} at a time, inside the timed span (how long that took is in the log). Both controllers run with their default flags unless the `
        + `header says otherwise. Peak RSS is VmHWM of processes started fresh for the round. Time limit: ${Math.round(timeLimitMs(packages) / 1000)} s.`,
      ...profiles,
    ],
  };
}

/** Workload 4. */
export const workload: Workload = {
  name: 'many-packages',
  number: 4,
  title: 'Many packages',
  description: `1,000 Packages × ${OBJECTS_PER_PACKAGE} objects (Deployment scaled to 0, ServiceAccount, Service, ConfigMap), each from its own OCIRepository, `
    + 'all created at once, from nothing to all Ready: objects/s and peak RSS of each controller.',
  goal: `${GOAL_RATE}; ${GOAL_RSS}`,
  defaultRounds: 1,
  run,
};
