// The ordered steps of a Package reconcile (apply-controller/reconcile/steps.ts),
// one at a time on plain data: each step is handed a run with what the earlier
// steps would have learned, and only what it needs. Steps that talk to the
// cluster are covered by the integration tests; here the client is a stand-in
// that fails the test if a step reaches for it when it should not.
import test from 'ava';
import type { Package, PackageRevision } from '../../../apply-controller/api.ts';
import { PackageFailure } from '../../../apply-controller/reconcile/failure.ts';
import { settingsOf } from '../../../apply-controller/reconcile/settings.ts';
import { PACKAGE_STEPS, runSteps, type PackageRun, type StepDeps } from '../../../apply-controller/reconcile/steps.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import { createLogger } from '../../../runtime/logging.ts';
import { signedRevision, testKeys } from '../revisions/support.ts';

const REV = '1.0.0@sha256:' + 'a'.repeat(64);
const DIGEST = 'sha256:' + 'b'.repeat(64);
const VALUES = 'sha256:' + 'c'.repeat(64);

/** A client that must not be used: every property access fails the step. */
const untouchable = new Proxy({}, { get: (_t, prop) => { throw new Error(`the step used the client (${String(prop)})`); } }) as KubeClient;

function pkgOf(spec: Partial<Package['spec']> = {}, status: Package['status'] = {}): Package {
  return {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package',
    metadata: { name: 'web', namespace: 'team', generation: 2, uid: 'u' },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'src' }, ...spec },
    status,
  } as Package;
}

function revisionOf(n: number, phase: 'Available' | 'Failed' | 'Superseded', contentHash = 'sha256:content'): PackageRevision {
  return {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageRevision',
    metadata: { name: `web-${n}`, namespace: 'team', annotations: { 'apply.trellis.dev/content-hash': contentHash } },
    spec: {
      packageName: 'web', revision: n, valuesHash: VALUES, phases: [], size: 0,
      source: { kind: 'OCIRepository', name: 'src', namespace: 'team', revision: REV, digest: DIGEST },
    },
    status: { phase, message: '' },
  };
}

function runOf(pkg: Package, extra: Partial<PackageRun> = {}): PackageRun {
  const deps: StepDeps = {
    client: untouchable, objectsClient: untouchable, artifacts: {} as StepDeps['artifacts'], scopes: {} as StepDeps['scopes'],
    flags: {}, settings: settingsOf(pkg), log: createLogger({ level: 'silent' }), revisionKeys: testKeys(),
  };
  return { pkg, deps, record: {}, ...extra };
}

const step = (name: string) => {
  const found = PACKAGE_STEPS.find((s) => s.name === name);
  if (!found) throw new Error(`no step ${name}`);
  return found.run;
};

const readyStatus: Package['status'] = {
  observedGeneration: 2, currentRevision: 1, lastAppliedRevision: REV,
  conditions: [{ type: 'Ready', status: 'True', reason: 'Succeeded', message: '', observedGeneration: 2, lastTransitionTime: '2026-01-01T00:00:00Z' }],
};
const source = { kind: 'OCIRepository' as const, name: 'src', namespace: 'team', artifact: { revision: REV, digest: DIGEST, url: 'http://a/b.tgz' } } as PackageRun['source'];
const content = { bundle: { valuesHash: VALUES }, phases: [], record: [], contentHash: 'sha256:content' } as unknown as PackageRun['content'];

/** Kind scopes that know every kind (as namespaced): no discovery request. */
const servedScopes = { cached: () => true, lookUp: () => Promise.resolve() } as unknown as StepDeps['scopes'];

/**
 * Revision 1 of one ConfigMap as the history (a watch) still holds it, signed,
 * and as the apiserver already holds it: changed after it was signed. `client`
 * answers every read with the changed record and notes each request in `asked`.
 */
function changedAfterListing(phase: 'Superseded' | 'Available') {
  const objects = [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'team' }, data: { v: '1' } }];
  const listed = signedRevision({ revision: 1, namespace: 'team', uid: 'u', phase, phases: [{ name: 'default', objects }] });
  const changed = structuredClone(listed);
  changed.spec.valuesHash = `sha256:${'e'.repeat(64)}`;
  const asked: string[] = [];
  const client = {
    get: (ref: { kind: string; name: string }) => { asked.push(`get ${ref.kind}/${ref.name}`); return Promise.resolve(structuredClone(changed)); },
    patch: (ref: { kind: string; name: string }) => { asked.push(`patch ${ref.kind}/${ref.name}`); return Promise.resolve({}); },
  } as unknown as KubeClient;
  return { objects, listed, asked, client };
}

