// The source status on plain data: what a reconcile ends with (kstatus conditions,
// the artifact kept on failure), when an unchanged revision may skip the download,
// and the merge patch that writes only what changed.
import test from 'ava';
import { getCondition } from '../../../runtime/conditions.ts';
import type { Artifact, SourceStatus } from '../../../source-controller/api.ts';
import { artifactFailed, fetchFailed, SourceFailure } from '../../../source-controller/reconcile/failure.ts';
import { artifactBuiltForGeneration, summarizeStatus } from '../../../source-controller/reconcile/status.ts';
import { mergePatch } from '../../../runtime/merge-patch.ts';

const t0 = new Date('2026-01-01T00:00:00.000Z');
const t1 = new Date('2026-01-01T00:10:00.000Z');
const artifact: Artifact = {
  url: 'http://h/gitrepository/ns/a/aa.tar.gz', revision: 'main@sha1:1111111111111111111111111111111111111111',
  digest: `sha256:${'a'.repeat(64)}`, size: 10, lastUpdateTime: '2026-01-01T00:00:00Z',
};
const ready = (gen: number): SourceStatus => summarizeStatus({
  previous: undefined, generation: gen, artifact, outcome: { kind: 'ready', message: 'stored' }, now: t0,
});

test('success: Ready=True, no Reconciling/Stalled/failure conditions, observedGeneration everywhere', (t) => {
  const failed = summarizeStatus({
    previous: ready(1), generation: 2, artifact,
    outcome: { kind: 'failed', failure: fetchFailed('Unreachable', 'down', 'backoff'), message: 'down' }, now: t0,
  });
  const status = summarizeStatus({ previous: failed, generation: 2, artifact, outcome: { kind: 'ready', message: 'ok' }, now: t1 });
  t.deepEqual(status.conditions?.map((c) => c.type), ['Ready']);
  t.like(getCondition(status.conditions, 'Ready'), { status: 'True', reason: 'Succeeded', message: 'ok', observedGeneration: 2, lastTransitionTime: '2026-01-01T00:10:00Z' });
  t.is(status.observedGeneration, 2);
  t.deepEqual(status.artifact, artifact);
});

test('a retried failure: its condition True, Ready=False and Reconciling=True with the reason; the artifact is kept', (t) => {
  const status = summarizeStatus({
    previous: ready(1), generation: 1, artifact,
    outcome: { kind: 'failed', failure: fetchFailed('AuthenticationFailed', 'refused', 'interval'), message: 'refused' }, now: t1,
  });
  t.like(getCondition(status.conditions, 'FetchFailed'), { status: 'True', reason: 'AuthenticationFailed', message: 'refused', observedGeneration: 1 });
  t.like(getCondition(status.conditions, 'Ready'), { status: 'False', reason: 'AuthenticationFailed', lastTransitionTime: '2026-01-01T00:10:00Z' });
  t.like(getCondition(status.conditions, 'Reconciling'), { status: 'True', reason: 'ProgressingWithRetry' });
  t.is(getCondition(status.conditions, 'Stalled'), undefined);
  t.deepEqual(status.artifact, artifact, 'the last good artifact stays published');
});

test('a stalling failure: Stalled=True and Ready=False, no Reconciling; only the current failure condition remains', (t) => {
  const first = summarizeStatus({
    previous: ready(1), generation: 1, artifact,
    outcome: { kind: 'failed', failure: artifactFailed('UnsafeArchive', 'bad', 'interval'), message: 'bad' }, now: t0,
  });
  const failure = new SourceFailure('VerificationFailed', 'VerificationFailed', 'not implemented', 'stall');
  const status = summarizeStatus({ previous: first, generation: 2, artifact, outcome: { kind: 'failed', failure, message: 'not implemented' }, now: t1 });
  t.deepEqual(status.conditions?.map((c) => c.type).sort(), ['Ready', 'Stalled', 'VerificationFailed']);
  t.like(getCondition(status.conditions, 'Stalled'), { status: 'True', reason: 'VerificationFailed', observedGeneration: 2 });
  t.like(getCondition(status.conditions, 'Ready'), { status: 'False', reason: 'VerificationFailed' });
});

test('lastHandledReconcileAt follows the annotation and is kept when it is removed; no artifact means none published', (t) => {
  const first = summarizeStatus({ previous: undefined, generation: 1, artifact: undefined, outcome: { kind: 'ready', message: 'x' }, requestedAt: 'r1' });
  t.is(first.lastHandledReconcileAt, 'r1');
  t.false('artifact' in first);
  const second = summarizeStatus({ previous: first, generation: 1, artifact, outcome: { kind: 'ready', message: 'x' } });
  t.is(second.lastHandledReconcileAt, 'r1');
});

test('an unchanged revision may skip the download only when the last reconcile at this generation ended Ready', (t) => {
  t.true(artifactBuiltForGeneration(ready(3), 3));
  t.false(artifactBuiltForGeneration(ready(3), 4), 'the spec changed since (ignore, layerSelector)');
  const failed = summarizeStatus({
    previous: ready(3), generation: 3, artifact,
    outcome: { kind: 'failed', failure: fetchFailed('Unreachable', 'x', 'backoff'), message: 'x' },
  });
  t.false(artifactBuiltForGeneration(failed, 3), 'after a failure, fetch once more');
  t.false(artifactBuiltForGeneration(undefined, 1));
});

test('mergePatch: changed fields, null for removed ones, arrays whole, undefined when equal', (t) => {
  t.is(mergePatch({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 2] } }), undefined);
  t.deepEqual(mergePatch({ a: 1, b: { c: 1, d: 2 } }, { a: 2, b: { c: 1 } }), { a: 2, b: { d: null } });
  t.deepEqual(mergePatch({ list: [1, 2] }, { list: [2] }), { list: [2] });
  t.deepEqual(mergePatch({}, { artifact: { metadata: { x: 'y' } } }), { artifact: { metadata: { x: 'y' } } });
  t.deepEqual(mergePatch({ artifact: { metadata: { x: 'y', z: 'w' } } }, { artifact: { metadata: { x: 'y' } } }), { artifact: { metadata: { z: null } } });
  t.deepEqual(mergePatch({ artifact: { url: 'u' } }, {}), { artifact: null });
});
