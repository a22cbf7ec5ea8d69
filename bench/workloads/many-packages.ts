/**
 * Workload 4, many packages: 200 Packages of 4 objects each (a Deployment
 * scaled to 0, a ServiceAccount, a Service, a ConfigMap), each from its own
 * OCIRepository in the local registry, all created at once; from nothing to
 * every Package Ready. Objects per second, and the peak RSS (VmHWM) of each
 * controller, started fresh for the measurement.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { packageResource, type Package } from '../../apply-controller/api.ts';
import { createDeterministicTarGz } from '../../runtime/archive.ts';
import { ociRepositoryResource } from '../../source-controller/api.ts';
import { OciClient, TRELLIS_ARTIFACT_TYPE, TRELLIS_CONTENT_MEDIA_TYPE } from '../../source-controller/oci/index.ts';
import { apiRequestsByVerb, describeMemory, describeVerbs, readControllerMetrics, reconcileTime } from '../framework/controller-metrics.ts';
import { requireControllerEntries } from '../framework/controllers.ts';
import { MemorySampler } from '../framework/memory.ts';
import { runAlternately, type Contender } from '../framework/rounds.ts';
import { formatMiB, median } from '../framework/stats.ts';
import { atLeast, atMost, type BenchContext, type Workload, type WorkloadOutcome } from '../framework/workload.ts';
import { deleteNamespace, ensureNamespace, isReadyNow, mapLimit, watchUntil } from './support/kube.ts';
import { BENCH_MANAGER, ociRepository, packageObject, writeFiles } from './support/packages.ts';

const PACKAGES = 200;
const OBJECTS_PER_PACKAGE = 4;
const RATE = `${PACKAGES} Packages × ${OBJECTS_PER_PACKAGE} objects, nothing → all Ready`;
const APPLY_RSS = 'peak RSS, apply-controller';
const SOURCE_RSS = 'peak RSS, source-controller';
const MIB = 1024 * 1024;
const PACKAGE_TYPE = { apiVersion: packageResource.apiVersion, kind: packageResource.kind };
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
async function pushBundles(ctx: BenchContext, host: string): Promise<string[]> {
  const client = new OciClient({ insecure: true });
  const names = Array.from({ length: PACKAGES }, (_, i) => `app-${String(i + 1).padStart(3, '0')}`);
  try {
    await mapLimit(names, 8, async (name) => {
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

async function run(ctx: BenchContext): Promise<WorkloadOutcome> {
  requireControllerEntries();
  const cluster = await ctx.env.cluster();
  const registry = await ctx.env.registry();
  const client = cluster.client;
  mkdirSync(ctx.dir, { recursive: true });
  ctx.log(`pushing ${PACKAGES} bundles to the registry`);
  const names = await pushBundles(ctx, registry.host);
  let runs = 0;
  let current = '';
  const profiles: string[] = [];

  const contender: Contender = {
    name: 'Trellis (both controllers)', role: 'trellis',
    metrics: { [RATE]: 'objects/s', [APPLY_RSS]: 'bytes', [SOURCE_RSS]: 'bytes' },
    async run() {
      // Fresh processes: their peak RSS is this workload's, not an earlier one's.
      const controllers = await ctx.env.controllers({ fresh: true });
      const ns = current = `bench-many-${++runs}`;
      await ensureNamespace(client, ns);
      const sampler = new MemorySampler([controllers.apply.pid, controllers.source.pid], 250);
      const ready = new Set<string>();
      const t0 = performance.now();
      let done = 0;
      const { resourceVersion } = await client.list({ apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace: ns });
      const watching = watchUntil<Package>(client, { apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace: ns }, {
        resourceVersion, timeoutMs: 900_000, what: `${PACKAGES} Packages to be Ready`,
      }, (pkg) => {
        if (isReadyNow(pkg)) ready.add(pkg.metadata.name ?? '');
        if (ready.size === PACKAGES && done === 0) done = performance.now();
        return ready.size === PACKAGES;
      });
      await mapLimit(names, 16, async (name) => {
        await client.create(ociRepository(ns, name, { url: `oci://${registry.host}/bench/many/${name}`, ref: { tag: '1.0.0' }, insecure: true }),
          { fieldManager: BENCH_MANAGER });
        await client.create(packageObject(ns, name, { sourceRef: { kind: 'OCIRepository', name } }), { fieldManager: BENCH_MANAGER });
      });
      ctx.log(`created ${PACKAGES} OCIRepositories and Packages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      await watching.catch((err: unknown) => {
        throw new Error(`${err instanceof Error ? err.message : String(err)} (${ready.size} of ${PACKAGES} Ready)`);
      });
      const seconds = (done - t0) / 1000;
      const seen = sampler.stop();
      const [applyMetrics, sourceMetrics] = await Promise.all([
        readControllerMetrics(controllers.apply.metricsUrl), readControllerMetrics(controllers.source.metricsUrl)]);
      const applyRequests = apiRequestsByVerb(applyMetrics);
      const applyTotal = [...applyRequests.values()].reduce((a, b) => a + b, 0);
      const reconciles = reconcileTime(applyMetrics, 'Package');
      profiles.push(`Profile (${seconds.toFixed(1)} s): the apply-controller made ${describeVerbs(applyRequests)} since it started, `
        + `${(applyTotal / seconds).toFixed(1)} requests/s on average (the default client-side limit is 50/s); ${reconciles.count} Package reconciles, `
        + `${reconciles.count > 0 ? (reconciles.seconds / reconciles.count).toFixed(2) : '?'} s each on average with 4 at a time. `
        + `The source-controller made ${describeVerbs(apiRequestsByVerb(sourceMetrics))}. `
        + `RSS when the round started: apply-controller ${formatMiB(seen.get(controllers.apply.pid)?.first ?? 0)}, `
        + `source-controller ${formatMiB(seen.get(controllers.source.pid)?.first ?? 0)}. `
        + `Memory at the end: apply-controller ${describeMemory(applyMetrics) ?? 'n/a'}; source-controller ${describeMemory(sourceMetrics) ?? 'n/a'}.`);
      const applyPeak = seen.get(controllers.apply.pid)?.peak ?? controllers.apply.memory()?.hwm ?? 0;
      const sourcePeak = seen.get(controllers.source.pid)?.peak ?? controllers.source.memory()?.hwm ?? 0;
      return { [RATE]: (PACKAGES * OBJECTS_PER_PACKAGE) / seconds, [APPLY_RSS]: applyPeak, [SOURCE_RSS]: sourcePeak, seconds };
    },
  };
  const measurements = await runAlternately([contender], {
    rounds: ctx.rounds, log: ctx.log,
    after: async () => {
      if (current) await deleteNamespace(client, current, { timeoutMs: 600_000, releaseFinalizers: [PACKAGE_TYPE, OCI_TYPE] });
    },
  });
  const med = (metric: string): number | undefined => {
    const m = measurements.find((x) => x.metric === metric);
    return m && m.samples.length > 0 ? median(m.samples) : undefined;
  };
  return {
    measurements,
    goals: [
      atLeast(RATE, '≥ 30 objects/s on 2 cores', med(RATE), 30, (v) => `${v.toFixed(1)} objects/s`),
      atMost(APPLY_RSS, 'apply-controller RSS ≤ 200 MiB', med(APPLY_RSS), 200 * MIB, formatMiB),
    ],
    notes: [
      `From the first create to the last Package Ready; the ${PACKAGES} OCIRepositories and Packages are created by the benchmark 16 at a time, inside the timed span. `
        + 'Both controllers run with their default flags (--concurrent 4 each, --kube-api-qps 50) unless the header says otherwise. Peak RSS is VmHWM of processes started fresh for the round.',
      ...profiles,
    ],
  };
}

/** Workload 4. */
export const workload: Workload = {
  name: 'many-packages',
  number: 4,
  title: 'Many packages',
  description: `${PACKAGES} Packages × ${OBJECTS_PER_PACKAGE} objects (Deployment scaled to 0, ServiceAccount, Service, ConfigMap), each from its own OCIRepository, from nothing to all Ready: objects/s and peak RSS of each controller.`,
  goal: '≥ 30 objects/s on 2 cores; apply-controller RSS ≤ 200 MiB',
  defaultRounds: 1,
  run,
};
