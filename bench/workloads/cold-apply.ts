/**
 * Workload 1, cold apply: one Package of 1,000 ConfigMaps (~2 KB each), from
 * Package created to Ready, against `kubectl apply --server-side` of the same
 * manifests with the same identity (the admin kubeconfig), and against a
 * ceiling: a bare loop of concurrent server-side-apply PATCHes at Trellis's own
 * apply concurrency, with no client-side rate limit. With `--large`, also 5,000.
 */
import { packageResource } from '../../apply-controller/api.ts';
import { DEFAULT_APPLY_OPTIONS } from '../../apply-controller/ssa/index.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { ensureDebianTool } from '../../hack/lib/system-tools.ts';
import { runTimed } from '../framework/commands.ts';
import { runAlternately, type Contender } from '../framework/rounds.ts';
import { formatDuration, formatRatio, median, ratio } from '../framework/stats.ts';
import { apiRequestsByVerb, describeVerbs, readControllerMetrics, verbDelta } from '../framework/controller-metrics.ts';
import { atLeast, type BenchContext, type GoalCheck, type Measurement, type Workload, type WorkloadOutcome } from '../framework/workload.ts';
import { adoptSteadyPackage, configMapPackageSpec, configMapSource } from './support/configmap-package.ts';
import { deleteNamespace, ensureNamespace, mapLimit } from './support/kube.ts';
import { BENCH_MANAGER, PackageStalledError, packageObject, waitForPackage } from './support/packages.ts';

/** The Package kind, for releasing finalizers at cleanup. */
const PACKAGE_TYPE = { apiVersion: packageResource.apiVersion, kind: packageResource.kind };

/** Trellis's apply concurrency within a phase: the ceiling uses the same. */
const CONCURRENCY = DEFAULT_APPLY_OPTIONS.concurrency;

