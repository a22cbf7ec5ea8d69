/**
 * Helpers for the apply-controller integration tests: real artifacts served by
 * the source-controller's own storage server, source objects whose
 * `status.artifact` the test publishes itself (the sources are suspended, so a
 * source-controller running for another test leaves them alone), and the real
 * Package controller wiring started in-process, restricted by a label to the
 * Packages of one test file.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ExecutionContext, TestFn } from 'ava';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { packageResource, type Package, type PackageSpecInput } from '../../../apply-controller/api.ts';
import { createPackageController, type PackageController, type PackageControllerOptions } from '../../../apply-controller/reconcile/controller.ts';
import { createDeterministicTarGz } from '../../../runtime/archive.ts';
import { getCondition, type Condition } from '../../../runtime/conditions.ts';
import { EventRecorder } from '../../../runtime/events.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import type { ControllerMetrics } from '../../../runtime/metrics.ts';
import { createLogger } from '../../../runtime/logging.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { ociRepositoryResource, type Artifact } from '../../../source-controller/api.ts';
import { startArtifactServer, type ArtifactServer } from '../../../source-controller/storage/server.ts';
import { ArtifactStorage } from '../../../source-controller/storage/storage.ts';
import { eventually, scratchDir, useCluster, type TestCluster } from '../../support/cluster.ts';

/** An admin client without client-side rate limiting. */
export function adminClient(cluster: TestCluster): KubeClient {
  return new KubeClient(cluster.kubeConfig, { qps: 0 });
}

/** Files of a bundle: path -> content (objects are written as multi-document YAML). */
export type BundleFiles = Readonly<Record<string, string | readonly object[]>>;

