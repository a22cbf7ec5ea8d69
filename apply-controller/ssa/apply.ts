/**
 * `applyStage`: server-side apply of one stage of a package, writing only what
 * would change.
 *
 * With an engine context (a cache of live objects and records of what was last
 * sent, see state.ts), an object is planned without a request: unchanged costs
 * nothing, changed or missing costs one apply. Objects the cache cannot decide,
 * and every object when there is no engine context, are read and dry-run: equal
 * to live (status, managedFields, resourceVersion and generation aside) is
 * `unchanged`, otherwise the apply is sent for real (`created` or
 * `configured`). Dry-run plans of a batch are all made before its first write.
 *
 * Namespaces and CRDs in the stage go first, as their own batch; the CRDs are then
 * waited for until Established and their kinds served, so custom resources of
 * the same stage can follow in the same call.
 *
 * An object that is being deleted is waited for until it is gone, then created
 * anew (`recreated`): a CRD or a Namespace deleted a moment ago comes back within
 * seconds instead of failing the apply.
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
import { mapBounded } from '../../runtime/concurrency.ts';
import { sleep } from './_async.ts';
import { ChangeSet, type ChangeAction, type ChangeSetEntry } from './change-set.ts';
import { ApplyError, HealthCheckError, ImmutableFieldError, isImmutableFieldError } from './errors.ts';
import { targetOf, type DesiredObject, type ObjectInput, type Target } from './objects.ts';
import { resolveApplyOptions, type ApplyOptions, type ResolvedApplyOptions } from './options.ts';
import { readLive } from './_live.ts';
import { applyForced, isPlanFailure, planObjects, planWithDryRun, prepareObject, type ObjectPlan } from './plan.ts';
import { checkOwnership, findUnclaimed } from './ownership.ts';
import { decideLocally, lazyIntentHash, recordOf, type LazyHash } from './state.ts';
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
    if (crds.length > 0) {
      // Kinds of CRDs this stage did not change were served before: only a written CRD makes discovery worth asking.
      const written = new Set(changeSet.entries.filter((e) => e.action !== 'unchanged').map((e) => e.id));
      await awaitCRDs(client, crds, crds.some((t) => written.has(t.id)) ? rest : [], opts);
    }
    await applyBatch(client, rest, opts, changeSet);
  } catch (err) {
    if (err instanceof ApplyError) err.changeSet = changeSet;
    throw err;
  }
  return changeSet;
}

/** One object's work: a plan to carry out, or an outcome already known without a write. */
type Work = { readonly plan: ObjectPlan; readonly hash: LazyHash } | { readonly done: ChangeAction };

/**
 * Decides what each target needs, then writes the ones that change; entries are
 * added in target order. With an engine context most targets are decided
 * locally (see state.ts); the rest are read and dry-run, all of them before the
 * first write of the batch.
 */
async function applyBatch(client: KubeClient, targets: readonly Target[], opts: ResolvedApplyOptions, changeSet: ChangeSet): Promise<void> {
  if (targets.length === 0) return;
  const work = await planBatch(client, targets, opts);
  for (const item of work) {
    if ('plan' in item && item.plan.action === 'recreate' && !opts.force) throw new ImmutableFieldError(item.plan.target, item.plan.refusal);
  }
  const done = new Array<ChangeAction | undefined>(work.length);
  const entry = (target: Target, action: ChangeAction): ChangeSetEntry => ({
    id: target.id, subject: target.subject, action, ...(opts.phase === undefined ? {} : { phase: opts.phase }),
  });
  try {
    await mapBounded(work, opts.concurrency, async (item, i) => {
      if (!('plan' in item)) {
        done[i] = item.done;
        return;
      }
      opts.signal?.throwIfAborted();
      done[i] = await writePlan(client, item.plan, item.hash, opts);
    });
  } finally {
    targets.forEach((target, i) => {
      const action = done[i];
      if (action !== undefined) changeSet.add(entry(target, action));
    });
  }
}

