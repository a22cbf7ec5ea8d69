/**
 * The objects the cluster workloads apply and the Trellis resources that apply
 * them: ConfigMaps of about 2 KB as manifest files, GitRepository and
 * OCIRepository sources waited on until they have an artifact, and Packages
 * created and waited on until Ready.
 */
import { randomInt } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import type { KubeClient } from '../../../runtime/kube.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { gitRepositoryResource, ociRepositoryResource, type GitRepositorySpecInput, type OCIRepositorySpecInput } from '../../../source-controller/api.ts';
import { packageResource, type Package, type PackageSpecInput } from '../../../apply-controller/api.ts';
import { MissedError } from '../../framework/workload.ts';
import { isReadyNow, readyCondition, WaitTimeoutError, watchUntil } from './kube.ts';

/** The Package kind (for lists, watches and releasing finalizers at cleanup). */
export const PACKAGE_TYPE = { apiVersion: packageResource.apiVersion, kind: packageResource.kind } as const;

/** The field manager of the benchmark's own writes. */
export const BENCH_MANAGER = 'trellis-bench';

/** The data key of the benchmark ConfigMaps. */
export const CONFIG_KEY = 'app.properties';

const WORDS = ['service', 'cache', 'timeout', 'retry', 'endpoint', 'pool', 'limit', 'region', 'replica', 'feature', 'logging',
  'metrics', 'queue', 'shard', 'backup', 'window', 'token', 'session', 'upstream', 'tls', 'buffer', 'worker', 'batch', 'index'];

/**
 * About `bytes` of configuration text: `a.b.c_12=value-x3f9-42` lines from a small
 * vocabulary with random numbers. It compresses like real configuration (gzip to
 * about 30 %), neither trivially (repeated text) nor not at all (random bytes).
 */
export function configText(bytes: number): string {
  const word = (): string => WORDS[randomInt(WORDS.length)]!;
  let text = '';
  while (text.length < bytes) {
    text += `${word()}.${word()}.${word()}_${randomInt(100)}=${word()}-${randomInt(1e6).toString(36)}-${randomInt(1e4)}\n`;
  }
  return `${text.slice(0, bytes - 1)}\n`;
}

