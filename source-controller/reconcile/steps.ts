/**
 * The ordered steps of a source reconcile: storage -> resolve -> verify ->
 * fetch -> artifact. Each works on one {@link SourceRun}, returns `continue` or `done`
 * (nothing more to do this time), or throws; the first throw ends the run and
 * the skeleton turns it into conditions. No step ever removes the last good
 * artifact because a later step failed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConditionType } from '../../runtime/conditions.ts';
import type { Logger } from '../../runtime/logging.ts';
import type { Artifact } from '../api.ts';
import type { ArtifactStorage } from '../storage/storage.ts';
import { toSourceFailure } from './failure.ts';
import type { SourceFetcher, SourceObject } from './source.ts';
import { artifactBuiltForGeneration } from './status.ts';

/** What the steps share for one reconcile of one object. */
export interface SourceRun {
  readonly object: SourceObject;
  readonly storageKind: string;
  readonly namespace: string;
  readonly name: string;
  readonly fetcher: SourceFetcher;
  readonly log: Logger;
  /** The artifact to publish: the last good one until a new one is stored. */
  artifact: Artifact | undefined;
  /** The revision `resolve` found. */
  revision?: string;
  /** A private folder for this run, removed by the skeleton. */
  workDir?: string;
  /** The tarball `fetch` wrote, waiting to be stored. */
  fetchedFile?: string;
  fetchedMetadata?: Readonly<Record<string, string>> | undefined;
  /** True once this run stored an artifact with a new digest or revision. */
  stored: boolean;
}

/** What the steps need besides the run. */
export interface StepDeps {
  readonly storage: ArtifactStorage;
  /** The URL an artifact is served at (the advertised address). */
  readonly artifactUrl: (storageKind: string, namespace: string, name: string, digest: string) => string;
  /** Scratch space; each run gets its own folder below it. */
  readonly workDir: string;
  /** Artifacts kept per source, the current one included. */
  readonly retention: number;
  readonly now: () => Date;
}

/** `continue` to the next step, or `done`: the source is up to date. */
export type StepResult = 'continue' | 'done';

/** One step. */
export type SourceStep = (run: SourceRun, deps: StepDeps) => Promise<StepResult>;

/**
 * Storage: the published artifact must exist on disk. When its file is gone
 * (a new volume, a manual cleanup) it is unpublished, so the next steps
 * rebuild it; otherwise its URL is refreshed (the advertised address may have
 * changed since it was stored) and old artifacts beyond the retention are removed.
 * Sets no condition itself; a storage error is an ArtifactFailed failure.
 */
export const reconcileStorage: SourceStep = async (run, deps) => {
  const current = run.artifact;
  if (!current) return 'continue';
  try {
    if (!(await deps.storage.has(run.storageKind, run.namespace, run.name, current.digest))) {
      run.log.info({ digest: current.digest }, 'the published artifact is missing from storage; rebuilding it');
      run.artifact = undefined;
      return 'continue';
    }
    run.artifact = { ...current, url: deps.artifactUrl(run.storageKind, run.namespace, run.name, current.digest) };
    await deps.storage.withLock(run.storageKind, run.namespace, run.name, () =>
      deps.storage.garbageCollect(run.storageKind, run.namespace, run.name, { keep: deps.retention, current: current.digest }));
  } catch (err) {
    throw toSourceFailure(err, { condition: ConditionType.ArtifactFailed, reason: 'StorageOperationFailed' });
  }
  return 'continue';
};

/**
 * Resolve: asks the source which revision the ref names now, with its cheapest
 * call. When that is the published artifact's revision and the artifact was
 * built for this generation of the spec, the run is done — nothing is
 * downloaded. Failures set FetchFailed.
 */
