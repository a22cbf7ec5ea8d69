/**
 * Workload 1, cold apply: one Package of N ConfigMaps (~2 KB of
 * configuration-like text each; 1,000 and 5,000 by default), from Package
 * created to Ready, against `kubectl apply --server-side` of the same
 * manifests with the same identity (the admin kubeconfig), and against the
 * bare concurrent SSA loop: server-side-apply PATCHes, a fixed number at a
 * time, no client-side rate limit — the same work with no product around it.
 */
import { availableParallelism } from 'node:os';
import { mapBounded } from '../../runtime/concurrency.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { ensureDebianTool } from '../../hack/lib/system-tools.ts';
import { combineCases, describeCaseRounds, runCase, type CaseOutcome } from '../framework/cases.ts';
import { runTimed } from '../framework/commands.ts';
import { cpuBetween, cpuSnapshot, describeCpu, processName, type CpuRound, type MeteredProcess } from '../framework/cpu.ts';
import { apiRequestsByVerb, describeVerbs, readControllerMetrics, verbDelta } from '../framework/controller-metrics.ts';
import { runAlternately, type Contender } from '../framework/rounds.ts';
import { formatDuration, formatRatio, median, ratio } from '../framework/stats.ts';
import { atLeast, MissedError, type BenchContext, type GoalCheck, type Measurement, type Workload, type WorkloadOutcome } from '../framework/workload.ts';
import { adoptSteadyPackage, configMapPackageSpec, configMapSource, markSteadyMissed, type ConfigMapSource } from './support/configmap-package.ts';
import { deleteNamespace, ensureNamespace } from './support/kube.ts';
import { applyTimeLimitMs, BENCH_MANAGER, PACKAGE_TYPE, packageObject, waitForPackageOrMiss } from './support/packages.ts';

/**
 * Requests in flight of the bare loop. Fixed here rather than taken from the
 * engine, so the reference does not move when the engine's own concurrency
 * does; 8 keeps the apiserver of a 2-core machine busy.
 */
export const BARE_LOOP_CONCURRENCY = 8;
const GOAL_KUBECTL = '≥ 2× faster than kubectl';
const GOAL_BARE = '≥ 0.8× the bare SSA loop\'s speed';

const metricOf = (count: number): string => `cold apply ${count.toLocaleString('en')} ConfigMaps`;

const withNamespace = (o: KubeObject, namespace: string): KubeObject => ({ ...o, metadata: { ...o.metadata, namespace } });

/** What the Trellis contender saw over the rounds of one size. */
interface TrellisRuns {
  /** The first refusal or timeout; later rounds do not try again. */
  miss?: string;
  /** Whether the latest run left a Ready Package. */
  lastOk: boolean;
  readonly profiles: { ms: number; requests: Map<string, number> }[];
}

/** The CPU each contender's rounds of one size cost, by contender name. */
type CpuRounds = Map<string, CpuRound[]>;

