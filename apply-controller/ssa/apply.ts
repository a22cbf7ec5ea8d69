/**
 * `applyStage`: server-side apply of one stage of a package, writing only what
 * would change.
 *
 * For each object: read it, dry-run the apply, compare the result with the live
 * object (status, managedFields, resourceVersion and generation aside). Equal:
 * `unchanged`, nothing is written. Otherwise the apply is sent for real
 * (`created` or `configured`). Every object of a batch is planned before the
 * first write, so an object the apiserver would refuse stops the batch before
 * anything in it changed.
 *
 * Namespaces and CRDs in the stage go first, as their own batch; the CRDs are then
 * waited for until Established and their kinds served, so custom resources of
 * the same stage can follow in the same call.
 *
 * A change to an immutable field (the dry run is refused with 422) is an
 * {@link ImmutableFieldError}, or with `force` a foreground delete, a wait until
 * the object is gone, and a create (`recreated`).
 *
 * The first failure stops the stage: no new object is started, the ones being
 * written finish, and the error (an {@link ApplyError}) carries in `changeSet`
 * what was written before it.
 */
import type { KubeClient } from '../../runtime/kube.ts';
import type { KubeObject as ClusterObject } from '../../runtime/object.ts';
import { mapBounded, sleep } from './_async.ts';
import { ChangeSet, type ChangeAction, type ChangeSetEntry } from './change-set.ts';
import { ApplyError, HealthCheckError, ImmutableFieldError, isImmutableFieldError } from './errors.ts';
import { targetOf, type DesiredObject, type ObjectInput, type Target } from './objects.ts';
import { resolveApplyOptions, type ApplyOptions, type ResolvedApplyOptions } from './options.ts';
import { applyForced, isPlanFailure, planObjects, type ObjectPlan } from './plan.ts';
import { waitForTargets } from './wait.ts';

const CRD_GROUP = 'apiextensions.k8s.io';

function isCRD(obj: DesiredObject): boolean {
  return obj.kind === 'CustomResourceDefinition' && obj.apiVersion.startsWith(`${CRD_GROUP}/`);
}

function isDefinition(obj: DesiredObject): boolean {
  return isCRD(obj) || (obj.kind === 'Namespace' && obj.apiVersion === 'v1');
}

/**
 * Applies `objects` (one stage) and resolves with what happened to each, in the
 * order given (definitions first). Rejects with an {@link ApplyError} (or
 * {@link ImmutableFieldError}) naming the first object that failed.
 */
export async function applyStage(client: KubeClient, objects: readonly ObjectInput[], options: ApplyOptions = {}): Promise<ChangeSet> {
  const opts = resolveApplyOptions(options);
  const targets = objects.map(targetOf);
  const definitions = targets.filter((t) => isDefinition(t.object));
  const rest = targets.filter((t) => !isDefinition(t.object));
  const changeSet = new ChangeSet();
  try {
    await applyBatch(client, definitions, opts, changeSet);
    const crds = definitions.filter((t) => isCRD(t.object));
    if (crds.length > 0) await awaitCRDs(client, crds, rest, opts);
    await applyBatch(client, rest, opts, changeSet);
  } catch (err) {
    if (err instanceof ApplyError) err.changeSet = changeSet;
    throw err;
  }
  return changeSet;
}

/** Plans every target, then writes the ones that change; entries are added in target order. */
async function applyBatch(client: KubeClient, targets: readonly Target[], opts: ResolvedApplyOptions, changeSet: ChangeSet): Promise<void> {
  if (targets.length === 0) return;
  const results = await planObjects(client, targets, opts);
  const failed = results.find(isPlanFailure);
  if (failed) throw failed.error;
  const plans = results as ObjectPlan[];
  for (const plan of plans) {
    if (plan.action === 'recreate' && !opts.force) throw new ImmutableFieldError(plan.target, plan.refusal);
  }
  const done = new Array<ChangeAction | undefined>(plans.length);
  const entry = (plan: ObjectPlan, action: ChangeAction): ChangeSetEntry => ({
    id: plan.target.id, subject: plan.target.subject, action, ...(opts.phase === undefined ? {} : { phase: opts.phase }),
  });
  try {
    await mapBounded(plans, opts.concurrency, async (plan, i) => {
      opts.signal?.throwIfAborted();
      done[i] = await writePlan(client, plan, opts);
    });
  } finally {
    plans.forEach((plan, i) => {
      const action = done[i];
      if (action !== undefined) changeSet.add(entry(plan, action));
    });
  }
}

