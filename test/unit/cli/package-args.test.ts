// kubectl package without a cluster: argument parsing, the objects install
// builds (a --dry-run needs no cluster), exit codes, help on every command, and
// the decisions of --wait and rollback on plain objects.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { parseAllDocuments } from 'yaml';
import type { Package, PackageRevision } from '../../../apply-controller/api.ts';
import { collect, parseDuration, parsePositiveInt } from '../../../cli/package/args.ts';
import type { CommandIO } from '../../../cli/package/context.ts';
import { runPackageCli } from '../../../cli/package/index.ts';
import { installObjects, isLoopbackHost } from '../../../cli/package/objects.ts';
import { captureTerminal, type CapturedTerminal } from '../../../cli/package/output.ts';
import { chooseRollbackRevision } from '../../../cli/package/rollback.ts';
import { installVerdict, reconcileVerdict, revisionVerdict } from '../../../cli/package/wait.ts';
import type { OCIRepository } from '../../../source-controller/api.ts';

/** An IO with no cluster anywhere: no KUBECONFIG, an empty HOME. */
function offline(): CommandIO & { term: CapturedTerminal } {
  const home = mkdtempSync(join(tmpdir(), 'kubectl-package-home-'));
  return { term: captureTerminal(), env: { HOME: home }, now: () => new Date('2026-01-10T12:00:00Z'), exit: () => undefined };
}

test('durations: Go style, bare seconds; junk refused', (t) => {
  t.is(parseDuration('90s'), 90_000);
  t.is(parseDuration('5m'), 300_000);
  t.is(parseDuration('1h30m'), 5_400_000);
  t.is(parseDuration('500ms'), 500);
  t.is(parseDuration('30'), 30_000);
  for (const bad of ['', '5 minutes', 'm5', '5x', '0s', '-1s']) t.throws(() => parseDuration(bad), undefined, bad);
});

test('revision numbers are whole numbers of at least 1', (t) => {
  t.is(parsePositiveInt('3'), 3);
  for (const bad of ['0', '-1', '1.5', 'two', '', '1e3']) t.throws(() => parsePositiveInt(bad), undefined, bad);
  t.deepEqual(collect('b', collect('a', undefined)), ['a', 'b']);
});

test('loopback registries are the ones Docker treats as insecure', (t) => {
  for (const h of ['127.0.0.1:5000', '127.1.2.3', 'localhost:5000', 'LOCALHOST', '[::1]:5000']) t.true(isLoopbackHost(h), h);
  for (const h of ['registry.example.com', '10.0.0.1:5000', '128.0.0.1', 'localhost.example.com', '[::2]:5000']) t.false(isLoopbackHost(h), h);
});

test('install objects: an OCIRepository following the range and a Package applying it, labelled', (t) => {
  const { source, package: pkg } = installObjects({
    name: 'web', namespace: 'shop', url: 'oci://127.0.0.1:5000/examples/web', ref: { semver: '^1' },
    values: { replicas: 3 }, serviceAccountName: 'deployer',
  });
  t.deepEqual(source, {
    apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository',
    metadata: { name: 'web', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'kubectl-package', 'apply.trellis.dev/installed-for': 'web' } },
    spec: { url: 'oci://127.0.0.1:5000/examples/web', ref: { semver: '^1' }, insecure: true },
  });
  t.deepEqual(pkg, {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package',
    metadata: { name: 'web', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'kubectl-package' } },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'web' }, serviceAccountName: 'deployer', values: { replicas: 3 } },
  });
});

test('install objects: a tag or digest in the URL becomes the ref; a remote registry is not insecure', (t) => {
  const tagged = installObjects({ name: 'web', namespace: 'd', url: 'oci://registry.example.com/team/web:1.4.0' });
  t.deepEqual(tagged.source.spec, { url: 'oci://registry.example.com/team/web', ref: { tag: '1.4.0' } });
  const digest = `sha256:${'a'.repeat(64)}`;
  t.deepEqual(installObjects({ name: 'web', namespace: 'd', url: `oci://r.example/web@${digest}` }).source.spec.ref, { digest });
  t.false('insecure' in installObjects({ name: 'web', namespace: 'd', url: 'oci://127.0.0.1:5000/web', insecure: false }).source.spec);
});

