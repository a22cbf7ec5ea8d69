/**
 * The inner loop of a package author: watch the package sources, and on each
 * change (debounced) rebuild, push to the registry, ask the Package to reconcile
 * now, and report how it ended. One cycle runs at a time; changes that arrive
 * during a cycle start the next one (and stop waiting for the current outcome).
 * A rebuild that gives the same tarball pushes nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { PackageManifest } from '../../apply-controller/bundle/index.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { ObjectRef } from '../../runtime/object.ts';
import type { OciClient, OciReference, PushedArtifact, PushProgress } from '../../source-controller/oci/index.ts';
import { buildBundle, type BuiltBundle } from './bundle.ts';
import { fileOfMessage, requestReconcile, resolveDevTarget, waitForOutcome, type DevOutcome, type DevTarget } from './dev-cluster.ts';
import { pushBundle, reproducibleCreated } from './push.ts';
import { openWatcher } from './watch.ts';

/** What happens in a dev loop, for the command to print. */
export type DevEvent =
  | { readonly type: 'watching'; readonly dir: string; readonly pollingBecause?: string }
  | { readonly type: 'changed'; readonly files: readonly string[] }
  | { readonly type: 'built'; readonly bundle: BuiltBundle }
  | { readonly type: 'build-failed'; readonly error: Error }
  | { readonly type: 'unchanged'; readonly digest: string }
  | { readonly type: 'pushed'; readonly artifact: PushedArtifact }
  | { readonly type: 'push-failed'; readonly error: Error }
  | { readonly type: 'no-package'; readonly package: ObjectRef; readonly reason: string }
  | { readonly type: 'reconcile-requested'; readonly target: DevTarget; readonly requestedAt: string }
  | { readonly type: 'outcome'; readonly outcome: DevOutcome }
  | { readonly type: 'program-output'; readonly line: string };

/** What {@link runDevLoop} needs. */
export interface DevLoopOptions {
  /** The package folder. */
  readonly dir: string;
  /**
   * The registry client, or a function giving one for a reference (`insecure` is
   * what the Package's OCIRepository says, when the push goes where it looks).
   */
  readonly oci: OciClient | ((reference: OciReference, insecure: boolean | undefined) => OciClient);
  /** The cluster; without one the loop only builds and pushes. */
  readonly kube?: KubeClient;
  /** The Package to reconcile (`namespace/name`); its name defaults to the package's name. */
  readonly namespace: string;
  readonly packageName?: string;
  /** Where to push; default the Package's OCIRepository URL and tag, else {@link fallbackReference}. */
  readonly to?: OciReference;
  /** Used when neither `to` nor a Package says where to push (e.g. `oci://$TRELLIS_REGISTRY/dev/<name>:dev`). */
  readonly fallbackReference?: (manifest: PackageManifest) => OciReference | undefined;
  readonly debounceMs?: number;
  /** How long to wait for the Package's verdict (default 2 min). */
  readonly outcomeTimeoutMs?: number;
  readonly entry?: string;
  readonly onProgress?: (progress: PushProgress) => void;
  readonly report: (event: DevEvent) => void;
  /** Stops the loop. */
  readonly signal: AbortSignal;
}

/** Paths under the package folder that never trigger a rebuild. */
const IGNORED = /(^|[/\\])(node_modules|\.git|dist)([/\\]|$)|(^|[/\\])\.[^/\\]+$|\.(tgz|log)$/;