/** `count` ConfigMaps named `<prefix>-00001`… without a namespace, each with ~2 KB of data. */
export function configMaps(count: number, prefix = 'cm'): KubeObject[] {
  const width = Math.max(5, String(count).length);
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${prefix}-${String(i + 1).padStart(width, '0')}`, labels: { 'bench.trellis.dev/set': prefix } },
    data: { [CONFIG_KEY]: configText(1_900), index: String(i + 1) },
  }));
}

/** Objects as multi-document YAML files of `perFile` objects: `<folder>/part-0001.yaml`… */
export function manifestFiles(objects: readonly KubeObject[], folder: string, perFile = 100): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < objects.length; i += perFile) {
    const docs = objects.slice(i, i + perFile).map((o) => stringify(o, { lineWidth: 0 }));
    files[`${folder}/part-${String(i / perFile + 1).padStart(4, '0')}.yaml`] = docs.join('---\n');
  }
  return files;
}

/** Writes `files` (path -> content) under `root`. */
export function writeFiles(root: string, files: Readonly<Record<string, string>>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

/** A GitRepository in the shape the apiserver takes. */
export function gitRepository(namespace: string, name: string, spec: GitRepositorySpecInput): KubeObject {
  return { apiVersion: gitRepositoryResource.apiVersion, kind: gitRepositoryResource.kind, metadata: { name, namespace }, spec } as KubeObject;
}

/** An OCIRepository in the shape the apiserver takes. */
export function ociRepository(namespace: string, name: string, spec: OCIRepositorySpecInput): KubeObject {
  return { apiVersion: ociRepositoryResource.apiVersion, kind: ociRepositoryResource.kind, metadata: { name, namespace }, spec } as KubeObject;
}

/** A Package in the shape the apiserver takes. */
export function packageObject(namespace: string, name: string, spec: PackageSpecInput): KubeObject {
  return { apiVersion: packageResource.apiVersion, kind: packageResource.kind, metadata: { name, namespace }, spec } as KubeObject;
}

/** Waits until the source has an artifact and is Ready; resolves with its artifact revision. */
export async function waitForSource(client: KubeClient, source: KubeObject, resourceVersion: string, timeoutMs = 180_000): Promise<string> {
  let revision = '';
  const namespace = source.metadata?.namespace ?? '';
  const name = source.metadata?.name ?? '';
  await watchUntil<KubeObject & { status?: { artifact?: { revision?: string } } }>(client,
    { apiVersion: source.apiVersion ?? '', kind: source.kind ?? '', namespace },
    { resourceVersion, fieldSelector: `metadata.name=${name}`, timeoutMs, what: `${source.kind ?? ''} ${namespace}/${name} to be Ready` },
    (obj) => {
      revision = obj.status?.artifact?.revision ?? '';
      return isReadyNow(obj) && revision !== '';
    });
  return revision;
}

/** Creates a source and waits until it is Ready with an artifact. */
export async function createReadySource(client: KubeClient, source: KubeObject, timeoutMs?: number): Promise<string> {
  const created = await client.create(source, { fieldManager: BENCH_MANAGER });
  return waitForSource(client, source, created.metadata?.resourceVersion ?? '0', timeoutMs);
}

/** Raised when a Package waited on reports Stalled (only a change of its spec or source can help). */
export class PackageStalledError extends Error {
  override readonly name = 'PackageStalledError';
}

/** What {@link waitForPackage} saw when it ended. */
export interface PackageSeen {
  readonly at: number;
  readonly pkg: Package;
}

/**
 * Waits until the Package satisfies `done` (default: Ready for its generation)
 * and resolves with the moment (performance.now()) the event arrived. A
 * Package that becomes Stalled fails the wait with its message.
 */
export async function waitForPackage(client: KubeClient, namespace: string, name: string, resourceVersion: string,
  opts: { timeoutMs: number; done?: (pkg: Package) => boolean }): Promise<PackageSeen> {
  let seen: PackageSeen | undefined;
  let last = '';
  await watchUntil<Package>(client, { apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace }, {
    resourceVersion, fieldSelector: `metadata.name=${name}`, timeoutMs: opts.timeoutMs, what: `Package ${namespace}/${name}`,
  }, (pkg) => {
    const ready = readyCondition(pkg);
    last = `Ready=${ready?.status ?? '?'} ${ready?.reason ?? ''}: ${ready?.message ?? ''}`.slice(0, 300);
    const stalled = pkg.status?.conditions?.find((c) => c.type === 'Stalled' && c.status === 'True');
    if (stalled) throw new PackageStalledError(`Package ${namespace}/${name} stalled: ${stalled.reason}: ${stalled.message ?? ''}`);
    if ((opts.done ?? isReadyNow)(pkg)) {
      seen = { at: performance.now(), pkg };
      return true;
    }
    return false;
  }).catch((err: unknown) => {
    if (err instanceof Error && !(err instanceof PackageStalledError)) err.message = `${err.message} (last seen: ${last || 'nothing'})`;
    throw err;
  });
  return seen!;
}

/**
 * How long Trellis gets to apply a Package of `objects` objects before the
 * case counts as missed: 60 ms per object (several times what the goals
 * allow), at least 2 and at most 10 minutes, so a slow engine still ends the
 * run in bounded time.
 */
export function applyTimeLimitMs(objects: number): number {
  return Math.min(600_000, Math.max(120_000, objects * 60));
}

/**
 * {@link waitForPackage}, with Trellis's refusal (Stalled) and running out of
 * time turned into a {@link MissedError}: results of the case, not failures
 * of the benchmark.
 */
export async function waitForPackageOrMiss(client: KubeClient, namespace: string, name: string, resourceVersion: string,
  opts: { timeoutMs: number; done?: (pkg: Package) => boolean }): Promise<PackageSeen> {
  try {
    return await waitForPackage(client, namespace, name, resourceVersion, opts);
  } catch (err) {
    if (err instanceof PackageStalledError) throw new MissedError(`refused: ${err.message}`);
    if (err instanceof WaitTimeoutError) {
      // The watch's message already names the Package and what it showed last; only the limit needs saying.
      throw new MissedError(`not done within ${Math.round(opts.timeoutMs / 1000)} s: ${err.message.replace(/^timed out after \d+ ms waiting for /, '')}`);
    }
    throw err;
  }
}