test('install objects: bad names, URLs and double refs are refused before anything is written', (t) => {
  t.throws(() => installObjects({ name: 'Web', namespace: 'd', url: 'oci://r.example/web' }), { message: /invalid package name "Web"/ });
  t.throws(() => installObjects({ name: 'a'.repeat(54), namespace: 'd', url: 'oci://r.example/web' }), { message: /at most 53/ });
  t.throws(() => installObjects({ name: 'web', namespace: 'd', url: 'https://r.example/web' }), { message: /must start with oci:\/\// });
  t.throws(() => installObjects({ name: 'web', namespace: 'd', url: 'oci://user:pw@r.example/web' }), { message: /credentials must not be part of the URL/ });
  t.throws(() => installObjects({ name: 'web', namespace: 'd', url: 'oci://r.example/web:1.0.0', ref: { semver: '^1' } }), { message: /not both/ });
});

test('install --dry-run -o yaml prints both objects without a cluster', async (t) => {
  const io = offline();
  const code = await runPackageCli(['install', 'web', 'oci://127.0.0.1:5000/examples/web', '--version', '^1', '--dry-run', '-o', 'yaml', '-n', 'shop'], io);
  t.is(code, 0, io.term.stderr());
  const docs = parseAllDocuments(io.term.stdout()).map((d) => d.toJS() as { kind: string; metadata: { namespace: string }; spec: Record<string, unknown> });
  t.deepEqual(docs.map((d) => d.kind), ['OCIRepository', 'Package']);
  t.deepEqual(docs.map((d) => d.metadata.namespace), ['shop', 'shop']);
  t.deepEqual(docs[0]?.spec.ref, { semver: '^1' });
});

test('install --dry-run without -n and without a cluster uses "default"; -o json is a List', async (t) => {
  const io = offline();
  t.is(await runPackageCli(['install', 'web', 'oci://r.example/web', '--tag', '2.0.0', '--dry-run', '-o', 'json'], io), 0, io.term.stderr());
  const list = JSON.parse(io.term.stdout()) as { kind: string; items: { metadata: { namespace: string } }[] };
  t.is(list.kind, 'List');
  t.deepEqual(list.items.map((i) => i.metadata.namespace), ['default', 'default']);
});

test('usage errors exit non-zero with a message: unknown flag, bad -o, bad duration, two refs', async (t) => {
  const cases: [string[], RegExp][] = [
    [['install', 'web', 'oci://r.example/web', '--bogus'], /unknown option '--bogus'/],
    [['list', '-o', 'xml'], /argument 'xml' is invalid.*table, wide, json, yaml, name, jsonpath=TEMPLATE/],
    [['install', 'web', 'oci://r.example/web', '--wait', '--timeout', 'soon'], /argument 'soon' is invalid/],
    [['install', 'web', 'oci://r.example/web', '--tag', 'a', '--version', '^1', '--dry-run'], /only one of --version, --tag and --digest/],
    [['rollback', 'web', '--to', 'zero'], /whole number/],
    [['install', 'web'], /missing required argument 'url'/],
    [['nonsense'], /unknown command 'nonsense'/],
  ];
  for (const [argv, message] of cases) {
    const io = offline();
    const code = await runPackageCli(argv, io);
    t.not(code, 0, argv.join(' '));
    t.regex(io.term.stderr(), message, argv.join(' '));
  }
});

test('a command that needs a cluster and finds none says where it looked and exits 1', async (t) => {
  const io = offline();
  t.is(await runPackageCli(['list'], io), 1);
  t.regex(io.term.stderr(), /^error: no kubeconfig: pass --kubeconfig, set KUBECONFIG/);
  const io2 = offline();
  t.is(await runPackageCli(['get', 'web', '--kubeconfig', '/nonexistent/kubeconfig'], io2), 1);
  t.regex(io2.term.stderr(), /kubeconfig \/nonexistent\/kubeconfig does not exist/);
});

test('--values files are merged in order and must be YAML mappings', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-package-values-'));
  writeFileSync(join(dir, 'list.yaml'), '- a\n- b\n');
  const io = offline();
  // Values need the package's schema: an unreachable registry is reported, not ignored.
  t.is(await runPackageCli(['install', 'web', 'oci://127.0.0.1:1/web', '--tag', '1', '--values', join(dir, 'missing.yaml'), '--dry-run'], io), 1);
  t.regex(io.term.stderr(), /--values .*missing\.yaml: no such file/);
  const io2 = offline();
  t.is(await runPackageCli(['install', 'web', 'oci://127.0.0.1:1/web', '--tag', '1', '--values', join(dir, 'list.yaml'), '--dry-run'], io2), 1);
  t.regex(io2.term.stderr(), /expected a mapping of values/);
});

test('--set needs the registry for the schema: an unreachable one is a clear error', async (t) => {
  const io = offline();
  t.is(await runPackageCli(['install', 'web', 'oci://127.0.0.1:1/web', '--tag', '1', '--set', 'replicas=3', '--dry-run'], io), 1);
  t.regex(io.term.stderr(), /^error: cannot read the package from oci:\/\/127\.0\.0\.1:1\/web: /);
});

test('every command has --help with an example, and help exits 0', async (t) => {
  for (const cmd of ['install', 'list', 'get', 'status', 'history', 'rollback', 'diff', 'reconcile', 'suspend', 'resume', 'uninstall']) {
    const io = offline();
    t.is(await runPackageCli([cmd, '--help'], io), 0, cmd);
    t.regex(io.term.stdout(), /Examples:\n {2}kubectl package /, cmd);
    t.regex(io.term.stdout(), /--kubeconfig <file>/, cmd);
  }
  const io = offline();
  t.is(await runPackageCli(['--help'], io), 0);
  t.regex(io.term.stdout(), /install \[options\] <name> <url>/);
});

// --- --wait decisions ---------------------------------------------------------

const cond = (type: string, status: string, message = '', reason = 'R') => ({ type, status, reason, message, lastTransitionTime: '2026-01-10T11:00:00Z' });
const REV = `1.0.0@sha256:${'b'.repeat(64)}`;

function source(opts: { gen?: number; observed?: number; ready?: string; stalled?: boolean; revision?: string } = {}): OCIRepository {
  return {
    apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', metadata: { name: 'web', namespace: 'd', generation: opts.gen ?? 1 },
    spec: { url: 'oci://r/web' },
    status: {
      observedGeneration: opts.observed ?? 1,
      conditions: [cond('Ready', opts.ready ?? 'True', 'stored'), ...(opts.stalled ? [cond('Stalled', 'True', 'no such tag')] : [])],
      ...(opts.revision === '' ? {} : { artifact: { url: 'http://x', revision: opts.revision ?? REV, digest: `sha256:${'c'.repeat(64)}`, size: 1, lastUpdateTime: 'x' } }),
    },
  } as OCIRepository;
}

function pkgState(opts: { gen?: number; observed?: number; ready?: string; applied?: string; current?: number; pinned?: number;
  suspend?: boolean; stalled?: boolean; reconciling?: boolean; handled?: string } = {}): Package {
  return {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name: 'web', namespace: 'd', generation: opts.gen ?? 1 },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'web' }, suspend: opts.suspend ?? false, ...(opts.pinned ? { rollback: { revision: opts.pinned } } : {}) },
    status: {
      observedGeneration: opts.observed ?? 1,
      conditions: [
        cond('Ready', opts.ready ?? 'True', 'Applied'),
        ...(opts.stalled ? [cond('Stalled', 'True', 'bad values')] : []),
        ...(opts.reconciling ? [cond('Reconciling', 'True', 'applying')] : []),
      ],
      ...(opts.applied ? { lastAppliedRevision: opts.applied } : {}),
      ...(opts.current !== undefined ? { currentRevision: opts.current } : {}),
      ...(opts.handled ? { lastHandledReconcileAt: opts.handled } : {}),
    },
  } as Package;
}