/** The work of every target, in target order; throws the first planning failure. */
async function planBatch(client: KubeClient, targets: readonly Target[], opts: ResolvedApplyOptions): Promise<Work[]> {
  const { engine } = opts;
  if (!engine) {
    const results = await planObjects(client, targets, opts);
    const failed = results.find(isPlanFailure);
    if (failed) throw failed.error;
    const plans = results as ObjectPlan[];
    await checkPlans(plans, opts);
    return plans.map((plan) => ({ plan, hash: lazyIntentHash(plan.applied) }));
  }
  const work = new Array<Work | undefined>(targets.length);
  const verify: { index: number; live: ClusterObject | undefined; known: boolean }[] = [];
  targets.forEach((target, index) => {
    const lookup = engine.cache.lookup(target.ref);
    const { applied, hash } = intentOf(target, lookup.object, opts);
    const decision = decideLocally({ intent: applied, hash, lookup, record: engine.state.get(target.id), trustLive: engine.trustLive });
    // In the background verification's batch, an object nothing changed for is still dry-run: the apiserver may make
    // something else of the same intent now.
    if (decision.action === 'none' && engine.verify?.has(target.id) !== true) {
      if (decision.record) engine.state.set(target.id, decision.record);
      work[index] = { done: 'unchanged' };
    } else if (decision.action === 'apply') {
      const live = decision.live;
      work[index] = { plan: { target, applied, live, dryRun: undefined, action: live === undefined ? 'create' : 'update' }, hash };
    } else {
      verify.push({ index, live: lookup.object, known: lookup.known });
    }
  });
  if (verify.length > 0) {
    // Kinds the cache does not know are read first, in batches; known ones use the cached copy.
    const unknown = verify.filter((v) => !v.known);
    const reads = await readLive(client, unknown.map((v) => (targets[v.index] as Target).ref),
      { labels: opts.labels, concurrency: opts.concurrency, signal: opts.signal });
    unknown.forEach((v, i) => {
      const read = reads[i];
      if (read !== undefined && 'object' in read) v.live = read.object;
      else throw new ApplyError(targets[v.index] as Target, read?.error);
    });
    const plans = await mapBounded(verify, opts.concurrency, (v) => planWithDryRun(client, targets[v.index] as Target, v.live, opts));
    const failed = plans.find(isPlanFailure);
    if (failed) throw failed.error;
    verify.forEach((v, i) => {
      const plan = plans[i] as ObjectPlan;
      const hash = lazyIntentHash(plan.applied);
      if (plan.action === 'none' && plan.live !== undefined) {
        engine.state.set(plan.target.id, recordOf(hash, plan.live, plan.applied));
        work[v.index] = { done: 'unchanged' };
      } else {
        work[v.index] = { plan, hash };
      }
    });
  }
  await checkPlans(await withUnclaimed(client, work as Work[], opts), opts);
  return work as Work[];
}

/**
 * The plans of `work` that write, with creates of objects the cache does not
 * hold checked against the apiserver first: an object nobody labelled may
 * exist, and a create would silently take it over. Such a create becomes an
 * update of the object found (when ownership allows it).
 */
async function withUnclaimed(client: KubeClient, work: Work[], opts: ResolvedApplyOptions): Promise<ObjectPlan[]> {
  const plans: ObjectPlan[] = [];
  const creates: number[] = [];
  work.forEach((item, i) => {
    if (!('plan' in item)) return;
    if (item.plan.action === 'create' && item.plan.live === undefined && opts.collision !== undefined) creates.push(i);
    else plans.push(item.plan);
  });
  if (creates.length === 0) return plans;
  const refs = creates.map((i) => ((work[i] as { plan: ObjectPlan }).plan.target.ref));
  let found: (ClusterObject | undefined)[];
  try {
    found = await findUnclaimed(client, refs, opts.concurrency, opts.signal);
  } catch (err) {
    const first = (work[creates[0] as number] as { plan: ObjectPlan }).plan.target;
    throw err instanceof ApplyError || opts.signal?.aborted ? err : new ApplyError(first, err);
  }
  creates.forEach((i, k) => {
    const item = work[i] as { plan: ObjectPlan; hash: LazyHash };
    const live = found[k];
    if (live !== undefined) work[i] = { plan: { ...item.plan, live, action: 'update' }, hash: item.hash };
    plans.push((work[i] as { plan: ObjectPlan }).plan);
  });
  return plans;
}

/** Refuses (with the first `ObjectCollisionError`) when a plan would write to an object the Package may not take. */
async function checkPlans(plans: readonly ObjectPlan[], opts: ResolvedApplyOptions): Promise<void> {
  if (opts.collision === undefined) return;
  for (const plan of plans) {
    if (plan.action !== 'none') await checkOwnership(plan.target, plan.live, opts.labels, opts.collision);
  }
}

/**
 * Intents by the bundle object they were prepared from. Without ignore rules an
 * intent depends only on that object and the package labels, and the engine
 * keeps a Package's bundle objects while its inputs are the same: a no-op
 * reconcile of thousands of objects then neither copies nor hashes them again.
 */
const preparedIntents = new WeakMap<DesiredObject, { readonly labels: string; readonly applied: DesiredObject; readonly hash: LazyHash }>();

