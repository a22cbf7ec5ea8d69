/**
 * Test access to the real local cluster. Under `npm test` the runner starts one
 * control plane for the whole run and hands its kubeconfig over in
 * TRELLIS_TEST_KUBECONFIG; a test file run on its own (`npx ava file`) starts a
 * private one and stops it when the file is done. Either way Trellis's CRDs are
 * installed before the first test uses the cluster.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { ExecutionContext, TestFn } from 'ava';
import { installCrds } from '../../hack/install-crds.ts';
import { startLocalCluster, type LocalCluster } from '../../hack/local-cluster.ts';
import { KubeClient } from '../../runtime/kube.ts';

/** What a test needs to reach the cluster. */
export interface TestCluster {
  readonly kubeconfigPath: string;
  readonly kubeConfig: k8s.KubeConfig;
}

let shared: Promise<TestCluster> | undefined;
let owned: LocalCluster | undefined;

/** The folder this test run keeps its state in (created when not run by `npm test`). */
export function runDir(): string {
  process.env.TRELLIS_TEST_RUN_DIR ??= mkdtempSync(join(tmpdir(), 'trellis-test-'));
  return process.env.TRELLIS_TEST_RUN_DIR;
}

/** A fresh folder under the run folder, for one server or one test. */
export function scratchDir(prefix: string): string {
  return mkdtempSync(join(runDir(), `${prefix}-`));
}

/**
 * The test cluster. Register `test.after.always(releaseCluster)` in files that
 * call it, so a privately started cluster is stopped.
 */
export function useCluster(): Promise<TestCluster> {
  shared ??= (async () => {
    let kubeconfigPath = process.env.TRELLIS_TEST_KUBECONFIG;
    if (!kubeconfigPath) {
      owned = await startLocalCluster({ dir: scratchDir('cluster') });
      kubeconfigPath = owned.kubeconfigPath;
    }
    const kubeConfig = new k8s.KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    // Idempotent (server-side apply): every file sees Trellis's CRDs installed.
    await installCrds(new KubeClient(kubeConfig), { fieldManager: 'trellis-tests' });
    return { kubeconfigPath, kubeConfig };
  })();
  return shared;
}

/** Stops a cluster this file started itself; does nothing for the shared one. */
export async function releaseCluster(): Promise<void> {
  await owned?.stop();
  owned = undefined;
}

/** Registers the cluster lifecycle hooks on an AVA test function and returns it. */
export function withCluster<T>(test: TestFn<T>): TestFn<T> {
  test.after.always(releaseCluster);
  return test;
}

/**
 * Creates a namespace only this test uses and deletes it when the test ends.
 * Returns its name.
 */
export async function testNamespace(t: ExecutionContext, cluster: TestCluster): Promise<string> {
  const core = cluster.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const slug = t.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40).replace(/-$/, '');
  const name = `t-${slug || 'test'}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name, labels: { 'trellis.dev/test': 'true' } } } });
  t.teardown(async () => {
    await core.deleteNamespace({ name }).catch(() => undefined);
  });
  return name;
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(check: () => Promise<T | undefined | false | null>, timeoutMs = 30_000,
  intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms${last instanceof Error ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
