/**
 * Workload 7, commit to applied: a commit pushed to the Git server, and the
 * time until the Package reports that commit's revision applied and Ready.
 * Twice: with a reconcile request on the GitRepository right after the push
 * (what a webhook receiver does), and with nothing but polling at the
 * GitRepository's default interval. The polling sample is pushed just after
 * the source's last reconcile, so it shows the worst case (a whole interval);
 * on average a push waits half of one.
 */
import { pushCommit } from '../../hack/git-fixtures.ts';
import type { Package } from '../../apply-controller/api.ts';
import { REQUESTED_AT_ANNOTATION } from '../../runtime/predicates.ts';
import { gitRepositoryResource } from '../../source-controller/api.ts';
import { requireControllerEntries } from '../framework/controllers.ts';
import { runAlternately, type Contender } from '../framework/rounds.ts';
import { formatDuration } from '../framework/stats.ts';
import type { BenchContext, Measurement, Workload, WorkloadOutcome } from '../framework/workload.ts';
import { ensureNamespace } from './support/kube.ts';
import { BENCH_MANAGER, createReadySource, gitRepository, packageObject, waitForPackage } from './support/packages.ts';

const NAMESPACE = 'bench-commit';
const REPO = 'commit-to-applied';
const REQUESTED = 'commit → applied, reconcile requested after the push';
const POLLED = 'commit → applied, default-interval polling (push just after a poll)';

/** The package's one manifest, different for every commit. */
function manifest(n: number): Record<string, string> {
  return {
    'app/config.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\ndata:\n  commit: "${n}"\n`,
  };
}

async function run(ctx: BenchContext): Promise<WorkloadOutcome> {
  requireControllerEntries();
  const cluster = await ctx.env.cluster();
  const git = await ctx.env.git();
  await ctx.env.controllers();
  const client = cluster.client;
  let commits = 0;
  await pushCommit(git, REPO, { files: manifest(++commits), message: 'first' });
  await ensureNamespace(client, NAMESPACE);
  // No interval in the spec: the apiserver fills in the CRD's default.
  await createReadySource(client, gitRepository(NAMESPACE, REPO, { url: git.repoUrl(REPO), ref: { branch: 'main' } }));
  const source = await client.get<{ spec?: { interval?: string } } & Package>({ ...gitRepositoryResource, namespace: NAMESPACE, name: REPO });
  const interval = source?.spec?.interval ?? 'unknown';
  const pkg = await client.create(packageObject(NAMESPACE, 'app', { sourceRef: { kind: 'GitRepository', name: REPO }, path: 'app' }), { fieldManager: BENCH_MANAGER });
  const first = await waitForPackage(client, NAMESPACE, 'app', pkg.metadata?.resourceVersion ?? '0', { timeoutMs: 180_000 });
  let resourceVersion = first.pkg.metadata.resourceVersion ?? '0';

  /** Pushes a commit, optionally requests a reconcile of the source, and waits for the Package to apply it. */
  const commitAndWait = async (request: boolean, timeoutMs: number): Promise<number> => {
    const sha = await pushCommit(git, REPO, { files: manifest(++commits), message: `commit ${commits}` });
    const t0 = performance.now();
    if (request) {
      await client.patch({ ...gitRepositoryResource, namespace: NAMESPACE, name: REPO },
        { metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: new Date().toISOString() } } }, { fieldManager: BENCH_MANAGER });
    }
    const seen = await waitForPackage(client, NAMESPACE, 'app', resourceVersion, {
      timeoutMs, done: (p) => p.status?.lastAppliedRevision === `main@sha1:${sha}` && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
    });
    resourceVersion = seen.pkg.metadata.resourceVersion ?? resourceVersion;
    return seen.at - t0;
  };

  const requested: Contender = {
    name: 'Trellis (GitRepository annotated right after the push)', role: 'trellis', metrics: { [REQUESTED]: 'ms' },
    run: async () => ({ [REQUESTED]: await commitAndWait(true, 120_000) }),
  };
  const measurements: Measurement[] = await runAlternately([requested], { rounds: ctx.rounds, log: ctx.log });
  const notes = [`The GitRepository's default interval is ${interval}.`];
  if (ctx.options.skipSlow) {
    notes.push('Default-interval polling: not run (--skip-slow).');
  } else {
    ctx.log(`waiting for a commit to be found by polling (default interval ${interval}; this takes about that long)`);
    const polled = await commitAndWait(false, 15 * 60_000);
    ctx.log(`polling: ${formatDuration(polled)}`);
    measurements.push({ metric: POLLED, contender: 'Trellis (no request, polling only)', role: 'trellis', unit: 'ms', samples: [polled] });
    notes.push('The polling sample is one push made right after the previous reconcile: close to the worst case of one whole interval plus the apply; a push at a random moment waits half an interval on average.');
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
  run,
};
