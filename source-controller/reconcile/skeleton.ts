/**
 * The fixed skeleton of a source reconcile, shared by GitRepository and
 * OCIRepository:
 *
 * 1. read the object fresh (gone: remove its artifacts, done);
 * 2. being deleted: remove its artifacts, release the finalizer, done;
 * 3. add the finalizer before anything is stored;
 * 4. suspended: nothing is fetched and nothing written — the last artifact
 *    stays published and the conditions keep saying what they said;
 * 5. run the steps (storage -> resolve -> verify -> fetch -> artifact), stopping at the
 *    first `done` or failure;
 * 6. whatever happened, summarize the conditions and patch the status once
 *    (nothing is written when nothing changed), then record an Event for a new
 *    artifact or a failure;
 * 7. turn the outcome into the next reconcile: the interval after success, and
 *    for a failure what the shared failure model says (`runtime/failure.ts`): no
 *    retry for a stalling failure, the interval for a failure the world may fix,
 *    exponential backoff capped at the interval for a transient one.
 *
 * Everything written to conditions, Events and errors is scrubbed of the
 * secret values the run read.
 */
import { ConditionType } from '../../runtime/conditions.ts';
import type { ReconcileContext, Reconciler } from '../../runtime/controller.ts';
import type { ReconcileResult } from '../../runtime/errors.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { FailureCounts, nextAfterFailure, nextAfterSuccess } from '../../runtime/failure.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import { isNotFound } from '../../runtime/kube-transport.ts';
import type { Logger } from '../../runtime/logging.ts';
import { REQUESTED_AT_ANNOTATION } from '../../runtime/predicates.ts';
import type { ArtifactStorage } from '../storage/storage.ts';
import { SensitiveValues } from '../secrets.ts';
import { parseBoundedDuration } from '../../runtime/duration.ts';
import { toSourceFailure } from './failure.ts';
import { addFinalizer, hasFinalizer, removeFinalizer } from './finalizer.ts';
import { DEFAULT_HOST_POLICY } from '../git/transport.ts';
import type { HostPolicy } from '../net/host-policy.ts';
import { DEFAULT_SOURCE_LIMITS, type SourceKind, type SourceLimits, type SourceObject } from './source.ts';
import { mergePatch } from '../../runtime/merge-patch.ts';
import { summarizeStatus, type SourceOutcome } from './status.ts';
import { cleanupRun, SOURCE_STEPS, type SourceRun, type StepDeps } from './steps.ts';

/** Options of {@link createSourceReconciler}. */
export interface SourceReconcilerOptions {
  readonly client: KubeClient;
  readonly storage: ArtifactStorage;
  /** The URL an artifact is served at: the artifact server's `urlFor`. */
  readonly artifactUrl: (storageKind: string, namespace: string, name: string, digest: string) => string;
  /** Scratch space for fetches (best on the storage's file system). */
  readonly workDir: string;
  /** Omit to record no Events. */
  readonly events?: EventRecorder | undefined;
  /** Artifacts kept per source, the current one included (default 2). */
  readonly retention?: number | undefined;
  readonly limits?: Partial<SourceLimits> | undefined;
  /** Where fetchers may connect; default: the default deny rules (link-local and unspecified addresses). */
  readonly hostPolicy?: HostPolicy | undefined;
  /** First delay of the backoff after a transient failure (default 1 s; doubles, capped at the interval). */
  readonly backoffBaseMs?: number | undefined;
  readonly now?: (() => Date) | undefined;
}

/**
 * The next reconcile for an outcome: the interval after success, otherwise the
 * shared result builder of `runtime/failure.ts` (sources use the `stall`,
 * `interval` and `backoff` modes).
 */
export function nextReconcile(key: string, outcome: SourceOutcome, intervalMs: number, failures: FailureCounts,
  backoffBaseMs: number): ReconcileResult {
  if (outcome.kind === 'ready') return nextAfterSuccess(key, intervalMs, failures);
  return nextAfterFailure(key, outcome.failure, { intervalMs, backoffBaseMs }, failures, outcome.message);
}

/** Used when the spec's interval cannot be read (the failure then stalls anyway). */
const FALLBACK_INTERVAL_MS = 5 * 60_000;

/**
 * The longest `interval` and `timeout` a source may ask for: a fetch that may run
 * for days holds a worker (and its memory) for days, and an interval of more than
 * a day is a source nobody follows.
 */
export const SOURCE_DURATION_LIMITS = {
  interval: { ms: 24 * 3_600_000, text: '24h' },
  timeout: { ms: 3_600_000, text: '1h' },
} as const;

/** The Ready message of a source that serves `revision`. */
export function readyMessage(revision: string): string {
  return `stored artifact for revision '${revision}'`;
}

