/**
 * What `trellis dev` asks of the cluster: which OCI reference a Package follows
 * (its OCIRepository's URL and tag, so a push lands where the Package looks), a
 * reconcile request (the `reconcile.trellis.dev/requestedAt` annotation on the
 * source, then on the Package), and the outcome of that request, read from the
 * Package's status conditions and the apply controller's `Applied` event.
 */
import { packageResource, type Package } from '../../apply-controller/api.ts';
import { getCondition } from '../../runtime/conditions.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import type { ObjectRef } from '../../runtime/object.ts';
import { REQUESTED_AT_ANNOTATION } from '../../runtime/predicates.ts';
import { ociRepositoryResource, type OCIRepository } from '../../source-controller/api.ts';
import { parseReference, type OciReference } from '../../source-controller/oci/index.ts';

/** The Package a dev loop drives, and the source it follows. */
export interface DevTarget {
  readonly package: ObjectRef;
  readonly source: ObjectRef;
  /** The reference the source follows (repository and tag): where to push. */
  readonly reference: OciReference;
  /** The source reads the registry over plain HTTP. */
  readonly insecure: boolean;
}

/** The Package cannot be driven by `trellis dev` (missing, or not following an OCI tag). */
export class DevTargetError extends Error {
  override readonly name = 'DevTargetError';
}

/** `namespace/name` of a Package. */
export function packageRef(namespace: string, name: string): ObjectRef {
  return { apiVersion: packageResource.apiVersion, kind: packageResource.kind, namespace, name };
}

/** Reads the Package and its OCIRepository; undefined when the Package does not exist. */
export async function resolveDevTarget(client: KubeClient, ref: ObjectRef): Promise<DevTarget | undefined> {
  const pkg = await client.get<Package>(ref);
  if (!pkg) return undefined;
  const sourceRef = pkg.spec.sourceRef;
  const label = `Package ${ref.namespace}/${ref.name}`;
  if (sourceRef.kind !== 'OCIRepository') {
    throw new DevTargetError(`${label} follows a ${sourceRef.kind}; trellis dev pushes OCI bundles, so it needs a Package whose source is an OCIRepository`);
  }
  const source: ObjectRef = {
    apiVersion: ociRepositoryResource.apiVersion, kind: ociRepositoryResource.kind,
    namespace: sourceRef.namespace ?? ref.namespace, name: sourceRef.name,
  };
  const repo = await client.get<OCIRepository>(source);
  if (!repo) throw new DevTargetError(`${label} follows OCIRepository ${source.namespace}/${source.name}, which does not exist`);
  const tag = repo.spec.ref?.tag;
  if (tag === undefined) {
    throw new DevTargetError(`OCIRepository ${source.namespace}/${source.name} does not follow a tag (spec.ref.tag); `
      + 'point it at a tag such as "dev" for trellis dev, or push elsewhere with --to');
  }
  const base = parseReference(repo.spec.url, { allowTagOrDigest: false });
  return { package: ref, source, reference: { ...base, tag }, insecure: repo.spec.insecure === true };
}

/**
 * Annotates the source and then the Package with `requestedAt` (RFC 3339), so the
 * source looks for the new digest now and the Package reconciles right after.
 * Returns the annotation value, which the Package's `lastHandledReconcileAt` echoes.
 */
export async function requestReconcile(client: KubeClient, target: Pick<DevTarget, 'package' | 'source'>,
  now: Date = new Date()): Promise<string> {
  const requestedAt = now.toISOString();
  const patch = { metadata: { annotations: { [REQUESTED_AT_ANNOTATION]: requestedAt } } };
  await client.patch(target.source, patch);
  await client.patch(target.package, patch);
  return requestedAt;
}

/** How a reconcile of a pushed digest ended. */
export type DevOutcome =
  | {
    readonly kind: 'applied';
    /** The source revision applied, `<tag>@sha256:...`. */
    readonly revision: string;
    /** The PackageRevision number. */
    readonly packageRevision: number | undefined;
    /** `3 created, 1 configured`, `no changes`, or undefined when the controller said nothing. */
    readonly changes: string | undefined;
  }
  | {
    readonly kind: 'failed';
    /** The condition that says what failed (ArtifactFailed, ApplyFailed, Stalled, ...). */
    readonly condition: string;
    readonly reason: string;
    /** The controller's message: validation errors name file and object, apply errors the object. */
    readonly message: string;
    /** The bundle file of the object the message names, when the message does not name one. */
    readonly file?: string;
  }
  /** The Package has not finished a reconcile of this digest yet. */
  | { readonly kind: 'pending'; readonly message: string };

const FAILURE_CONDITIONS = ['ArtifactFailed', 'ApplyFailed', 'HealthCheckFailed', 'Stalled'];

/**
 * Reads the outcome for `digest` (a pushed manifest digest) from a Package:
 * pending while it has not attempted that digest or is still reconciling it.
 */
