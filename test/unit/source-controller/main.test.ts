// The source-controller's flags and the spec readers of both kinds, on plain data.
import test from 'ava';
import type { GitRepository, OCIRepository } from '../../../source-controller/api.ts';
import { gitRefOf } from '../../../source-controller/gitrepository.ts';
import { listenHostPort, parseSourceControllerFlags } from '../../../source-controller/main.ts';
import { ociSelectorOf } from '../../../source-controller/ocirepository.ts';
import { SourceFailure } from '../../../source-controller/reconcile/failure.ts';

test('flag defaults', (t) => {
  const flags = parseSourceControllerFlags([], {});
  t.like(flags, {
    kubeconfig: undefined, storagePath: '/data', artifactAddr: ':9090', metricsAddr: ':8080', healthAddr: ':8081',
    concurrent: 4, kubeApiQps: undefined, kubeApiBurst: undefined, artifactRetention: 2, leaderElect: false,
    leaderElectionId: 'trellis-source-controller', leaderElectionNamespace: 'trellis-system', watchNamespace: undefined,
    logLevel: 'info', storageAdvAddr: undefined, maxGitFetchSize: 64 * 1024 * 1024, maxGitInflatedSize: 64 * 1024 * 1024,
    maxUnpackedSize: 512 * 1024 * 1024, maxUnpackedEntries: 20_000, maxTreeDepth: 64, sourceHostAllow: [], sourceHostDeny: [],
    sourceHostDefaultDeny: true,
  });
  t.is(parseSourceControllerFlags([], { POD_NAMESPACE: 'flux' }).leaderElectionNamespace, 'flux');
  t.is(parseSourceControllerFlags(['--kube-api-qps', '0'], {}).kubeApiQps, 0, '0 turns the client-side limit off');
});

test('every flag is read', (t) => {
  const flags = parseSourceControllerFlags([
    '--kubeconfig', '/k', '--storage-path', 'rel/data', '--storage-adv-addr', 'source.svc:80', '--artifact-addr', '127.0.0.1:0',
    '--metrics-addr', '', '--health-addr', '127.0.0.1:0', '--concurrent', '8', '--kube-api-qps', '7.5', '--kube-api-burst', '20',
    '--artifact-retention', '5', '--leader-elect', '--leader-election-id', 'lease', '--leader-election-namespace', 'ns',
    '--watch-namespace', 'team', '--log-level', 'debug', '--max-fetch-size', '1024', '--max-git-fetch-size', '2048',
    '--max-git-inflated-size', '4096', '--max-unpacked-size', '8192', '--max-unpacked-entries', '99', '--max-tree-depth', '7',
    '--source-host-allow', 'git.corp', '--source-host-deny', '10.0.0.0/8', '--no-source-host-default-deny',
  ], {});
  t.like(flags, {
    kubeconfig: '/k', storageAdvAddr: 'source.svc:80', artifactAddr: '127.0.0.1:0', metricsAddr: '', healthAddr: '127.0.0.1:0',
    concurrent: 8, kubeApiQps: 7.5, kubeApiBurst: 20, artifactRetention: 5, leaderElect: true, leaderElectionId: 'lease',
    leaderElectionNamespace: 'ns', watchNamespace: 'team', logLevel: 'debug', maxFetchSize: 1024, maxGitFetchSize: 2048,
    maxGitInflatedSize: 4096, maxUnpackedSize: 8192, maxUnpackedEntries: 99, maxTreeDepth: 7, sourceHostAllow: ['git.corp'],
    sourceHostDeny: ['10.0.0.0/8'], sourceHostDefaultDeny: false,
  });
  t.true(flags.storagePath.endsWith('/rel/data') && flags.storagePath.startsWith('/'), 'the storage path is made absolute');
});

test('bad flag values are refused', (t) => {
  for (const args of [['--concurrent', '0'], ['--artifact-retention', 'two'], ['--log-level', 'loud'], ['--kube-api-qps', '-1'], ['--nope'], ['extra']]) {
    t.throws(() => parseSourceControllerFlags(args, {}, () => undefined), undefined, args.join(' '));
  }
});

test('listen addresses without a host listen on every interface', (t) => {
  t.is(listenHostPort(':9090'), '0.0.0.0:9090');
  t.is(listenHostPort('127.0.0.1:0'), '127.0.0.1:0');
});

const oci = (ref: OCIRepository['spec']['ref']): OCIRepository => ({
  apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', metadata: { name: 'a', namespace: 'n' },
  spec: { url: 'oci://r/x', interval: '5m', timeout: '60s', insecure: false, suspend: false, ...(ref ? { ref } : {}) },
});
const git = (ref: GitRepository['spec']['ref']): GitRepository => ({
  apiVersion: 'source.trellis.dev/v1alpha1', kind: 'GitRepository', metadata: { name: 'a', namespace: 'n' },
  spec: { url: 'http://g/x.git', interval: '5m', timeout: '60s', suspend: false, ...(ref ? { ref } : {}) },
});

test('OCI selector: tag, semver, digest, and the tag latest without a ref', (t) => {
  t.deepEqual(ociSelectorOf(oci(undefined)), { tag: 'latest' });
  t.deepEqual(ociSelectorOf(oci({ tag: '1.0.0' })), { tag: '1.0.0' });
  t.deepEqual(ociSelectorOf(oci({ semver: '^1' })), { semver: '^1' });
  t.deepEqual(ociSelectorOf(oci({ digest: `sha256:${'b'.repeat(64)}` })), { digest: `sha256:${'b'.repeat(64)}` });
});

test('Git ref: the default branch without a ref; an invalid semver range stalls', (t) => {
  t.deepEqual(gitRefOf(git(undefined)), {});
  t.deepEqual(gitRefOf(git({ branch: 'dev' })), { branch: 'dev' });
  const err = t.throws(() => gitRefOf(git({ semver: '1.x.x.x' })), { instanceOf: SourceFailure });
  t.like(err, { reason: 'InvalidRef', retry: 'stall', condition: 'FetchFailed' });
  for (const ref of [{ branch: '../../etc' }, { tag: 'v1.lock' }, { branch: 'a@{0}' }]) {
    t.like(t.throws(() => gitRefOf(git(ref)), { instanceOf: SourceFailure }), { reason: 'InvalidRef', retry: 'stall' }, JSON.stringify(ref));
  }
});
