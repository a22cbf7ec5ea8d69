/**
 * The ConfigMap package several cluster workloads share: N ConfigMaps of ~2 KB
 * in a Git repo on the local Git server (and the same files on disk for
 * kubectl), a GitRepository with its artifact ready, and — for the no-op and
 * drift workloads — one Package of it applied and Ready. Made once per run.
 */
import { join } from 'node:path';
import { pushCommit } from '../../../hack/git-fixtures.ts';
import type { PackageSpecInput } from '../../../apply-controller/api.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { requireControllerEntries } from '../../framework/controllers.ts';
import type { Environment } from '../../framework/environment.ts';
import { MissedError } from '../../framework/workload.ts';
import { deleteNamespace, ensureNamespace } from './kube.ts';
import {
  applyTimeLimitMs, configMaps, PACKAGE_TYPE, createReadySource, gitRepository, manifestFiles, packageObject, waitForPackageOrMiss, writeFiles, BENCH_MANAGER,
} from './packages.ts';

/** Namespace of the benchmark's sources. */
export const SOURCES_NAMESPACE = 'bench-sources';
/** Folder of the manifests inside the repo (the Package's `path`). */
export const MANIFEST_FOLDER = 'configmaps';

/** The ConfigMap source of one size. */
export interface ConfigMapSource {
  readonly count: number;
  /** The objects (without namespace), in file order. */
  readonly objects: readonly KubeObject[];
  /** Folder with the same manifests as files, for kubectl. */
  readonly manifestDir: string;
  /** The GitRepository (in {@link SOURCES_NAMESPACE}) with its artifact ready. */
  readonly sourceName: string;
}

/** A Package of the ConfigMap source, applied and Ready. */
export interface SteadyPackage {
  readonly source: ConfigMapSource;
  readonly namespace: string;
  readonly name: string;
}

const cache = new WeakMap<Environment, Map<string, Promise<unknown>>>();

function once<T>(env: Environment, key: string, make: () => Promise<T>): Promise<T> {
  let mine = cache.get(env);
  if (!mine) cache.set(env, mine = new Map<string, Promise<unknown>>());
  let found = mine.get(key) as Promise<T> | undefined;
  if (!found) {
    found = make();
    mine.set(key, found);
    // A failed setup may be retried by the next workload; a missed one (Trellis refused it or ran out of time) would only miss again.
    found.catch((err: unknown) => { if (!(err instanceof MissedError)) mine.delete(key); });
  }
  return found;
}

/** The ConfigMap source of `count` objects, made on first use. */
export function configMapSource(env: Environment, count: number, log: (line: string) => void): Promise<ConfigMapSource> {
  return once(env, `source-${count}`, async () => {
    requireControllerEntries();
    const cluster = await env.cluster();
    const git = await env.git();
    await env.controllers();
    const objects = configMaps(count);
    const files = manifestFiles(objects, MANIFEST_FOLDER);
    const repo = `configmaps-${count}`;
    log(`pushing ${count} ConfigMaps to the Git server`);
    await pushCommit(git, repo, { files, message: `${count} ConfigMaps` });
    const root = join(env.dir, 'manifests', repo);
    writeFiles(root, files);
    await ensureNamespace(cluster.client, SOURCES_NAMESPACE);
    log(`waiting for GitRepository ${SOURCES_NAMESPACE}/${repo} to have its artifact`);
    // Never polled during a run: a source's poll landing inside a counted no-op window would be counted as the Package's.
    await createReadySource(cluster.client, gitRepository(SOURCES_NAMESPACE, repo, { url: git.repoUrl(repo), ref: { branch: 'main' }, interval: '1h' }));
    return { count, objects, manifestDir: join(root, MANIFEST_FOLDER), sourceName: repo };
  });
}

/** The Package spec applying a ConfigMap source. */
export function configMapPackageSpec(source: ConfigMapSource): PackageSpecInput {
  return {
    sourceRef: { kind: 'GitRepository', name: source.sourceName, namespace: SOURCES_NAMESPACE },
    path: MANIFEST_FOLDER,
  };
}

/**
 * Makes `pkg` the steady Package of its size, so the no-op and drift workloads
 * use the Package the cold apply made ("that Package") instead of applying
 * another one.
 */
export function adoptSteadyPackage(env: Environment, pkg: SteadyPackage): void {
  once(env, `steady-${pkg.source.count}`, () => Promise.resolve(pkg)).catch(() => undefined);
}

/**
 * Records that Trellis did not apply a Package of `count` objects (the cold
 * apply's refusal or timeout), so the workloads that need a steady one report
 * that at once instead of waiting for the same outcome again.
 */
export function markSteadyMissed(env: Environment, count: number, reason: string): void {
  once(env, `steady-${count}`, () => Promise.reject(new MissedError(`no Ready Package of ${count.toLocaleString('en')} ConfigMaps: ${reason}`)))
    .catch(() => undefined);
}

/** The Ready Package of the `count` ConfigMaps: the cold apply's if it left one, else one made now in `bench-steady-<count>`. */
export function steadyPackage(env: Environment, count: number, log: (line: string) => void): Promise<SteadyPackage> {
  return once(env, `steady-${count}`, async () => {
    const source = await configMapSource(env, count, log);
    const { client } = await env.cluster();
    const namespace = `bench-steady-${count}`;
    const name = 'configmaps';
    await ensureNamespace(client, namespace);
    log(`applying the steady Package ${namespace}/${name} (${count} ConfigMaps)`);
    // Applied, not created: an earlier workload's failed attempt may have left it.
    const applied = await client.apply(packageObject(namespace, name, configMapPackageSpec(source)), { fieldManager: BENCH_MANAGER, force: true });
    try {
      await waitForPackageOrMiss(client, namespace, name, applied.metadata?.resourceVersion ?? '0', { timeoutMs: applyTimeLimitMs(count) });
    } catch (err) {
      // A Package Trellis keeps retrying would load every later measurement.
      await deleteNamespace(client, namespace, { timeoutMs: 600_000, releaseFinalizers: [PACKAGE_TYPE] }).catch(() => undefined);
      if (err instanceof MissedError) err.message = `no Ready Package of ${count.toLocaleString('en')} ConfigMaps: ${err.message}`;
      throw err;
    }
    return { source, namespace, name };
  });
}