test('the steps run in the documented order', (t) => {
  t.deepEqual(PACKAGE_STEPS.map((s) => s.name),
    ['dependencies', 'history', 'pin', 'source', 'content', 'observe', 'hold', 'record', 'apply', 'prune', 'finish']);
});

test('dependencies: none asks nothing; a Package naming itself stalls; a missing one waits, read through the informer reads', async (t) => {
  t.is(await step('dependencies')(runOf(pkgOf())), undefined, 'no dependsOn: no read at all');
  const self = await t.throwsAsync(step('dependencies')(runOf(pkgOf({ dependsOn: [{ name: 'web' }] }))), { instanceOf: PackageFailure });
  t.is(self.reason, 'InvalidSpec');
  t.is(self.retry, 'stall');
  const asked: string[] = [];
  const reads = { get: (ref: { namespace?: string; name: string }) => { asked.push(`${ref.namespace}/${ref.name}`); return Promise.resolve(undefined); } };
  const run = runOf(pkgOf({ dependsOn: [{ name: 'db' }] }));
  const missing = await t.throwsAsync(step('dependencies')({ ...run, deps: { ...run.deps, reads } }), { instanceOf: PackageFailure });
  t.is(missing.reason, 'DependencyNotReady');
  t.is(missing.retry, 'dependency');
  t.deepEqual(asked, ['team/db'], 'the dependency is read through the reads (the informer), not the client');
});

test('history: the revisions come from the revision cache, the current one is found, and the inventory is kept', async (t) => {
  const revisions = [revisionOf(1, 'Superseded'), revisionOf(2, 'Available')];
  const cache = { list: (namespace: string, name: string) => (namespace === 'team' && name === 'web' ? revisions : undefined) };
  const pkg = pkgOf({}, { ...readyStatus, currentRevision: 2, objects: ['team_cm__ConfigMap v1'] });
  const run = runOf(pkg);
  const withCache = { ...run, deps: { ...run.deps, revisionCache: cache as unknown as StepDeps['revisionCache'] } };
  t.is(await step('history')(withCache), undefined);
  t.is(withCache.revisions, revisions);
  t.is(withCache.current, revisions[1]);
  t.deepEqual(withCache.managed, [{ id: 'team_cm__ConfigMap', v: 'v1' }], 'finished revisions add nothing to what may exist');
});

test('pin: without a pin the list goes on; a pin to a revision that does not exist stalls before anything is read', async (t) => {
  t.is(await step('pin')(runOf(pkgOf(), { revisions: [], managed: [] })), undefined);
  const pinned = pkgOf({ rollback: { onFailure: false, revision: 7 } });
  const error = await t.throwsAsync(step('pin')(runOf(pinned, { revisions: [revisionOf(1, 'Available')], managed: [] })), { instanceOf: PackageFailure });
  t.is((error).reason, 'RevisionNotFound');
  t.regex(error.message, /revisions: 1\)/);
});

test('pin: the revision to restore is read fresh, so a record changed after the history was listed is refused before anything is applied', async (t) => {
  const { listed, asked, client } = changedAfterListing('Superseded');
  const pinned = pkgOf({ rollback: { onFailure: false, revision: 1 } }, { ...readyStatus, currentRevision: 3 });
  const run = runOf(pinned, { revisions: [listed], managed: [] });
  const error = await t.throwsAsync(step('pin')({ ...run, deps: { ...run.deps, client, scopes: servedScopes } }),
    { instanceOf: PackageFailure });
  t.is(error.reason, 'RevisionTampered');
  t.deepEqual(asked, ['get PackageRevision/web-1'], 'read once, and the objects client (untouchable) never');
});

test('apply: an automatic rollback reads the revision it returns to fresh, so a record changed after the history was listed is refused', async (t) => {
  const { objects, listed, asked, client } = changedAfterListing('Available');
  // The new revision's one object cannot be applied: every use of the objects client fails.
  let objectsUsed = 0;
  const objectsClient = new Proxy({}, { get: () => { objectsUsed += 1; throw new Error('the apiserver refused the apply'); } }) as KubeClient;
  const pkg = pkgOf({ rollback: { onFailure: true } }, { ...readyStatus, currentRevision: 1 });
  const run = runOf(pkg, {
    revisions: [listed, revisionOf(2, 'Available')], revision: revisionOf(2, 'Available'), managed: [], source,
    content: { ...content, phases: [{ name: 'default', objects: [{ id: 'team_cfg__ConfigMap', object: objects[0], source: { file: 'a.yaml', document: 0 } }] }] } as unknown as PackageRun['content'],
  });
  const error = await t.throwsAsync(step('apply')({ ...run, deps: { ...run.deps, client, objectsClient, scopes: servedScopes } }), { instanceOf: PackageFailure });
  t.is(error.reason, 'RevisionTampered', error.message);
  t.regex(error.message, /rolling back to revision 1 .*was refused/);
  t.true(asked.includes('get PackageRevision/web-1'), asked.join(', '));
  t.is(objectsUsed, 1, 'only the failed apply used the objects client; the refused restore never did');
});