/** The three contenders of one size; `namespaces.current` is the namespace of the run in progress. */
async function contendersFor(ctx: BenchContext, source: ConfigMapSource, trellis: TrellisRuns, namespaces: { current: string },
  cpuRounds: CpuRounds): Promise<Contender[]> {
  const count = source.count;
  const cluster = await ctx.env.cluster();
  const client = cluster.client;
  const controllers = await ctx.env.controllers();
  // Every process that works for a round: the control plane, both controllers, and this one (with kubectl, its child).
  const processes: MeteredProcess[] = [
    ...cluster.pids.map((pid) => ({ name: processName(pid), pid })),
    { name: controllers.apply.name, pid: controllers.apply.pid },
    { name: controllers.source.name, pid: controllers.source.pid },
    { name: 'bench (and kubectl)', pid: 'self', withChildren: true },
  ];
  /** Runs a timed span (resolving with its milliseconds) and keeps what it cost in CPU. */
  const metered = async (who: string, span: () => Promise<number>): Promise<number> => {
    const before = cpuSnapshot(processes);
    const ms = await span();
    const rounds = cpuRounds.get(who) ?? [];
    rounds.push({ ms, cpu: cpuBetween(before, cpuSnapshot(processes)) });
    cpuRounds.set(who, rounds);
    return ms;
  };
  const metric = metricOf(count);
  // On this machine kubectl may come from elsewhere; a fresh Debian 12 gets it from its own package.
  const kubectlPath = ensureDebianTool('kubectl', 'kubernetes-client', ctx.log);
  let runs = 0;
  const fresh = async (who: string): Promise<string> => {
    const ns = namespaces.current = `cold-${count}-${who}-${++runs}`;
    await ensureNamespace(client, ns);
    return ns;
  };
  /** Every object must be there afterwards: a fast run that applied less is no result. */
  const verify = async (namespace: string, who: string): Promise<void> => {
    const list = await client.list({ apiVersion: 'v1', kind: 'ConfigMap', namespace }, { labelSelector: 'bench.trellis.dev/set=cm' });
    if (list.items.length !== count) throw new Error(`${who} left ${list.items.length} of ${count} ConfigMaps in ${namespace}`);
  };
  return [
    {
      name: 'Trellis (Package created → Ready)', role: 'trellis', metrics: { [metric]: 'ms' },
      async run() {
        trellis.lastOk = false;
        if (trellis.miss !== undefined) return {};
        const ns = await fresh('trellis');
        const before = apiRequestsByVerb(await readControllerMetrics(controllers.apply.metricsUrl));
        try {
          const ms = await metered('Trellis', async () => {
            const t0 = performance.now();
            const created = await client.create(packageObject(ns, 'configmaps', configMapPackageSpec(source)), { fieldManager: BENCH_MANAGER });
            const seen = await waitForPackageOrMiss(client, ns, 'configmaps', created.metadata?.resourceVersion ?? '0', { timeoutMs: applyTimeLimitMs(count) });
            return seen.at - t0;
          });
          trellis.profiles.push({ ms, requests: verbDelta(before, apiRequestsByVerb(await readControllerMetrics(controllers.apply.metricsUrl))) });
          await verify(ns, 'Trellis');
          trellis.lastOk = true;
          return { [metric]: ms };
        } catch (err) {
          // Refused or out of time is a result (no time to report, and why), not a broken benchmark.
          if (!(err instanceof MissedError)) throw err;
          trellis.miss = err.message;
          return {};
        }
      },
    },
    {
      name: 'kubectl apply --server-side', role: 'peer', metrics: { [metric]: 'ms' },
      async run() {
        const ns = await fresh('kubectl');
        const ms = await metered('kubectl', async () => {
          const r = await runTimed(kubectlPath, ['--kubeconfig', cluster.kubeconfigPath, 'apply', '--server-side', '-n', ns, '-f', source.manifestDir],
            { timeoutMs: 900_000 });
          return r.ms;
        });
        await verify(ns, 'kubectl');
        return { [metric]: ms };
      },
    },
    {
      name: `bare SSA loop (PATCH, ${BARE_LOOP_CONCURRENCY} at a time, no rate limit)`, role: 'ceiling', metrics: { [metric]: 'ms' },
      async run() {
        const ns = await fresh('bare');
        const ms = await metered('the bare loop', async () => {
          const t0 = performance.now();
          await mapBounded(source.objects, BARE_LOOP_CONCURRENCY, (o) => client.apply(withNamespace(o, ns), { fieldManager: 'bench-bare-loop', force: true }));
          return performance.now() - t0;
        });
        await verify(ns, 'the bare loop');
        return { [metric]: ms };
      },
    },
  ];
}

/** The notes on the Trellis runs of one size: every round in the order run, and the requests of the median one. */
function profileNote(count: number, profiles: TrellisRuns['profiles']): string[] {
  if (profiles.length === 0) return [];
  const p = [...profiles].sort((a, b) => a.ms - b.ms)[Math.floor(profiles.length / 2)]!;
  const total = [...p.requests.values()].reduce((a, b) => a + b, 0);
  // Every round in the order run: the first is the controller's first meeting with the artifact, and the median may hide it.
  return [`Trellis rounds at ${count.toLocaleString('en')} objects, in order: ${profiles.map((r) => formatDuration(r.ms)).join(', ')}.`,
    `Profile of the median Trellis run (${count.toLocaleString('en')} objects, ${formatDuration(p.ms)}): the apply-controller made ${describeVerbs(p.requests)}, `
    + `${(total / count).toFixed(2)} per object, ${(total / (p.ms / 1000)).toFixed(1)} requests/s on average.`];
}

/**
 * The note on what the rounds of one size cost in CPU, per contender: on a
 * small machine a round is bound by CPU, and the time between contenders
 * follows what each makes every process spend, the apiserver's and etcd's included.
 */
function cpuNote(count: number, cpuRounds: CpuRounds, cores: number): string[] {
  const described = [...cpuRounds].map(([who, rounds]) => [who, describeCpu(rounds)] as const).filter(([, d]) => d !== undefined);
  if (described.length === 0) return [];
  return [`CPU per round at ${count.toLocaleString('en')} objects (medians; ${cores} cores): `
    + `${described.map(([who, d]) => `${who} ${d}`).join('; ')}.`];
}

