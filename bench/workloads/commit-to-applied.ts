/**
 * Workload 7, commit to applied: a commit pushed to the Git server, and the
 * time until the Package reports that commit's revision applied and Ready.
 * Three ways: with a reconcile request on the GitRepository right after the
 * push (what a webhook receiver does), with a GitHub-style signed push webhook
 * to a Receiver (goal: p95 under 3 s), and with nothing but polling at the
 * GitRepository's default interval. The polling sample is pushed just after
 * its source's first reconcile, so it shows the worst case (a whole interval);
 * on average a push waits half of one. It has its own GitRepository and
 * Package and is started by `prepare`, so it waits in the background of the
 * workloads before this one.
 */
import { createHmac } from 'node:crypto';
import { pushCommit } from '../../hack/git-fixtures.ts';
import type { KubeObject } from '../../runtime/object.ts';
import { REQUESTED_AT_ANNOTATION } from '../../runtime/predicates.ts';
import { gitRepositoryResource } from '../../source-controller/api.ts';
import { requireControllerEntries } from '../framework/controllers.ts';
import { runAlternately, type Contender } from '../framework/rounds.ts';
import { formatDuration } from '../framework/stats.ts';
import type { Environment } from '../framework/environment.ts';
import { below, type BenchContext, type Measurement, type Workload, type WorkloadOutcome } from '../framework/workload.ts';
import { percentile } from '../framework/stats.ts';
import { ensureNamespace } from './support/kube.ts';
import { BENCH_MANAGER, createReadySource, gitRepository, packageObject, waitForPackage } from './support/packages.ts';

const NAMESPACE = 'bench-commit';
const REQUESTED = 'commit → applied, reconcile requested after the push';
const POLLED = 'commit → applied, default-interval polling (push just after a poll)';
const WEBHOOK = 'commit → applied, GitHub push webhook to a Receiver';
const WEBHOOK_GOAL = 'p95 < 3 s';
const WEBHOOK_TOKEN = 'bench-receiver-token-0123456789';

/** The package's one manifest, different for every commit; its own ConfigMap per pipeline (they share a namespace). */
function manifest(name: string, n: number): Record<string, string> {
  return {
    'app/config.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}-config\ndata:\n  commit: "${n}"\n`,
  };
}

/** A GitRepository (default interval) and a Package of it, Ready; `commit` pushes and waits for the Package to apply it. */
interface Pipeline {
  /** The GitRepository's interval as the apiserver defaulted it. */
  readonly interval: string;
  /** Pushes a commit, optionally asks for a reconcile of the source, and resolves with the time until the Package applied it. */
  commit(request: boolean, timeoutMs: number): Promise<number>;
}

/** How a commit is announced: an annotation written by the bench, a signed webhook to a Receiver, or nothing. */
type Announce = (name: string) => Promise<void>;

/**
 * A GitHub Receiver for the GitRepository `name`; resolves with a function that
 * posts a signed push event to it, as GitHub does after a push.
 */
async function githubReceiver(ctx: BenchContext, name: string): Promise<Announce> {
  const { client } = await ctx.env.cluster();
  const { source } = await ctx.env.controllers();
  if (!source.receiverUrl) throw new Error('the source controller serves no webhook receivers');
  await ensureNamespace(client, NAMESPACE);
  await client.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-hook`, namespace: NAMESPACE }, stringData: { token: WEBHOOK_TOKEN } },
    { fieldManager: BENCH_MANAGER, force: true });
  const ref = { apiVersion: 'notification.trellis.dev/v1alpha1', kind: 'Receiver', namespace: NAMESPACE, name };
  await client.apply({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name, namespace: NAMESPACE }, spec: { type: 'github', secretRef: { name: `${name}-hook` }, resources: [{ kind: 'GitRepository', name }] } },
    { fieldManager: BENCH_MANAGER, force: true });
  const deadline = Date.now() + 60_000;
  let path: string | undefined;
  while (!path) {
    path = (await client.get<KubeObject & { status?: { webhookPath?: string } }>(ref))?.status?.webhookPath;
    if (!path && Date.now() > deadline) throw new Error(`Receiver ${NAMESPACE}/${name} has no webhook path after 60 s`);
    if (!path) await new Promise((r) => setTimeout(r, 200));
  }
  const url = `${source.receiverUrl}${path}`;
  return async () => {
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    const signature = `sha256=${createHmac('sha256', WEBHOOK_TOKEN).update(body).digest('hex')}`;
    const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature } });
    if (res.status !== 200 && res.status !== 202) throw new Error(`the Receiver answered ${res.status}`);
  };
}

async function pipeline(ctx: BenchContext, name: string, announce?: Announce): Promise<Pipeline> {
  requireControllerEntries();
  const cluster = await ctx.env.cluster();
  const git = await ctx.env.git();
  await ctx.env.controllers();
  const client = cluster.client;
  let commits = 0;
  await pushCommit(git, name, { files: manifest(name, ++commits), message: 'first' });
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
      const sha = await pushCommit(git, name, { files: manifest(name, ++commits), message: `commit ${commits}` });
      const t0 = performance.now();
      if (request && announce) {
        await announce(name);
      } else if (request) {
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
  const webhook = await pipeline(ctx, 'commit-webhook', await githubReceiver(ctx, 'commit-webhook'));
  const viaReceiver: Contender = {
    name: 'Trellis (a signed GitHub push event to a Receiver right after the push)', role: 'trellis', metrics: { [WEBHOOK]: 'ms' },
    run: async () => ({ [WEBHOOK]: await webhook.commit(true, 120_000) }),
  };
  const measurements: Measurement[] = await runAlternately([contender, viaReceiver], { rounds: ctx.rounds, log: ctx.log });
  const webhookSamples = measurements.find((m) => m.metric === WEBHOOK)?.samples ?? [];
  const goals = [below(WEBHOOK, WEBHOOK_GOAL, webhookSamples.length > 0 ? percentile(webhookSamples, 95) : undefined, 3_000, (v) => `p95 ${formatDuration(v)}`)];
  const notes = [`The GitRepository's default interval is ${requested.interval}.`,
    `Through a Receiver: ${webhookSamples.length} samples, p95 ${webhookSamples.length > 0 ? formatDuration(percentile(webhookSamples, 95)) : 'not measured'} (with ${webhookSamples.length} samples p95 is close to the slowest).`];
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
  return { measurements, goals, notes };
}

/** Workload 7. */
export const workload: Workload = {
  name: 'commit-to-applied',
  number: 7,
  title: 'Commit to applied',
  description: 'A commit pushed to the Git server until the Package reports its revision applied and Ready: with a reconcile request right after the push, with a signed GitHub push event to a Receiver, and with default-interval polling.',
  goal: 'through a Receiver: p95 < 3 s; report the others',
  defaultRounds: 5,
  prepare: (ctx) => { if (!ctx.options.skipSlow) void startPolledSample(ctx); },
  run,
};