test('observe: an applied, healthy revision in drift mode ignore ends Ready without a request; otherwise the list goes on', async (t) => {
  const current = revisionOf(1, 'Available');
  const ignoring = runOf(pkgOf({ drift: { mode: 'ignore' } }, readyStatus), { source, content, current, sameAsCurrent: true });
  t.deepEqual(await step('observe')(ignoring), { kind: 'ready', message: `Applied revision 1: ${REV}` });
  t.true(ignoring.record.upToDate);

  const correcting = runOf(pkgOf({}, readyStatus), { source, content, current, sameAsCurrent: true });
  t.is(await step('observe')(correcting), undefined, 'mode correct: the apply step plans (from the cache)');
  t.true(correcting.record.upToDate);

  const changed = runOf(pkgOf({ drift: { mode: 'ignore' } }, readyStatus), { source, content, current, sameAsCurrent: false });
  t.is(await step('observe')(changed), undefined, 'a new state is applied whatever the drift mode');
  t.false(changed.record.upToDate);
});

test('hold: a state recorded before is reused; without rollback.onFailure nothing is held', async (t) => {
  const failed = revisionOf(2, 'Failed');
  const run = runOf(pkgOf({}, { ...readyStatus, currentRevision: 1 }), {
    source, content, current: revisionOf(1, 'Available', 'sha256:older'), sameAsCurrent: false, revisions: [revisionOf(1, 'Available', 'sha256:older'), failed], managed: [],
  });
  t.is(await step('hold')(run), undefined);
  t.is(run.revision, failed, 'revision 2 records exactly this state: its number is kept');
});

test('record: in a namespace being deleted nothing is recorded; in a live one the record is written', async (t) => {
  const asked: string[] = [];
  const clientFor = (deletionTimestamp: string | undefined) => ({
    get: (ref: { kind: string; name: string }) => {
      asked.push(`${ref.kind}/${ref.name}`);
      return Promise.resolve({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ref.name, ...(deletionTimestamp ? { deletionTimestamp } : {}) } });
    },
    create: () => Promise.reject(new Error('written')),
    list: () => Promise.reject(new Error('listed')),
  }) as unknown as KubeClient;
  const runIn = (client: KubeClient): PackageRun => {
    const run = runOf(pkgOf(), { source, content, revisions: [], managed: [] });
    return { ...run, deps: { ...run.deps, client } };
  };
  const stalled = await t.throwsAsync(step('record')(runIn(clientFor('2026-12-04T18:00:00Z'))), { instanceOf: PackageFailure });
  t.is(stalled.reason, 'NamespaceTerminating');
  t.is(stalled.retry, 'stall');
  t.deepEqual(asked, ['Namespace/team']);
  // A live namespace: the step goes on to write the record (this client refuses the write).
  await t.throwsAsync(step('record')(runIn(clientFor(undefined))), { message: 'written' });
});

test('prune: with prune off the inventory becomes the revision\'s plus nothing else, and nothing is deleted', async (t) => {
  const run = runOf(pkgOf({ prune: false }), { content, managed: [{ id: 'team_old__ConfigMap', v: 'v1' }] });
  t.is(await step('prune')(run), undefined);
  t.deepEqual(run.record.inventory, []);
});

test('runSteps: the first step that ends the reconcile wins; a thrown error becomes the one failure model', async (t) => {
  const calls: string[] = [];
  const outcome = await runSteps(pkgOf(), runOf(pkgOf()).deps, {}, [
    { name: 'a', run: () => { calls.push('a'); return Promise.resolve(undefined); } },
    { name: 'b', run: () => { calls.push('b'); return Promise.resolve({ kind: 'ready', message: 'done' }); } },
    { name: 'c', run: () => { calls.push('c'); return Promise.resolve(undefined); } },
  ]);
  t.deepEqual(calls, ['a', 'b']);
  t.deepEqual(outcome, { kind: 'ready', message: 'done' });

  const failed = await runSteps(pkgOf(), runOf(pkgOf()).deps, {}, [
    { name: 'boom', run: () => Promise.reject(new Error('connection reset')) },
  ]);
  t.is(failed.kind, 'failed');
  t.is(failed.kind === 'failed' ? failed.failure.reason : '', 'ReconcileFailed');
  t.is(failed.kind === 'failed' ? failed.failure.retry : '', 'backoff');
});