/** The goals of one size from its measurements. */
function goalsOf(count: number, measurements: readonly Measurement[], miss: string | undefined): GoalCheck[] {
  const metric = metricOf(count);
  if (miss !== undefined) return [GOAL_KUBECTL, GOAL_BARE].map((goal) => ({ metric, goal, met: false, detail: `Trellis did not apply it: ${miss}` }));
  const med = (role: string): number | undefined => {
    const m = measurements.find((x) => x.role === role);
    return m && m.samples.length > 0 ? median(m.samples) : undefined;
  };
  const trellis = med('trellis');
  const kubectl = med('peer');
  const bare = med('ceiling');
  return [
    atLeast(metric, GOAL_KUBECTL, trellis !== undefined && kubectl !== undefined ? ratio(kubectl, trellis) : undefined, 2, (v) => `${formatRatio(v)} faster`),
    atLeast(metric, GOAL_BARE, trellis !== undefined && bare !== undefined ? ratio(bare, trellis) : undefined, 0.8, (v) => `${formatRatio(v)} of its speed`),
  ];
}

async function measureSize(ctx: BenchContext, count: number, rounds: number): Promise<CaseOutcome> {
  const source = await configMapSource(ctx.env, count, ctx.log);
  const { client } = await ctx.env.cluster();
  const trellis: TrellisRuns = { lastOk: false, profiles: [] };
  const namespaces = { current: '' };
  const cpuRounds: CpuRounds = new Map();
  const contenders = await contendersFor(ctx, source, trellis, namespaces, cpuRounds);
  const cleanUp = async (): Promise<void> => {
    if (namespaces.current) await deleteNamespace(client, namespaces.current, { timeoutMs: 600_000, releaseFinalizers: [PACKAGE_TYPE] });
    namespaces.current = '';
  };
  const measurements = await runAlternately(contenders, {
    // Removing a round's objects is not part of any contender's time, and must be over before the next one starts.
    rounds, log: ctx.log,
    after: async (contender, round) => {
      if (contender.role === 'trellis' && round === rounds - 1 && trellis.lastOk) {
        // The last Trellis Package stays: the no-op and drift workloads measure "that Package".
        adoptSteadyPackage(ctx.env, { source, namespace: namespaces.current, name: 'configmaps' });
        namespaces.current = '';
        return;
      }
      await cleanUp();
    },
  }).catch(async (err: unknown) => {
    // A failed run must not leave a stalled Package working in the background of the next workloads.
    await cleanUp().catch(() => undefined);
    throw err;
  });
  if (trellis.miss !== undefined) markSteadyMissed(ctx.env, count, trellis.miss);
  return {
    measurements, goals: goalsOf(count, measurements, trellis.miss),
    notes: [...profileNote(count, trellis.profiles), ...cpuNote(count, cpuRounds, availableParallelism())],
  };
}

async function run(ctx: BenchContext): Promise<WorkloadOutcome> {
  const cases: CaseOutcome[] = [];
  for (const count of ctx.options.objects) {
    const metric = metricOf(count);
    cases.push(await runCase(metric, [{ metric, goal: GOAL_KUBECTL }, { metric, goal: GOAL_BARE }],
      () => measureSize(ctx, count, ctx.rounds), ctx.log));
  }
  return combineCases(cases, {
    rounds: describeCaseRounds(ctx.options.objects.map((n) => ({ label: `at ${n.toLocaleString('en')} objects`, rounds: ctx.rounds }))),
    notes: [
      'Trellis runs as a process with its default flags unless the header says otherwise; the time includes the artifact download from the '
        + 'source-controller, validation, the revision record, planning, apply and the health wait. kubectl and the bare loop use the admin kubeconfig, '
        + 'like the controller. Each run gets a fresh namespace, deleted before the next run (untimed; Trellis uninstalls the Package as the namespace '
        + `goes, and the next run waits for that); the last Trellis Package of each size stays for workloads 2 and 3. Trellis gets `
        + `${ctx.options.objects.map((n) => `${Math.round(applyTimeLimitMs(n) / 1000)} s`).join(' / ')} per run before it counts as missed; `
        + 'after a refusal or a timeout it is not run again at that size.',
    ],
  });
}

/** Workload 1. */
export const workload: Workload = {
  name: 'cold-apply',
  number: 1,
  title: 'Cold apply',
  description: 'One Package of 1,000 and of 5,000 ConfigMaps (~2 KB each), Package created → Ready, vs kubectl apply --server-side of the same manifests and vs a bare concurrent SSA loop.',
  goal: `${GOAL_KUBECTL}, ${GOAL_BARE}`,
  // Three at every size, even where a round costs minutes: the first Trellis round of a size is the controller's first meeting
  // with that artifact (it downloads it, and its code for reading a bundle that large has not run yet); the median of two rounds
  // is their mean, half of which would be that one-off.
  defaultRounds: 3,
  run,
};
