/**
 * Helpers for the estate tests: a repository pushed to the real Git server, turned
 * into an artifact by the real GitRepository reconciler, and applied by the real
 * Package controller (in-process, restricted to this file's Packages by a label),
 * with the real kustomize binary.
 */
import { randomBytes } from 'node:crypto';
import type { ExecutionContext, TestFn } from 'ava';
import type { PackageSpecInput } from '../../../apply-controller/api.ts';
import { configureKustomize } from '../../../apply-controller/kustomize/settings.ts';
import type { PackageController } from '../../../apply-controller/reconcile/controller.ts';
import { pushCommit } from '../../../hack/git-fixtures.ts';
import type { GitServer } from '../../../hack/git-server.ts';
import { ensureKustomize } from '../../../hack/peer-tools.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import { useCluster } from '../../support/cluster.ts';
import { useGitServer } from '../../support/servers.ts';
import { createPackage, releasePackagesOnTeardown, runLabel, startPackageController } from '../apply-controller/support.ts';
import { useSourceHarness, type SourceHarness } from '../source-controller/support.ts';

/** What every test of a file shares: the Git server, the controller, the kustomize binary. */
export interface EstateBed {
  readonly git: GitServer;
  readonly kustomize: string;
  readonly label: { key: string; value: string; selector: string };
  readonly packages: PackageController;
}

/** Starts the shared parts before the file's tests and stops them after; call the result inside a test. */
export function useEstateBed(test: TestFn<unknown>): () => EstateBed {
  let bed: EstateBed | undefined;
  test.before(async () => {
    const cluster = await useCluster();
    const kustomize = ensureKustomize();
    configureKustomize({ binary: kustomize });
    const label = runLabel();
    // CRDs and their resources are cluster-wide or cross-namespace: a single-tenant controller.
    const { packages } = await startPackageController(cluster, label.selector, { allowCrossNamespaceRefs: true });
    bed = { git: await useGitServer(), kustomize, label, packages };
  });
  test.after.always(async () => {
    await bed?.packages.stop();
  });
  return () => {
    if (!bed) throw new Error('the estate test bed is not started');
    return bed;
  };
}

/** A test's namespace with a GitRepository of `files` whose artifact is published. */
export interface GitEstate {
  readonly harness: SourceHarness;
  readonly namespace: string;
  readonly client: KubeClient;
  readonly commit: string;
  /** Creates a Package of this file's label on the GitRepository. */
  createPackage(name: string, spec: Omit<PackageSpecInput, 'sourceRef'>): Promise<void>;
}

/** Pushes `files` to a fresh repository of the real Git server and makes its GitRepository ready. */
export async function gitEstate(t: ExecutionContext, bed: EstateBed, files: Record<string, string>): Promise<GitEstate> {
  const harness = await useSourceHarness(t);
  const { client, namespace } = harness;
  releasePackagesOnTeardown(t, client, namespace);
  const repo = `estate-${randomBytes(4).toString('hex')}`;
  const commit = await pushCommit(bed.git, repo, { files });
  await harness.createGit('repo', { url: bed.git.repoUrl(repo), interval: '10m' });
  const report = await harness.reconcile('GitRepository', 'repo');
  if (report.kind !== 'requeue') throw new Error(`the GitRepository did not become ready: ${JSON.stringify(report)}`);
  return {
    harness, namespace, client, commit,
    async createPackage(name, spec) {
      await createPackage(client, namespace, name, bed.label, { sourceRef: { kind: 'GitRepository', name: 'repo' }, ...spec });
    },
  };
}

/** True when every field of `expected` is in `actual` with the same value (arrays element by element). */
export function isSubset(expected: unknown, actual: unknown): boolean {
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && expected.length === actual.length && expected.every((e, i) => isSubset(e, actual[i]));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(expected).every(([k, v]) => isSubset(v, (actual as Record<string, unknown>)[k]));
  }
  return expected === actual;
}
