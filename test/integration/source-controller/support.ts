/**
 * Helpers for the source-controller integration tests: the real reconcilers,
 * called in-process against the test cluster with real storage, a real
 * artifact server, a log captured in memory and Events recorded through the
 * runtime recorder. `reconcile(kind, name)` runs one reconcile and reports
 * what the controller would do next (requeue, waiting, stalled).
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ExecutionContext } from 'ava';
import { extractTarGz } from '../../../runtime/archive.ts';
import { getCondition, type Condition } from '../../../runtime/conditions.ts';
import { StallingError, WaitingError } from '../../../runtime/errors.ts';
import { EventRecorder } from '../../../runtime/events.ts';
import { KubeClient } from '../../../runtime/kube.ts';
import { createLogger } from '../../../runtime/logging.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import {
  gitRepositoryResource, ociRepositoryResource, type GitRepository, type GitRepositorySpecInput, type OCIRepository,
  type OCIRepositorySpecInput,
} from '../../../source-controller/api.ts';
import { gitRepositoryKind } from '../../../source-controller/gitrepository.ts';
import { ociRepositoryKind } from '../../../source-controller/ocirepository.ts';
import { SOURCE_FINALIZER } from '../../../source-controller/reconcile/finalizer.ts';
import { createSourceReconciler, type SourceReconcilerOptions } from '../../../source-controller/reconcile/skeleton.ts';
import { startArtifactServer, type ArtifactServer } from '../../../source-controller/storage/server.ts';
import { ArtifactStorage } from '../../../source-controller/storage/storage.ts';
import { scratchDir, testNamespace, useCluster } from '../../support/cluster.ts';

/** What one reconcile led to, as the controller would act on it. */
export type ReconcileReport =
  | { readonly kind: 'requeue'; readonly afterMs: number | undefined }
  | { readonly kind: 'waiting'; readonly reason: string; readonly afterMs: number; readonly message: string }
  | { readonly kind: 'stalled'; readonly reason: string; readonly message: string };

/** A source kind the harness drives. */
export type Kind = 'GitRepository' | 'OCIRepository';

/** An Event as listed from the apiserver. */
export interface EventObject extends KubeObject {
  type?: string;
  reason?: string;
  note?: string;
  regarding?: { kind?: string; name?: string };
  series?: { count?: number };
}

/** The in-process source controller of one test. */
export interface SourceHarness {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly storage: ArtifactStorage;
  readonly server: ArtifactServer;
  /** Everything the reconcilers logged. */
  readonly logs: string[];
  createGit(name: string, spec: GitRepositorySpecInput): Promise<GitRepository>;
  createOci(name: string, spec: OCIRepositorySpecInput): Promise<OCIRepository>;
  /** Merge-patches the spec (and optionally metadata). */
  patchSpec(kind: Kind, name: string, spec: Record<string, unknown>, metadata?: Record<string, unknown>): Promise<void>;
  get<T extends GitRepository | OCIRepository>(kind: Kind, name: string): Promise<T | undefined>;
  reconcile(kind: Kind, name: string): Promise<ReconcileReport>;
  events(name: string): Promise<EventObject[]>;
  secret(name: string, data: Record<string, string>, type?: string): Promise<void>;
}

const apiVersionOf = (kind: Kind): string => (kind === 'GitRepository' ? gitRepositoryResource.apiVersion : ociRepositoryResource.apiVersion);