/** Carries out one plan; returns the change set action. */
async function writePlan(client: KubeClient, plan: ObjectPlan, opts: ResolvedApplyOptions): Promise<ChangeAction> {
  switch (plan.action) {
    case 'none':
      return 'unchanged';
    case 'recreate':
      await recreate(client, plan, opts);
      return 'recreated';
    case 'create':
    case 'update':
      try {
        await applyForced(client, plan.applied, opts.fieldManager, false);
      } catch (err) {
        // The dry run passed, so the object changed in between; judge the refusal the same way.
        if (!isImmutableFieldError(err) || plan.live === undefined) throw new ApplyError(plan.target, err);
        if (!opts.force) throw new ImmutableFieldError(plan.target, err);
        await recreate(client, plan, opts);
        return 'recreated';
      }
      return plan.action === 'create' ? 'created' : 'configured';
  }
}

/**
 * Deletes the live object (foreground, so its dependents go first and the name
 * is free only when they are gone), waits until it is gone, then applies anew.
 * The delete is conditional on the uid read during planning, so a replacement
 * someone else made in between is never deleted.
 */
async function recreate(client: KubeClient, plan: ObjectPlan, opts: ResolvedApplyOptions): Promise<void> {
  const { target } = plan;
  const uid = plan.live?.metadata?.uid;
  try {
    await client.delete(target.ref, { propagationPolicy: 'Foreground', ...(uid ? { preconditions: { uid } } : {}) });
    await waitUntilGone(client, target, uid, opts);
    await applyForced(client, plan.applied, opts.fieldManager, false);
  } catch (err) {
    if (err instanceof ApplyError || opts.signal?.aborted) throw err;
    throw new ApplyError(target, err);
  }
}

async function waitUntilGone(client: KubeClient, target: Target, uid: string | undefined, opts: ResolvedApplyOptions): Promise<void> {
  const deadline = Date.now() + opts.waitTimeoutMs;
  let delay = opts.pollIntervalMs;
  for (;;) {
    const current = await client.get<ClusterObject>(target.ref);
    if (current === undefined || (uid !== undefined && current.metadata?.uid !== uid)) return;
    if (Date.now() >= deadline) {
      throw new ApplyError(target, new Error(`still being deleted after ${Math.round(opts.waitTimeoutMs / 1000)}s, cannot re-create it`));
    }
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())), opts.signal);
    delay = Math.min(delay * 1.5, 5_000);
  }
}

/**
 * Waits until the stage's CRDs are Established, then until the apiserver's
 * discovery serves the custom kinds the rest of the stage uses (discovery
 * catches up a moment after Established).
 */
async function awaitCRDs(client: KubeClient, crds: readonly Target[], rest: readonly Target[], opts: ResolvedApplyOptions): Promise<void> {
  try {
    await waitForTargets(client, crds, { timeoutMs: opts.waitTimeoutMs, pollIntervalMs: opts.pollIntervalMs, failFast: true, ...(opts.signal ? { signal: opts.signal } : {}) });
  } catch (err) {
    if (!(err instanceof HealthCheckError)) throw err;
    const first = err.unhealthy[0];
    const crd = crds.find((t) => t.id === first?.id) ?? crds[0];
    if (crd === undefined) throw err;
    throw new ApplyError(crd, new Error(`not established: ${first?.message ?? err.message}`));
  }
  const defined = new Set(crds.map((t) => {
    const spec = t.object.spec as { group?: string; names?: { kind?: string } } | undefined;
    return `${spec?.group ?? ''}/${spec?.names?.kind ?? ''}`;
  }));
  const kinds = new Map<string, Target>();
  for (const t of rest) {
    const slash = t.object.apiVersion.lastIndexOf('/');
    if (slash >= 0 && defined.has(`${t.object.apiVersion.slice(0, slash)}/${t.object.kind}`)) kinds.set(`${t.object.apiVersion}/${t.object.kind}`, t);
  }
  const deadline = Date.now() + opts.waitTimeoutMs;
  for (const t of kinds.values()) {
    let delay = Math.min(opts.pollIntervalMs, 100);
    while (!await client.serves(t.object.apiVersion, t.object.kind)) {
      if (Date.now() >= deadline) {
        throw new ApplyError(t, new Error(`the apiserver does not serve ${t.object.kind} in ${t.object.apiVersion} although its CRD is established`));
      }
      await sleep(delay, opts.signal);
      delay = Math.min(delay * 2, opts.pollIntervalMs);
    }
  }
}