export const resolveRevision: SourceStep = async (run) => {
  try {
    run.revision = await run.fetcher.resolve();
  } catch (err) {
    throw toSourceFailure(err, { condition: ConditionType.FetchFailed, reason: 'ResolveFailed' });
  }
  const current = run.artifact;
  if (current && current.revision === run.revision
    && artifactBuiltForGeneration(run.object.status, run.object.metadata.generation)) {
    run.log.debug({ revision: run.revision }, 'revision unchanged and its artifact is stored; nothing to fetch');
    return 'done';
  }
  return 'continue';
};

/**
 * Verify: checks the resolved revision's signature when the spec asks for it,
 * before anything of the content is downloaded. Runs only when the revision
 * needs a new artifact: an artifact built for this generation was verified
 * when it was built. Failures set VerificationFailed.
 */
export const verifyRevision: SourceStep = async (run) => {
  if (!run.fetcher.verify) return 'continue';
  try {
    await run.fetcher.verify();
  } catch (err) {
    throw toSourceFailure(err, { condition: ConditionType.VerificationFailed, reason: 'VerificationFailed' });
  }
  return 'continue';
};

/**
 * Fetch: downloads the resolved revision into a private folder, verified,
 * within the spec's timeout and the size limits, and writes the artifact
 * tarball next to it. Nothing reaches storage yet. Failures set FetchFailed
 * (or ArtifactFailed for content that cannot be packed safely).
 */
export const fetchContent: SourceStep = async (run, deps) => {
  try {
    run.workDir = await mkdtemp(join(deps.workDir, `${run.storageKind}-${run.namespace}-${run.name}-`.slice(0, 200)));
    const content = join(run.workDir, 'content');
    const file = join(run.workDir, 'artifact.tar.gz');
    const fetched = await run.fetcher.fetch(content, file);
    run.revision = fetched.revision;
    run.fetchedFile = file;
    run.fetchedMetadata = fetched.metadata;
  } catch (err) {
    throw toSourceFailure(err, { condition: ConditionType.FetchFailed, reason: 'FetchOperationFailed' });
  }
  return 'continue';
};

/**
 * Artifact: stores the tarball atomically under its sha256, publishes it as
 * the new `status.artifact` and applies the retention (the new artifact and
 * the newest older ones are kept). Failures set ArtifactFailed; the previous
 * artifact stays published.
 */
export const storeArtifact: SourceStep = async (run, deps) => {
  const file = run.fetchedFile;
  const revision = run.revision;
  if (file === undefined || revision === undefined) throw new Error('storeArtifact runs after fetchContent');
  try {
    const stored = await deps.storage.withLock(run.storageKind, run.namespace, run.name, async () => {
      const result = await deps.storage.store(run.storageKind, run.namespace, run.name, file);
      await deps.storage.garbageCollect(run.storageKind, run.namespace, run.name, { keep: deps.retention, current: result.digest });
      return result;
    });
    const previous = run.artifact;
    run.stored = previous?.digest !== stored.digest || previous.revision !== revision;
    const metadata = run.fetchedMetadata && Object.keys(run.fetchedMetadata).length > 0 ? { ...run.fetchedMetadata } : undefined;
    run.artifact = {
      url: deps.artifactUrl(run.storageKind, run.namespace, run.name, stored.digest),
      revision,
      digest: stored.digest,
      size: stored.size,
      // An unchanged artifact keeps its time, so a rebuild that changes nothing writes nothing.
      lastUpdateTime: run.stored || !previous ? deps.now().toISOString().replace(/\.\d{3}Z$/, 'Z') : previous.lastUpdateTime,
      ...(metadata ? { metadata } : {}),
    };
  } catch (err) {
    throw toSourceFailure(err, { condition: ConditionType.ArtifactFailed, reason: 'StorageOperationFailed' });
  }
  return 'continue';
};

/** The steps, in order. */
export const SOURCE_STEPS: readonly SourceStep[] = [reconcileStorage, resolveRevision, verifyRevision, fetchContent, storeArtifact];

/** Removes the run's private folder. */
export async function cleanupRun(run: SourceRun): Promise<void> {
  if (run.workDir) await rm(run.workDir, { recursive: true, force: true });
}