/** YAML text of the objects, one document each. */
export function yamlOf(objects: readonly object[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

/** Serves real artifact tarballs over HTTP, like the source-controller does. */
export class ArtifactPublisher {
  readonly storage: ArtifactStorage;
  readonly server: ArtifactServer;
  #n = 0;

  private constructor(storage: ArtifactStorage, server: ArtifactServer) {
    this.storage = storage;
    this.server = server;
  }

  /** Starts the storage server in a fresh folder. */
  static async start(): Promise<ArtifactPublisher> {
    const storage = new ArtifactStorage(scratchDir('artifacts'));
    return new ArtifactPublisher(storage, await startArtifactServer({ storage }));
  }

  /** Packs `files` into a deterministic tar.gz, stores it for the source, and returns its `status.artifact`. */
  async publish(namespace: string, source: string, files: BundleFiles, version = `1.0.${this.#n}`): Promise<Artifact> {
    this.#n += 1;
    const work = scratchDir('bundle');
    const tree = join(work, 'tree');
    for (const [path, content] of Object.entries(files)) {
      const file = join(tree, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, typeof content === 'string' ? content : yamlOf(content));
    }
    mkdirSync(tree, { recursive: true });
    const tarball = join(work, 'artifact.tar.gz');
    await createDeterministicTarGz(tree, tarball);
    const stored = await this.storage.store('OCIRepository', namespace, source, tarball);
    return {
      url: this.server.urlFor('OCIRepository', namespace, source, stored.digest),
      revision: `${version}@${stored.digest}`,
      digest: stored.digest,
      size: stored.size,
      lastUpdateTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
  }

  /** Stores arbitrary tarball bytes (a hostile archive) for the source and returns its `status.artifact`. */
  async publishBytes(namespace: string, source: string, bytes: Buffer, version = `9.9.${this.#n}`): Promise<Artifact> {
    this.#n += 1;
    const file = join(scratchDir('bundle'), 'artifact.tar.gz');
    writeFileSync(file, bytes);
    const stored = await this.storage.store('OCIRepository', namespace, source, file);
    return {
      url: this.server.urlFor('OCIRepository', namespace, source, stored.digest), revision: `${version}@${stored.digest}`,
      digest: stored.digest, size: stored.size, lastUpdateTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
  }

  /** Stops the server. */
  stop(): Promise<void> {
    return this.server.stop();
  }
}

/** Creates a suspended OCIRepository (nothing else reconciles it) and publishes `artifact` in its status. */
export async function createSource(client: KubeClient, namespace: string, name: string, artifact?: Artifact): Promise<void> {
  await client.create({
    apiVersion: ociRepositoryResource.apiVersion, kind: ociRepositoryResource.kind,
    metadata: { name, namespace },
    spec: { url: 'oci://127.0.0.1:9/trellis/test', suspend: true },
  });
  if (artifact) await setArtifact(client, namespace, name, artifact);
}

/** Publishes a new artifact in a source's status, as the source-controller would. */
export async function setArtifact(client: KubeClient, namespace: string, name: string, artifact: Artifact): Promise<void> {
  await client.patchStatus({ apiVersion: ociRepositoryResource.apiVersion, kind: ociRepositoryResource.kind, namespace, name }, { artifact });
}

/** A label that marks the Packages of one test file; the file's controller reconciles only those. */
export function runLabel(): { key: string; value: string; selector: string } {
  const value = randomBytes(4).toString('hex');
  return { key: 'trellis.dev/test-controller', value, selector: `trellis.dev/test-controller=${value}` };
}

/** Where the test controllers keep their revision key: a namespace no test deletes. */
export const TEST_REVISION_KEY_NAMESPACE = 'trellis-test-revision-keys';

/** Starts the real Package controller in-process with short intervals. */
export async function startPackageController(cluster: TestCluster, selector: string,
  extra: Partial<PackageControllerOptions> = {}): Promise<{ packages: PackageController; client: KubeClient; logFile: string }> {
  // The controller's own client: its request counter counts only the controller's requests.
  const client = new KubeClient(cluster.kubeConfig, { qps: 0, userAgent: 'trellis/apply-controller-test' });
  // TRELLIS_TEST_LOG_DIR keeps the controller logs after the run (the run folder is removed).
  const logDir = process.env.TRELLIS_TEST_LOG_DIR;
  const logFile = logDir ? join(logDir, `apply-controller-${selector.split('=')[1] ?? 'x'}.log`) : join(scratchDir('apply-log'), 'controller.log');
  const logger = createLogger({ level: 'debug', destination: pino.destination({ dest: logFile, sync: false, mkdir: true }) });
  const events = new EventRecorder({ client, controller: 'trellis.dev/apply-controller', logger });
  const packages = createPackageController({
    client, events, logger, artifactCacheDir: scratchDir('apply-cache'), watchLabelSelector: selector,
    healthPollIntervalMs: 200, dependencyRequeueMs: 1_000, concurrency: 4, driftRetryBaseMs: 200,
    queue: { backoffBaseMs: 200, backoffCapMs: 5_000 },
    // Not trellis-system: the self-install test deletes that namespace (and the key in it) while others run.
    revisionKeyNamespace: TEST_REVISION_KEY_NAMESPACE,
    ...extra,
  });
  await packages.start();
  return { packages, client, logFile };
}

/** Reconciles finished so far by the controller that reports to `metrics`, whatever their result. */
export async function reconcileCount(metrics: ControllerMetrics): Promise<number> {
  return (await metrics.reconcileTotal.get()).values.reduce((sum, v) => sum + v.value, 0);
}

/**
 * Waits until `packages` ran no reconcile for `quietMs` and has nothing queued
 * or running; resolves with the reconcile count then.
 */
export async function settleReconciles(packages: PackageController, metrics: ControllerMetrics, quietMs = 1_500): Promise<number> {
  let count = await reconcileCount(metrics);
  let since = Date.now();
  await eventually(async () => {
    const now = await reconcileCount(metrics);
    if (now !== count || packages.controller.queue.inFlight > 0 || packages.controller.queue.depth > 0) {
      count = now;
      since = Date.now();
      return false;
    }
    return Date.now() - since >= quietMs;
  }, 60_000, 100);
  return count;
}

/** One test file's Package controller and artifact publisher, started before its tests. */
export interface PackageTestBed {
  readonly publisher: ArtifactPublisher;
  readonly packages: PackageController;
  /** The controller's own client (its request counter counts only the controller's requests). */
  readonly client: KubeClient;
}

/**
 * Starts a Package controller that reconciles only this file's Packages (by
 * `label`) and an artifact publisher before the file's tests; stops both after.
 * Call the returned function inside a test to reach them.
 */
export function usePackageTestBed(test: TestFn<unknown>, label: { selector: string },
  extra: Partial<PackageControllerOptions> = {}): () => PackageTestBed {
  let bed: PackageTestBed | undefined;
  test.before(async () => {
    const cluster = await useCluster();
    const publisher = await ArtifactPublisher.start();
    const { packages, client } = await startPackageController(cluster, label.selector, extra);
    bed = { publisher, packages, client };
  });
  test.after.always(async () => {
    await bed?.packages.stop();
    await bed?.publisher.stop();
  });
  return () => {
    if (!bed) throw new Error('the package test bed is not started');
    return bed;
  };
}

/** Creates a Package with the file's label. */
export async function createPackage(client: KubeClient, namespace: string, name: string, label: { key: string; value: string },
  spec: PackageSpecInput): Promise<Package> {
  return client.create<Package>({
    apiVersion: packageResource.apiVersion, kind: packageResource.kind,
    metadata: { name, namespace, labels: { [label.key]: label.value } },
    spec: { interval: '10m', retryInterval: '2s', timeout: '30s', ...spec } as Package['spec'],
  });
}

/** Reads a Package. */
export async function getPackage(client: KubeClient, namespace: string, name: string): Promise<Package | undefined> {
  return client.get<Package>({ apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace, name });
}

/** Merge-patches a Package's spec. */
export async function patchSpec(client: KubeClient, namespace: string, name: string, spec: Partial<PackageSpecInput>): Promise<void> {
  await client.patch({ apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace, name }, { spec });
}

/** Waits until the Package's status satisfies `check`; the failure message shows the last status. */
export async function waitForPackage(client: KubeClient, namespace: string, name: string,
  check: (pkg: Package) => boolean, timeoutMs = 60_000): Promise<Package> {
  let last: Package | undefined;
  try {
    return await eventually(async () => {
      last = await getPackage(client, namespace, name);
      return last && check(last) ? last : undefined;
    }, timeoutMs, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status ?? null)}`);
  }
}

/** The Package's condition of `type`. */
export function conditionOf(pkg: Package, type: string): Condition | undefined {
  return getCondition(pkg.status?.conditions, type);
}

/** True when Ready=True for the current generation and the last applied revision is `revision` (when given). */
export function isReadyAt(pkg: Package, revision?: string): boolean {
  const ready = conditionOf(pkg, 'Ready');
  return ready?.status === 'True' && pkg.status?.observedGeneration === pkg.metadata.generation
    && (revision === undefined || pkg.status?.lastAppliedRevision === revision);
}

/** True when the Package is Stalled with `reason`. */
export function isStalled(pkg: Package, reason?: string): boolean {
  const stalled = conditionOf(pkg, 'Stalled');
  return stalled?.status === 'True' && (reason === undefined || stalled.reason === reason)
    && pkg.status?.observedGeneration === pkg.metadata.generation;
}

/** A ConfigMap manifest. */
export function configMap(name: string, data: Record<string, string>, extra: { namespace?: string; annotations?: Record<string, string> } = {}): object {
  return {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name, ...(extra.namespace ? { namespace: extra.namespace } : {}), ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    data,
  };
}

/** A Deployment manifest of one container. */
export function deployment(name: string, image = 'nginx:1.25', extra: { annotations?: Record<string, string>; replicas?: number } = {}): object {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: {
      replicas: extra.replicas ?? 1, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } },
    },
  };
}

/** Reads an object (undefined when missing). */
export function getObject<T extends KubeObject = KubeObject & Record<string, unknown>>(client: KubeClient, apiVersion: string, kind: string,
  namespace: string | undefined, name: string): Promise<T | undefined> {
  return client.get<T>({ apiVersion, kind, name, ...(namespace ? { namespace } : {}) });
}

/**
 * Registers a teardown that removes the Trellis finalizer from the namespace's
 * Packages, so deleting the namespace never waits for a controller that stopped.
 * Register it after `testNamespace` (teardowns run last-registered first).
 */
export function releasePackagesOnTeardown(t: ExecutionContext, client: KubeClient, namespace: string): void {
  t.teardown(async () => {
    const { items } = await client.list<Package>({ apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace })
      .catch(() => ({ items: [] as Package[] }));
    for (const pkg of items) {
      if (!pkg.metadata.finalizers?.length) continue;
      await client.patch({ apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace, name: pkg.metadata.name ?? '' },
        { metadata: { finalizers: null } }).catch(() => undefined);
    }
  });
}

/** Names of the Events recorded about an object, with their reasons and notes. */
export async function eventsAbout(client: KubeClient, namespace: string, name: string): Promise<{ reason: string; note: string; type: string }[]> {
  const { items } = await client.list<KubeObject & { reason?: string; note?: string; type?: string; regarding?: { name?: string } }>(
    { apiVersion: 'events.k8s.io/v1', kind: 'Event', namespace });
  return items.filter((e) => e.regarding?.name === name).map((e) => ({ reason: e.reason ?? '', note: e.note ?? '', type: e.type ?? '' }));
}