test('install --wait: done only when the Package applied the source\'s current artifact and is Ready', (t) => {
  t.is(installVerdict(undefined, undefined).state, 'waiting');
  t.is(installVerdict(source({ gen: 2, observed: 1 }), pkgState({ applied: REV })).state, 'waiting', 'source spec not seen yet');
  t.is(installVerdict(source({ ready: 'False' }), pkgState({ applied: REV })).state, 'waiting', 'source not ready: may recover');
  t.is(installVerdict(source({ revision: '' }), pkgState()).state, 'waiting', 'no artifact yet');
  t.is(installVerdict(source(), pkgState({ applied: `0.9.0@sha256:${'d'.repeat(64)}` })).state, 'waiting', 'still on the old revision');
  t.is(installVerdict(source(), pkgState({ applied: REV, gen: 3, observed: 2 })).state, 'waiting', 'new spec not seen');
  t.is(installVerdict(source(), pkgState({ applied: REV, ready: 'False' })).state, 'waiting');
  t.is(installVerdict(source(), pkgState({ applied: REV })).state, 'done');
});

test('install --wait fails at once on Stalled (source or Package) and on a suspended Package', (t) => {
  const s = installVerdict(source({ stalled: true, ready: 'False' }), pkgState());
  t.deepEqual(s, { state: 'failed', message: 'OCIRepository d/web: no such tag' });
  t.deepEqual(installVerdict(source(), pkgState({ stalled: true, ready: 'False' })), { state: 'failed', message: 'Package d/web: bad values' });
  t.is(installVerdict(source(), pkgState({ suspend: true })).state, 'failed');
});

