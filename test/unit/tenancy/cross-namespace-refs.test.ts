// Cross-namespace references are refused by default, before anything is read;
// --allow-cross-namespace-refs lets the reference be looked up.
import test from 'ava';
import type { Package } from '../../../apply-controller/api.ts';
import { PackageFailure } from '../../../apply-controller/reconcile/failure.ts';
import { checkDependencies, resolveSource } from '../../../apply-controller/reconcile/source.ts';
import type { KubeClient } from '../../../runtime/kube.ts';

function pkg(spec: Partial<Package['spec']>): Package {
  return {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name: 'web', namespace: 'team-a' },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'src' }, interval: '10m', timeout: '5m', prune: true, wait: true, drift: { mode: 'correct' },
      rollback: { onFailure: false }, historyLimit: 10, force: false, suspend: false, ...spec },
  };
}

/** A client that records what it was asked and finds nothing. */
function emptyClient(asked: string[]): KubeClient {
  return { get: (ref: { kind: string; namespace?: string; name: string }) => {
    asked.push(`${ref.kind} ${ref.namespace ?? ''}/${ref.name}`);
    return Promise.resolve(undefined);
  } } as unknown as KubeClient;
}

test('a source in another namespace is refused by default without being read, and looked up when allowed', async (t) => {
  const asked: string[] = [];
  const other = pkg({ sourceRef: { kind: 'OCIRepository', name: 'shared', namespace: 'team-b' } });
  const refused = await t.throwsAsync(resolveSource(emptyClient(asked), other, {}), { instanceOf: PackageFailure });
  t.is(refused.reason, 'CrossNamespaceRefNotAllowed');
  t.is(refused.retry, 'stall');
  t.regex(refused.message, /OCIRepository team-b\/shared .*--allow-cross-namespace-refs/);
  t.deepEqual(asked, []);
  const missing = await t.throwsAsync(resolveSource(emptyClient(asked), other, { allowCrossNamespaceRefs: true }), { instanceOf: PackageFailure });
  t.is(missing.reason, 'SourceNotFound');
  t.deepEqual(asked, ['OCIRepository team-b/shared']);
});

test('a dependency in another namespace is refused by default without being read, and looked up when allowed', async (t) => {
  const asked: string[] = [];
  const other = pkg({ dependsOn: [{ name: 'db', namespace: 'team-b' }] });
  const refused = await t.throwsAsync(checkDependencies(emptyClient(asked), other, {}), { instanceOf: PackageFailure });
  t.is(refused.reason, 'CrossNamespaceRefNotAllowed');
  t.regex(refused.message, /Package team-b\/db/);
  t.deepEqual(asked, []);
  const waiting = await t.throwsAsync(checkDependencies(emptyClient(asked), other, { allowCrossNamespaceRefs: true }), { instanceOf: PackageFailure });
  t.is(waiting.reason, 'DependencyNotReady');
  t.deepEqual(asked, ['Package team-b/db']);
  // The Package's own namespace is always fine.
  await t.throwsAsync(checkDependencies(emptyClient(asked), pkg({ dependsOn: [{ name: 'db' }] }), {}), { message: /team-a\/db: it does not exist/ });
});