/** Starts a harness in a fresh namespace; everything is cleaned up when the test ends. */
export async function useSourceHarness(t: ExecutionContext, options: Partial<SourceReconcilerOptions> = {}): Promise<SourceHarness> {
  const cluster = await useCluster();
  const namespace = await testNamespace(t, cluster);
  const client = new KubeClient(cluster.kubeConfig, { qps: 0 });
  const root = scratchDir('source-storage');
  const storage = new ArtifactStorage(join(root, 'artifacts'));
  const workDir = join(root, 'work');
  mkdirSync(workDir, { recursive: true });
  const server = await startArtifactServer({ storage });
  const logs: string[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: new Writable({ write(chunk: Buffer, _enc, done) { logs.push(chunk.toString()); done(); } }),
  });
  const events = new EventRecorder({ client, controller: 'trellis.dev/source-controller-test', logger });
  const reconcilerOptions: SourceReconcilerOptions = {
    client, storage, workDir, events, backoffBaseMs: 1000,
    artifactUrl: (kind, ns, name, digest) => server.urlFor(kind, ns, name, digest),
    ...options,
  };
  const reconcilers = {
    GitRepository: createSourceReconciler(gitRepositoryKind, reconcilerOptions),
    OCIRepository: createSourceReconciler(ociRepositoryKind, reconcilerOptions),
  };
  const created: Array<{ kind: Kind; name: string }> = [];
  // Runs before the namespace is deleted (teardowns run last-in first-out): without a
  // running controller, our finalizer would keep the namespace from ever going away.
  t.teardown(async () => {
    for (const { kind, name } of created) {
      await client.patch({ apiVersion: apiVersionOf(kind), kind, namespace, name }, { metadata: { finalizers: null } }).catch(() => undefined);
    }
    await server.stop();
  });

  const harness: SourceHarness = {
    client, namespace, storage, server, logs,
    async createGit(name, spec) {
      created.push({ kind: 'GitRepository', name });
      return client.create<GitRepository>({ apiVersion: gitRepositoryResource.apiVersion, kind: 'GitRepository', metadata: { name, namespace }, spec } as GitRepository);
    },
    async createOci(name, spec) {
      created.push({ kind: 'OCIRepository', name });
      return client.create<OCIRepository>({ apiVersion: ociRepositoryResource.apiVersion, kind: 'OCIRepository', metadata: { name, namespace }, spec } as OCIRepository);
    },
    async patchSpec(kind, name, spec, metadata) {
      await client.patch({ apiVersion: apiVersionOf(kind), kind, namespace, name }, { spec, ...(metadata ? { metadata } : {}) });
    },
    get: (kind, name) => client.get({ apiVersion: apiVersionOf(kind), kind, namespace, name }),
    async reconcile(kind, name) {
      const key = `${namespace}/${name}`;
      try {
        const result = await reconcilers[kind](key, { key, namespace, name, cached: undefined, log: logger.child({ kind, key }), failures: 0 });
        return { kind: 'requeue', afterMs: result?.requeueAfterMs };
      } catch (err) {
        if (err instanceof WaitingError) return { kind: 'waiting', reason: err.reason, afterMs: err.retryAfterMs, message: err.message };
        if (err instanceof StallingError) return { kind: 'stalled', reason: err.reason, message: err.message };
        throw err;
      }
    },
    async events(name) {
      const list = await client.list<EventObject>({ apiVersion: 'events.k8s.io/v1', kind: 'Event', namespace });
      return list.items.filter((e) => e.regarding?.name === name);
    },
    async secret(name, data, type = 'Opaque') {
      const body = { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type, stringData: data };
      await client.apply(body, { fieldManager: 'trellis-tests', force: true });
    },
  };
  return harness;
}

/** The condition of `type` on an object. */
export function conditionOf(obj: { status?: { conditions?: Condition[] } } | undefined, type: string): Condition | undefined {
  return getCondition(obj?.status?.conditions, type);
}

/** `sha256:<hex>` of bytes. */
export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Downloads an artifact URL. */
export async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/** Downloads and unpacks an artifact; returns the folder. */
export async function unpackArtifact(url: string): Promise<string> {
  const dir = scratchDir('artifact');
  const file = join(dir, 'artifact.tar.gz');
  await writeFile(file, await download(url));
  await extractTarGz(file, join(dir, 'tree'));
  return join(dir, 'tree');
}

/** Reads a file of an unpacked artifact. */
export function readTreeFile(tree: string, path: string): Promise<string> {
  return readFile(join(tree, path), 'utf8');
}

export { SOURCE_FINALIZER };