test('a pinned Package is done when it runs the pinned revision', (t) => {
  t.is(installVerdict(source(), pkgState({ pinned: 1, current: 1, applied: 'other@sha256:x' })).state, 'done');
  t.is(revisionVerdict(pkgState({ current: 2 }), 1).state, 'waiting');
  t.is(revisionVerdict(pkgState({ current: 1, ready: 'Unknown' }), 1).state, 'waiting');
  t.is(revisionVerdict(pkgState({ current: 1 }), 1).state, 'done');
  t.is(revisionVerdict(undefined, 1).state, 'failed');
});

test('reconcile --wait: waits for the request to be handled, then Ready decides', (t) => {
  const at = '2026-01-10T12:00:00.000Z';
  t.is(reconcileVerdict(pkgState({ handled: '2026-01-10T11:00:00.000Z' }), at).state, 'waiting');
  t.is(reconcileVerdict(pkgState({ handled: at, ready: 'Unknown', reconciling: true }), at).state, 'waiting', 'still working');
  t.is(reconcileVerdict(pkgState({ handled: at }), at).state, 'done');
  t.is(reconcileVerdict(pkgState({ handled: at, ready: 'False', reconciling: true }), at).state, 'failed', 'a failure that will be retried still failed');
  t.is(reconcileVerdict(pkgState({ handled: at, ready: 'False', stalled: true }), at).state, 'failed');
  t.is(reconcileVerdict(pkgState({ suspend: true }), at).state, 'failed');
});

// --- rollback ---------------------------------------------------------------

function rev(n: number, phase?: string): PackageRevision {
  return {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageRevision', metadata: { name: `web-${n}` },
    spec: { packageName: 'web', revision: n, source: { revision: REV } },
    ...(phase ? { status: { phase, message: phase === 'Failed' ? 'health check failed' : '' } } : {}),
  } as PackageRevision;
}

test('rollback without --to picks the newest healthy revision before the current one', (t) => {
  const history = [rev(1, 'Superseded'), rev(2, 'Superseded'), rev(3, 'Failed'), rev(4, 'Available')];
  t.is(chooseRollbackRevision(history, 4, undefined, 'web').spec.revision, 2);
  t.is(chooseRollbackRevision(history, 2, undefined, 'web').spec.revision, 1);
  t.throws(() => chooseRollbackRevision(history, 1, undefined, 'web'), { message: 'web has no healthy revision before revision 1 to roll back to' });
  t.throws(() => chooseRollbackRevision([], undefined, undefined, 'web'), { message: /no current revision yet/ });
});

test('rollback --to N needs a revision that exists and was healthy', (t) => {
  const history = [rev(1, 'Superseded'), rev(2, 'Failed'), rev(3)];
  t.is(chooseRollbackRevision(history, 3, 1, 'web').spec.revision, 1);
  t.throws(() => chooseRollbackRevision(history, 3, 9, 'web'), { message: 'web has no revision 9 (revisions: 1, 2, 3)' });
  t.throws(() => chooseRollbackRevision(history, 3, 2, 'web'), { message: /revision 2 of web is Failed \(health check failed\)/ });
  t.throws(() => chooseRollbackRevision(history, 3, 3, 'web'), { message: /revision 3 of web is not finished/ });
});