/** Runs one cycle now, then one per (debounced) change, until `signal` aborts. */
export async function runDevLoop(opts: DevLoopOptions): Promise<void> {
  const { watcher, pollingBecause } = await openWatcher(opts.dir, { ignored: (path: string) => IGNORED.test(relative(opts.dir, path)) });
  const work = await mkdtemp(join(tmpdir(), 'trellis-dev-'));
  const state: CycleState = { lastDigest: undefined };
  let pending: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  let cycle: Promise<void> = Promise.resolve();
  let current: AbortController | undefined;
  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const files = pending;
      pending = [];
      current?.abort();
      cycle = cycle.then(async () => {
        if (opts.signal.aborted) return;
        opts.report({ type: 'changed', files });
        current = new AbortController();
        await runCycle(opts, state, work, current.signal);
      });
    }, opts.debounceMs ?? 300);
  };
  try {
    opts.report({ type: 'watching', dir: opts.dir, ...(pollingBecause !== undefined ? { pollingBecause } : {}) });
    watcher.on('all', (_event, path) => {
      pending.push(relative(opts.dir, path));
      schedule();
    });
    current = new AbortController();
    cycle = runCycle(opts, state, work, current.signal);
    await new Promise<void>((resolve) => {
      if (opts.signal.aborted) resolve();
      else opts.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    clearTimeout(timer);
    current?.abort();
    await watcher.close();
    await cycle.catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

interface CycleState {
  /** The tarball digest of the last successful push. */
  lastDigest: string | undefined;
}

/** One build -> push -> reconcile -> outcome. Reports instead of throwing. */
async function runCycle(opts: DevLoopOptions, state: CycleState, work: string, signal: AbortSignal): Promise<void> {
  let built: BuiltBundle;
  try {
    built = await buildBundle(opts.dir, {
      out: join(work, 'bundle.tgz'), workDir: work, signal,
      ...(opts.entry !== undefined ? { entry: opts.entry } : {}),
      onOutput: (line) => opts.report({ type: 'program-output', line }),
    });
  } catch (err) {
    if (!signal.aborted) opts.report({ type: 'build-failed', error: asError(err) });
    return;
  }
  opts.report({ type: 'built', bundle: built });
  if (built.digest === state.lastDigest) {
    opts.report({ type: 'unchanged', digest: built.digest });
    return;
  }

  const pkg = opts.kube ? { namespace: opts.namespace, name: opts.packageName ?? built.manifest.name } : undefined;
  let target: DevTarget | undefined;
  if (opts.kube && pkg) {
    const ref: ObjectRef = { apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', ...pkg };
    try {
      target = await resolveDevTarget(opts.kube, ref);
      if (!target) opts.report({ type: 'no-package', package: ref, reason: 'it does not exist' });
    } catch (err) {
      opts.report({ type: 'no-package', package: ref, reason: asError(err).message });
    }
  }
  const reference = opts.to ?? target?.reference ?? opts.fallbackReference?.(built.manifest);
  if (!reference) {
    opts.report({ type: 'push-failed', error: new Error('nowhere to push: give --to, create the Package, or set TRELLIS_REGISTRY') });
    return;
  }
  let artifact: PushedArtifact;
  try {
    const client = typeof opts.oci === 'function' ? opts.oci(reference, reference === target?.reference ? target.insecure : undefined) : opts.oci;
    artifact = await pushBundle({
      client, reference, file: built.file, manifest: built.manifest, signal,
      // A fixed creation time: the same bundle is the same manifest, so the source sees no new revision.
      created: reproducibleCreated({}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
  } catch (err) {
    if (!signal.aborted) opts.report({ type: 'push-failed', error: asError(err) });
    return;
  }
  state.lastDigest = built.digest;
  opts.report({ type: 'pushed', artifact });
  if (!opts.kube || !target || opts.to !== undefined && !sameRepository(opts.to, target.reference)) return;

  try {
    const requestedAt = await requestReconcile(opts.kube, target);
    opts.report({ type: 'reconcile-requested', target, requestedAt });
    const outcome = await waitForOutcome(opts.kube, target.package, artifact.digest, { timeoutMs: opts.outcomeTimeoutMs ?? 120_000, signal });
    const file = outcome.kind === 'failed' ? fileOfMessage(outcome.message, built.files) : undefined;
    const located: DevOutcome = outcome.kind === 'failed' && file !== undefined ? { ...outcome, file } : outcome;
    if (!signal.aborted) opts.report({ type: 'outcome', outcome: located });
  } catch (err) {
    if (!signal.aborted) opts.report({ type: 'outcome', outcome: { kind: 'failed', condition: 'Ready', reason: 'ClusterError', message: asError(err).message } });
  }
}

function sameRepository(a: OciReference, b: OciReference): boolean {
  return a.host === b.host && a.repository === b.repository && a.tag === b.tag;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