/** The exact object an apply of `target` sends, and its hash (computed when first asked for). */
function intentOf(target: Target, live: ClusterObject | undefined, opts: ResolvedApplyOptions): { applied: DesiredObject; hash: LazyHash } {
  if (opts.ignore.length > 0) {
    // Ignored fields carry their live value: the intent moves with the live object.
    const applied = prepareObject(target.object, live, opts);
    return { applied, hash: lazyIntentHash(applied) };
  }
  const labels = JSON.stringify(opts.labels);
  const kept = preparedIntents.get(target.object);
  if (kept?.labels === labels) return kept;
  const applied = prepareObject(target.object, undefined, opts);
  const prepared = { labels, applied, hash: lazyIntentHash(applied) };
  preparedIntents.set(target.object, prepared);
  return prepared;
}

/**
 * Carries out one plan, remembers the answer (engine context), and returns the
 * change set action. While the write is in flight, watch events about the
 * object are held by the engine's state and judged against the answer.
 */
async function writePlan(client: KubeClient, plan: ObjectPlan, hash: LazyHash, opts: ResolvedApplyOptions): Promise<ChangeAction> {
  if (plan.action === 'none') return 'unchanged';
  const { engine } = opts;
  engine?.state.sending(plan.target.id);
  let answer: ClusterObject | undefined;
  try {
    const written = await write(client, plan, opts);
    answer = written.answer;
    engine?.state.set(plan.target.id, recordOf(hash, answer, plan.applied));
    engine?.written.set(plan.target.id, answer);
    return written.action;
  } finally {
    engine?.state.answered(plan.target.id, answer);
  }
}

/** Sends what `plan` (create, update or recreate) needs: an apply, or a delete and an apply. */
async function write(client: KubeClient, plan: ObjectPlan, opts: ResolvedApplyOptions): Promise<{ answer: ClusterObject; action: ChangeAction }> {
  if (plan.action === 'recreate') return { answer: await recreate(client, plan, opts), action: 'recreated' };
  if (plan.live?.metadata?.deletionTimestamp) return { answer: await recreateAfterDeletion(client, plan, opts), action: 'recreated' };
  try {
    const answer = await applyForced(client, plan.applied, opts.fieldManager, false);
    return { answer, action: plan.action === 'update' || hadOtherManagers(answer, opts.fieldManager) ? 'configured' : 'created' };
  } catch (err) {
    // A change the apiserver refuses as immutable: judged like a refused dry run.
    if (!isImmutableFieldError(err)) throw new ApplyError(plan.target, err);
    if (!opts.force) throw new ImmutableFieldError(plan.target, err);
    const live = plan.live ?? await client.get<ClusterObject>(plan.target.ref);
    return { answer: await recreate(client, { ...plan, live }, opts), action: 'recreated' };
  }
}

/**
 * True when the answer shows fields of another manager: the object existed
 * before this apply (made by someone else, or it had lost the package labels),
 * so it was configured, not created.
 */
function hadOtherManagers(answer: ClusterObject, fieldManager: string): boolean {
  const managers = (answer.metadata?.managedFields ?? []) as { manager?: string }[];
  return managers.some((m) => m.manager !== fieldManager);
}

/**
 * Deletes the live object (foreground, so its dependents go first and the name
 * is free only when they are gone), waits until it is gone, then applies anew.
 * The delete is conditional on the uid read during planning, so a replacement
 * someone else made in between is never deleted. Resolves with the new object.
 */
async function recreate(client: KubeClient, plan: ObjectPlan, opts: ResolvedApplyOptions): Promise<ClusterObject> {
  const { target } = plan;
  const uid = plan.live?.metadata?.uid;
  try {
    await client.delete(target.ref, { propagationPolicy: 'Foreground', ...(uid ? { preconditions: { uid } } : {}) });
    await waitUntilGone(client, target, uid, opts);
    return await applyForced(client, plan.applied, opts.fieldManager, false);
  } catch (err) {
    if (err instanceof ApplyError || opts.signal?.aborted) throw err;
    throw new ApplyError(target, err);
  }
}

/**
 * The object is being deleted (a CRD whose custom resources are being cleaned
 * up, a Namespace emptying itself): an apply now would only update an object
 * about to vanish. Waits until it is gone, then creates it at once.
 */
async function recreateAfterDeletion(client: KubeClient, plan: ObjectPlan, opts: ResolvedApplyOptions): Promise<ClusterObject> {
  try {
    await waitUntilGone(client, plan.target, plan.live?.metadata?.uid, opts);
    return await applyForced(client, plan.applied, opts.fieldManager, false);
  } catch (err) {
    if (err instanceof ApplyError || opts.signal?.aborted) throw err;
    throw new ApplyError(plan.target, err);
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
    await waitForTargets(client, crds, {
      timeoutMs: opts.waitTimeoutMs, pollIntervalMs: opts.pollIntervalMs, failFast: true,
      ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.engine ? { engine: opts.engine } : {}),
    });
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