export function outcomeOf(pkg: Package, digest: string): DevOutcome {
  const status = pkg.status ?? {};
  const attempted = status.lastAttemptedRevision ?? '';
  const conditions = status.conditions;
  const ready = getCondition(conditions, 'Ready');
  if (!attempted.endsWith(`@${digest}`)) {
    return { kind: 'pending', message: `the Package has not attempted ${digest.slice(0, 19)} yet${ready ? ` (Ready ${ready.status}: ${ready.message})` : ''}` };
  }
  if (ready?.status === 'True' && status.lastAppliedRevision === attempted) {
    return { kind: 'applied', revision: attempted, packageRevision: status.currentRevision, changes: undefined };
  }
  // A failure that will be retried keeps Reconciling=True (kstatus); Ready=False is the verdict of this attempt.
  if (ready?.status === 'False') {
    for (const type of FAILURE_CONDITIONS) {
      const c = getCondition(conditions, type);
      if (c?.status === 'True') return { kind: 'failed', condition: type, reason: c.reason, message: c.message };
    }
    return { kind: 'failed', condition: 'Ready', reason: ready.reason, message: ready.message };
  }
  return { kind: 'pending', message: ready?.status === 'Unknown' ? `the Package is reconciling (${ready.message})` : 'the Package has no verdict yet' };
}

interface EventObject {
  regarding?: { kind?: string; name?: string; namespace?: string };
  reason?: string;
  note?: string;
  eventTime?: string;
  metadata?: { creationTimestamp?: string };
  series?: { lastObservedTime?: string };
}

/** The change counts of the apply controller's latest `Applied` event for `revision`, or undefined. */
export async function appliedChanges(client: KubeClient, ref: ObjectRef, revision: string): Promise<string | undefined> {
  const { items } = await client.list<EventObject & { apiVersion?: string; kind?: string }>(
    { apiVersion: 'events.k8s.io/v1', kind: 'Event', ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}) });
  const when = (e: EventObject): string => e.series?.lastObservedTime ?? e.eventTime ?? e.metadata?.creationTimestamp ?? '';
  const applied = items
    .filter((e) => e.regarding?.kind === 'Package' && e.regarding.name === ref.name && e.reason === 'Applied' && e.note?.includes(revision))
    .sort((a, b) => (when(a) < when(b) ? -1 : when(a) > when(b) ? 1 : 0))
    .at(-1);
  const note = applied?.note;
  return note === undefined ? undefined : note.slice(note.indexOf('): ') + 3) || undefined;
}

/**
 * How long {@link waitForOutcome} waits for the `Applied` Event after the
 * Package says Ready: the controller records the Event after its final status
 * patch, so a poll can see the status first.
 */
const APPLIED_EVENT_GRACE_MS = 5_000;

/** {@link appliedChanges}, asked again for a few seconds while the Event is not there yet. */
async function appliedChangesSoon(client: KubeClient, ref: ObjectRef, revision: string, signal: AbortSignal | undefined): Promise<string | undefined> {
  const deadline = Date.now() + APPLIED_EVENT_GRACE_MS;
  for (;;) {
    const changes = await appliedChanges(client, ref, revision);
    if (changes !== undefined || signal?.aborted || Date.now() >= deadline) return changes;
    await sleep(200, signal);
  }
}

/**
 * The bundle file of the object a failure message names (`Service/shop/web: ...`,
 * `Service web`), for messages that name the object but not the file.
 */
export function fileOfMessage(message: string, files: readonly { file: string; kind: string; name: string }[]): string | undefined {
  if (/\bmanifests\//.test(message)) return undefined;
  for (const m of message.matchAll(/\b([A-Z][A-Za-z0-9]*)(?:\/[a-z0-9-]+)?[/ ]([a-z0-9][-a-z0-9.]*)/g)) {
    const hit = files.find((f) => f.kind === m[1] && f.name === m[2]);
    if (hit) return hit.file;
  }
  return undefined;
}

/** Options for {@link waitForOutcome}. */
export interface WaitOptions {
  readonly timeoutMs: number;
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Polls the Package until it has applied or failed `digest`. Resolves with the
 * last pending outcome when the time is up or the signal aborts.
 */
export async function waitForOutcome(client: KubeClient, ref: ObjectRef, digest: string, opts: WaitOptions): Promise<DevOutcome> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: DevOutcome = { kind: 'pending', message: 'the Package was not read yet' };
  while (!opts.signal?.aborted) {
    const pkg = await client.get<Package>(ref);
    if (!pkg) return { kind: 'failed', condition: 'Ready', reason: 'NotFound', message: `Package ${ref.namespace}/${ref.name} was deleted` };
    last = outcomeOf(pkg, digest);
    if (last.kind === 'applied') return { ...last, changes: await appliedChangesSoon(client, ref, last.revision, opts.signal) };
    if (last.kind === 'failed' || Date.now() >= deadline) return last;
    await sleep(opts.pollMs ?? 500, opts.signal);
  }
  return last;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
