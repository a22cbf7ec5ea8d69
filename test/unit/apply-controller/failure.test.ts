// Library errors mapped to the condition, reason and retry of a Package.
import test from 'ava';
import { ArtifactError } from '../../../apply-controller/artifact.ts';
import { BundleValidationError, problem } from '../../../apply-controller/bundle/problems.ts';
import { changeCounts } from '../../../apply-controller/package.ts';
import { toPackageFailure } from '../../../apply-controller/reconcile/failure.ts';
import { RevisionTooLargeError } from '../../../apply-controller/revisions/index.ts';
import { ChangeSet } from '../../../apply-controller/ssa/change-set.ts';
import { ApplyError, HealthCheckError, ImmutableFieldError } from '../../../apply-controller/ssa/errors.ts';
import { KubeApiError } from '../../../runtime/kube-transport.ts';

const names = { id: 'shop_web_apps_Deployment', subject: 'Deployment/shop/web' };

test('each library error has its condition, reason and retry', (t) => {
  const cases: [unknown, string | undefined, string, string][] = [
    [new ArtifactError('DigestMismatch', 'x'), 'ArtifactFailed', 'DigestMismatch', 'retry'],
    [new ArtifactError('DownloadFailed', 'x'), 'ArtifactFailed', 'DownloadFailed', 'backoff'],
    [new ArtifactError('UnsafeArchive', 'x'), 'ArtifactFailed', 'UnsafeArchive', 'stall'],
    [new BundleValidationError([problem('DuplicateObject', 'twice', { file: 'a.yaml' })]), 'ArtifactFailed', 'DuplicateObject', 'stall'],
    [new RevisionTooLargeError(2, 1), 'ArtifactFailed', 'RevisionTooLarge', 'stall'],
    [new ImmutableFieldError(names, new KubeApiError(422, 'Invalid', 'field is immutable')), 'ApplyFailed', 'ImmutableFieldChanged', 'stall'],
    [new ApplyError(names, new KubeApiError(403, 'Forbidden', 'forbidden')), 'ApplyFailed', 'ApplyFailed', 'retry'],
    // The NamespaceLifecycle admission plugin's refusal, with its cause and (from a server that sends none) by its words.
    [new ApplyError(names, new KubeApiError(403, 'Forbidden', 'deployments.apps "web" is forbidden: unable to create new content',
      { name: 'web', kind: 'deployments', causes: [{ reason: 'NamespaceTerminating', field: 'metadata.namespace' }] })), 'ApplyFailed', 'NamespaceTerminating', 'retry'],
    [new ApplyError(names, new KubeApiError(403, 'Forbidden', 'unable to create new content in namespace shop because it is being terminated')),
      'ApplyFailed', 'NamespaceTerminating', 'retry'],
    [new ApplyError(names, new KubeApiError(422, 'Invalid', 'because it is being terminated')), 'ApplyFailed', 'ApplyFailed', 'retry'],
    [new HealthCheckError([{ ...names, status: 'InProgress', message: 'waiting' }], 1000), 'HealthCheckFailed', 'HealthCheckFailed', 'retry'],
    [new KubeApiError(500, 'InternalError', 'boom'), undefined, 'ReconcileFailed', 'backoff'],
    [new Error('socket hang up'), undefined, 'ReconcileFailed', 'backoff'],
  ];
  for (const [err, condition, reason, retry] of cases) {
    const f = toPackageFailure(err);
    t.deepEqual([f.condition, f.reason, f.retry], [condition, reason, retry], String(err));
  }
});

test('failure messages are redacted', (t) => {
  const f = toPackageFailure(new Error('GET https://user:hunter2@artifacts.example/x failed'));
  t.false(f.message.includes('hunter2'));
});

test('the event summary counts writes and prunes, not unchanged objects', (t) => {
  const applied = new ChangeSet([
    { id: 'a', subject: 'A', action: 'created' }, { id: 'b', subject: 'B', action: 'created' }, { id: 'c', subject: 'C', action: 'created' },
    { id: 'd', subject: 'D', action: 'configured' }, { id: 'e', subject: 'E', action: 'unchanged' },
  ]);
  const pruned = new ChangeSet([{ id: 'f', subject: 'F', action: 'deleted' }, { id: 'g', subject: 'G', action: 'deleted' }, { id: 'h', subject: 'H', action: 'skipped' }]);
  t.is(changeCounts({ applied, pruned }), '3 created, 1 configured, 2 pruned');
  t.is(changeCounts({ applied: new ChangeSet([{ id: 'e', subject: 'E', action: 'unchanged' }]) }), undefined);
});

test('a bundle problem stalls, but a sandbox that crashed while rendering is retried', (t) => {
  const program = toPackageFailure(new BundleValidationError([problem('RenderFailed', 'the program failed (Timeout): past its deadline')]));
  t.is(program.retry, 'stall');
  const crashed = toPackageFailure(new BundleValidationError([problem('RenderCrashed', 'the program failed (Crashed): the sandbox exited')]));
  t.is(crashed.reason, 'RenderCrashed');
  t.is(crashed.retry, 'backoff');
});