async function measureSize(ctx: BenchContext, count: number): Promise<{ measurements: Measurement[]; goals: GoalCheck[]; notes: string[] }> {
  const source = await configMapSource(ctx.env, count, ctx.log);
  const cluster = await ctx.env.cluster();
  const client = cluster.client;
  const metric = `cold apply ${count.toLocaleString('en')} ConfigMaps`;
  let runs = 0;
  const namespaceFor = (who: string): string => `cold-${count}-${who}-${++runs}`;
  let current = '';
  const controllers = await ctx.env.controllers();
  // On this machine kubectl may come from elsewhere; a fresh Debian 12 gets it from its own package.
  const kubectlPath = ensureDebianTool('kubectl', 'kubernetes-client', ctx.log);
  const profiles: { ms: number; requests: Map<string, number> }[] = [];
  const refusals: string[] = [];

  /** Every object must be there afterwards: a fast run that applied less is no result. */
  const verify = async (namespace: string, who: string): Promise<void> => {
    const list = await client.list({ apiVersion: 'v1', kind: 'ConfigMap', namespace }, { labelSelector: 'bench.trellis.dev/set=cm' });
    if (list.items.length !== count) throw new Error(`${who} left ${list.items.length} of ${count} ConfigMaps in ${namespace}`);
  };
  const withNamespace = (o: KubeObject, namespace: string): KubeObject => ({ ...o, metadata: { ...o.metadata, namespace } });

  const contenders: Contender[] = [
    {
      name: 'Trellis (Package created → Ready)', role: 'trellis', metrics: { [metric]: 'ms' },
      async run() {
        const ns = current = namespaceFor('trellis');
        await ensureNamespace(client, ns);
        const before = apiRequestsByVerb(await readControllerMetrics(controllers.apply.metricsUrl));
        const t0 = performance.now();
        const created = await client.create(packageObject(ns, 'configmaps', configMapPackageSpec(source)), { fieldManager: BENCH_MANAGER });
        let seen;
        try {
          seen = await waitForPackage(client, ns, 'configmaps', created.metadata?.resourceVersion ?? '0', { timeoutMs: 900_000 });
        } catch (err) {
          // A Package Trellis refuses is a result (no time to report, and why), not a broken benchmark.
          if (!(err instanceof PackageStalledError)) throw err;
          refusals.push(err.message);
          return {};
        }
        const ms = seen.at - t0;
        profiles.push({ ms, requests: verbDelta(before, apiRequestsByVerb(await readControllerMetrics(controllers.apply.metricsUrl))) });
        await verify(ns, 'Trellis');
        return { [metric]: ms };
      },
    },
    {
      name: 'kubectl apply --server-side', role: 'peer', metrics: { [metric]: 'ms' },
      async run() {
        const ns = current = namespaceFor('kubectl');
        await ensureNamespace(client, ns);
        const r = await runTimed(kubectlPath, ['--kubeconfig', cluster.kubeconfigPath, 'apply', '--server-side', '-n', ns, '-f', source.manifestDir],
          { timeoutMs: 1_800_000 });
        await verify(ns, 'kubectl');
        return { [metric]: r.ms };
      },
    },
    {
      name: `ceiling (bare SSA PATCH loop, ${CONCURRENCY} at a time, no rate limit)`, role: 'ceiling', metrics: { [metric]: 'ms' },
      async run() {
        const ns = current = namespaceFor('ceiling');
        await ensureNamespace(client, ns);
        const t0 = performance.now();
        await mapLimit(source.objects, CONCURRENCY, (o) => client.apply(withNamespace(o, ns), { fieldManager: 'bench-ceiling', force: true }));
        const ms = performance.now() - t0;
        await verify(ns, 'the ceiling loop');
        return { [metric]: ms };
      },
    },
  ];
  const cleanUp = async (): Promise<void> => {
    if (current) await deleteNamespace(client, current, { timeoutMs: 600_000, releaseFinalizers: [PACKAGE_TYPE] });
    current = '';
  };
  const measurements = await runAlternately(contenders, {
    // Removing a round's objects is not part of any contender's time, and must be over before the next one starts.
    rounds: ctx.rounds, log: ctx.log,
    after: async (contender, round) => {
      if (contender.role === 'trellis' && round === ctx.rounds - 1 && count === ctx.options.objects && refusals.length === 0) {
        // The last Trellis Package stays: the no-op and drift workloads measure "that Package".
        adoptSteadyPackage(ctx.env, { source, namespace: current, name: 'configmaps' });
        current = '';
        return;
      }
      await cleanUp();
    },
  }).catch(async (err: unknown) => {
    // A failed run must not leave a stalled Package working in the background of the next workloads.
    await cleanUp().catch(() => undefined);
    throw err;
  });
  const med = (role: string): number | undefined => {
    const m = measurements.find((x) => x.role === role);
    return m && m.samples.length > 0 ? median(m.samples) : undefined;
  };
  const trellis = med('trellis');
  const kubectl = med('peer');
  const ceiling = med('ceiling');
  const speedup = trellis !== undefined && kubectl !== undefined ? ratio(kubectl, trellis) : undefined;
  const ofCeiling = trellis !== undefined && ceiling !== undefined ? ratio(ceiling, trellis) : undefined;
  const profile = profiles.length === 0 ? [] : (() => {
    const p = profiles[Math.floor(profiles.length / 2)]!;
    const total = [...p.requests.values()].reduce((a, b) => a + b, 0);
    return [`Profile of a Trellis run (${count.toLocaleString('en')} objects, ${formatDuration(p.ms)}): the apply-controller made ${describeVerbs(p.requests)}, `
      + `${(total / count).toFixed(2)} per object, at ${(total / (p.ms / 1000)).toFixed(1)} requests/s on average (the default client-side limit is 50/s, burst 100).`];
  })();
  return {
    measurements,
    notes: profile,
    goals: refusals.length > 0
      ? [{ metric, goal: '≥ 10× faster than kubectl, ≥ 0.8× the ceiling', met: false, detail: `Trellis did not apply it: ${refusals[0]!}` }]
      : [
          atLeast(metric, '≥ 10× faster than kubectl', speedup, 10, (v) => `${formatRatio(v)} faster`),
          atLeast(metric, '≥ 0.8× the ceiling\'s speed', ofCeiling, 0.8, (v) => `${formatRatio(v)} of the ceiling`),
        ],
  };
}

async function run(ctx: BenchContext): Promise<WorkloadOutcome> {
  const sizes = [ctx.options.objects, ...(ctx.options.large && ctx.options.objects !== 5_000 ? [5_000] : [])];
  const measurements: Measurement[] = [];
  const goals: GoalCheck[] = [];
  const profiles: string[] = [];
  for (const count of sizes) {
    const r = await measureSize(ctx, count);
    measurements.push(...r.measurements);
    goals.push(...r.goals);
    profiles.push(...r.notes);
  }
  return {
    measurements,
    goals,
    notes: [
      `Trellis runs as a process with its default flags (--kube-api-qps 50, --kube-api-burst 100, apply concurrency ${CONCURRENCY}) unless the header says otherwise; `
        + 'the time includes the artifact download from the source-controller, validation, the PackageRevision, dry-run planning, apply and the health wait. '
        + 'kubectl and the ceiling use the admin kubeconfig, like the controller. Each run gets a fresh namespace, deleted before the next run '
        + '(untimed; the Package\'s finalizer is released so the namespace controller does the deleting); the last Trellis Package stays for workloads 2 and 3.',
      ...profiles,
      ...(sizes.includes(5_000) ? [] : ['5,000 objects: not run (add --large; it adds several minutes).']),
    ],
  };
}

/** Workload 1. */
export const workload: Workload = {
  name: 'cold-apply',
  number: 1,
  title: 'Cold apply',
  description: 'One Package of 1,000 ConfigMaps (~2 KB each), Package created → Ready, vs kubectl apply --server-side of the same manifests and vs a bare concurrent SSA loop (the ceiling). --large adds 5,000 objects.',
  goal: '≥ 10× faster than kubectl, ≥ 0.8× the ceiling',
  defaultRounds: 3,
  run,
};
