/**
 * Workload 7, commit to applied: a commit pushed to the Git server, and the
 * time until the Package reports that commit's revision applied and Ready.
 * Twice: with a reconcile request on the GitRepository right after the push
 * (what a webhook receiver does), and with nothing but polling at the
 * GitRepository's default interval. The polling sample is pushed just after
 * its source's first reconcile, so it shows the worst case (a whole interval);
 * on average a push waits half of one. It has its own GitRepository and
 * Package and is started by `prepare`, so it waits in the background of the
 * workloads before this one.
 */
import { pushCommit } from '../../hack/git-fixtures.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { REQUESTED_AT_ANNOTATION } from '../../runtime/predicates.ts';
import { gitRepositoryResource } from '../../source-controller/api.ts';
import { requireControllerEntries } from '../framework/controllers.ts';
import { runAlternately, type Contender } from '../framework/rounds.ts';
import { formatDuration } from '../framework/stats.ts';
import type { Environment } from '../framework/environment.ts';
import type { BenchContext, Measurement, Workload, WorkloadOutcome } from '../framework/workload.ts';
import { ensureNamespace } from './support/kube.ts';
import { BENCH_MANAGER, createReadySource, gitRepository, packageObject, waitForPackage } from './support/packages.ts';

const NAMESPACE = 'bench-commit';
const REQUESTED = 'commit → applied, reconcile requested after the push';
const POLLED = 'commit → applied, default-interval polling (push just after a poll)';

/** The package's one manifest, different for every commit. */
function manifest(n: number): Record<string, string> {
  return {
    'app/config.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\ndata:\n  commit: "${n}"\n`,
  };
}

/** A GitRepository (default interval) and a Package of it, Ready; `commit` pushes and waits for the Package to apply it. */
interface Pipeline {
  /** The GitRepository's interval as the apiserver defaulted it. */
  readonly interval: string;
  /** Pushes a commit, optionally asks for a reconcile of the source, and resolves with the time until the Package applied it. */
  commit(request: boolean, timeoutMs: number): Promise<number>;
}

async function pipeline(ctx: BenchContext, name: string): Promise<Pipeline> {
  requireControllerEntries();
  const cluster = await ctx.env.cluster();
  const git = await ctx.env.git();
  await ctx.env.controllers();
  const client = cluster.client;
  let commits = 0;
  await pushCommit(git, name, { files: manifest(++commits), message: 'first' });
  await ensureNamespace(client, NAMESPACE);
  // No interval in the spec: the apiserver fills in the CRD's default.
  await createReadySource(client, gitRepository(NAMESPACE, name, { url: git.repoUrl(name), ref: { branch: 'main' } }));
  const source = await client.get<KubeObject & { spec?: { interval?: string } }>({ ...gitRepositoryResource, namespace: NAMESPACE, name });
  const pkg = await client.create(packageObject(NAMESPACE, name, { sourceRef: { kind: 'GitRepository', name }, path: 'app' }), { fieldManager: BENCH_MANAGER });
  const first = await waitForPackage(client, NAMESPACE, name, pkg.metadata?.resourceVersion ?? '0', { timeoutMs: 180_000 });
  let resourceVersion = first.pkg.metadata.resourceVersion ?? '0';
  return {
    interval: source?.spec?.interval ?? 'unknown',
    async commit(request, timeoutMs) {
      const sha = await pushCommit(git, name, { files: manifest(++commits), message: `commit ${commits}` });
      const t0 = performance.now();
      if (request) {
        await client.patch({ ...gitRepositoryResource, namespace: NAMESPACE, name },
          { metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: new Date().toISOString() } } }, { fieldManager: BENCH_MANAGER });
      }
      const seen = await waitForPackage(client, NAMESPACE, name, resourceVersion, {
        timeoutMs,
        done: (p) => p.status?.lastAppliedRevision === `main@sha1:${sha}` && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
      });
      resourceVersion = seen.pkg.metadata.resourceVersion ?? resourceVersion;
      return seen.at - t0;
    },
  };
}

/** The polling sample of a run, started by prepare. */
const polledSamples = new WeakMap<Environment, Promise<{ ms: number; interval: string }>>();

/** Sets up its own source and Package, pushes right after the source's first reconcile, and waits for polling to find it. */
function startPolledSample(ctx: BenchContext): Promise<{ ms: number; interval: string }> {
  let started = polledSamples.get(ctx.env);
  if (!started) {
    started = (async () => {
      const polled = await pipeline(ctx, 'commit-polled');
      ctx.log(`pushed a commit for polling to find (default interval ${polled.interval}); waiting in the background`);
      const ms = await polled.commit(false, 15 * 60_000);
      ctx.log(`polling found and applied the commit after ${formatDuration(ms)}`);
      // Parked once measured: its polls every few minutes would otherwise land in the no-op and drift workloads' windows.
      const { client } = await ctx.env.cluster();
      await client.patch({ ...gitRepositoryResource, namespace: NAMESPACE, name: 'commit-polled' }, { spec: { interval: '1h' } }, { fieldManager: BENCH_MANAGER });
      return { ms, interval: polled.interval };
    })();
    // Collected (and its failure reported) by run; not an unhandled rejection meanwhile.
    started.catch(() => undefined);
    polledSamples.set(ctx.env, started);
    ctx.env.runInBackground('the polling sample of commit-to-applied', started);
  }
  return started;
}

async function run(ctx: BenchContext): Promise<WorkloadOutcome> {
  const polled = ctx.options.skipSlow ? undefined : startPolledSample(ctx);
  const requested = await pipeline(ctx, 'commit-requested');
  const contender: Contender = {
    name: 'Trellis (GitRepository annotated right after the push)', role: 'trellis', metrics: { [REQUESTED]: 'ms' },
    run: async () => ({ [REQUESTED]: await requested.commit(true, 120_000) }),
  };
  const measurements: Measurement[] = await runAlternately([contender], { rounds: ctx.rounds, log: ctx.log });
  const notes = [`The GitRepository's default interval is ${requested.interval}.`];
  if (!polled) {
    notes.push('Default-interval polling: not run (--skip-slow).');
  } else {
    ctx.log('collecting the polling sample');
    const sample = await polled;
    measurements.push({ metric: POLLED, contender: 'Trellis (no request, polling only)', role: 'trellis', unit: 'ms', samples: [sample.ms] });
    notes.push('The polling sample is one push made right after its GitRepository\'s first reconcile, so it waits close to one whole interval '
      + '(the worst case) plus the apply; a push at a random moment waits half an interval on average. It runs in the background of workload 1 '
      + '(its own GitRepository and Package, one ConfigMap) so the run does not stand idle for the interval; workload 2, which counts requests, waits for it to end.');
  }
  return { measurements, goals: [], notes };
}

/** Workload 7. */
export const workload: Workload = {
  name: 'commit-to-applied',
  number: 7,
  title: 'Commit to applied',
  description: 'A commit pushed to the Git server until the Package reports its revision applied and Ready: with a reconcile request right after the push (a webhook), and with default-interval polling.',
  goal: 'report both (no numeric goal)',
  defaultRounds: 5,
  prepare: (ctx) => { if (!ctx.options.skipSlow) void startPolledSample(ctx); },
  run,
};