/** A reconciler for one source kind; hand it to a runtime `Controller`. */
export function createSourceReconciler<T extends SourceObject>(kind: SourceKind<T>,
  options: SourceReconcilerOptions): Reconciler<T> {
  const { client, storage } = options;
  const deps: StepDeps = {
    storage, artifactUrl: options.artifactUrl, workDir: options.workDir,
    retention: Math.max(1, options.retention ?? 2), now: options.now ?? (() => new Date()),
  };
  const limits: SourceLimits = { ...DEFAULT_SOURCE_LIMITS, ...options.limits };
  const hostPolicy = options.hostPolicy ?? DEFAULT_HOST_POLICY;
  const backoffBaseMs = options.backoffBaseMs ?? 1000;
  /** Consecutive transient failures per key, for the backoff. */
  const failures = new FailureCounts();

  return async (key: string, ctx: ReconcileContext<T>): Promise<ReconcileResult | void> => {
    const namespace = ctx.namespace;
    if (namespace === undefined) throw new Error(`${kind.kind} ${key} has no namespace`);
    const ref = { apiVersion: kind.apiVersion, kind: kind.kind, namespace, name: ctx.name };
    let obj = await client.get<T>(ref);
    if (!obj || (obj.metadata.deletionTimestamp && hasFinalizer(obj))) {
      failures.reset(key);
      await storage.withLock(kind.storageKind, namespace, ctx.name, () => storage.removeAll(kind.storageKind, namespace, ctx.name));
      if (obj) {
        await removeFinalizer(client, obj).catch((err: unknown) => { if (!isNotFound(err)) throw err; });
        ctx.log.info('artifacts removed; finalizer released');
      }
      return;
    }
    if (obj.metadata.deletionTimestamp) return;
    obj = await addFinalizer(client, obj);
    if (obj.spec.suspend) {
      ctx.log.info('suspended: not fetching');
      return;
    }

    const sensitive = new SensitiveValues();
    const { outcome, run, intervalMs } = await runSteps(kind, obj, { client, log: ctx.log, namespace, name: ctx.name },
      deps, { limits, hostPolicy }, sensitive);
    const status = summarizeStatus({
      // Before the steps ran (a bad spec, a missing Secret) the published artifact stays as it is.
      previous: obj.status, generation: obj.metadata.generation, artifact: run ? run.artifact : obj.status?.artifact, outcome,
      verify: obj.spec.verify !== undefined && obj.spec.verify !== null,
      requestedAt: obj.metadata.annotations?.[REQUESTED_AT_ANNOTATION], now: deps.now(),
    });
    const patch = mergePatch(obj.status ?? {}, status);
    if (patch !== undefined) {
      try {
        await client.patchStatus(ref, patch);
      } catch (err) {
        if (isNotFound(err)) return; // deleted meanwhile; the finalizer path cleans up
        throw err;
      }
    }
    if (run?.stored && run.artifact) {
      ctx.log.info({ revision: run.artifact.revision, digest: run.artifact.digest, size: run.artifact.size }, 'stored artifact');
      await options.events?.normal(obj, 'NewArtifact', readyMessage(run.artifact.revision));
    }
    if (outcome.kind === 'failed') {
      await options.events?.warning(obj, outcome.failure.reason, outcome.message);
    }
    return nextReconcile(key, outcome, intervalMs, failures, backoffBaseMs);
  };
}

/** Runs the steps; every failure, whatever threw it, becomes the outcome. */
async function runSteps<T extends SourceObject>(kind: SourceKind<T>, obj: T,
  ctx: { client: KubeClient; log: Logger; namespace: string; name: string }, deps: StepDeps,
  network: { limits: SourceLimits; hostPolicy: HostPolicy }, sensitive: SensitiveValues): Promise<{ outcome: SourceOutcome; run: SourceRun | undefined; intervalMs: number }> {
  let intervalMs = FALLBACK_INTERVAL_MS;
  let run: SourceRun | undefined;
  try {
    intervalMs = parseBoundedDuration(obj.spec.interval, 'spec.interval', SOURCE_DURATION_LIMITS.interval);
    const timeoutMs = parseBoundedDuration(obj.spec.timeout, 'spec.timeout', SOURCE_DURATION_LIMITS.timeout);
    const fetcher = await kind.prepare(obj, {
      client: ctx.client, sensitive, signal: AbortSignal.timeout(timeoutMs), timeoutMs, ...network, log: ctx.log,
    });
    run = {
      object: obj, storageKind: kind.storageKind, namespace: ctx.namespace, name: ctx.name, fetcher, log: ctx.log,
      artifact: obj.status?.artifact, stored: false,
    };
    try {
      for (const step of SOURCE_STEPS) {
        if ((await step(run, deps)) === 'done') break;
      }
    } finally {
      fetcher.close();
      await cleanupRun(run);
    }
    const revision = run.artifact?.revision ?? run.revision ?? '';
    return { outcome: { kind: 'ready', message: readyMessage(revision) }, run, intervalMs };
  } catch (err) {
    const failure = toSourceFailure(err, { condition: ConditionType.FetchFailed, reason: 'ReconcileFailed' });
    return { outcome: { kind: 'failed', failure, message: sensitive.scrub(failure.message) }, run, intervalMs };
  }
}
