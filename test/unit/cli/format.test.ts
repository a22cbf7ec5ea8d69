// How kubectl package prints: tables, ages, revisions, colour rules, Package rows,
// history, status and diff reports — on plain objects.
import test from 'ava';
import type { Package, PackageRevision } from '../../../apply-controller/api.ts';
import { formatDiff } from '../../../cli/package/diff.ts';
import {
  age, colorEnabled, formatTable, humanDuration, shortRevision,
} from '../../../cli/package/format.ts';
import { historyTable } from '../../../cli/package/history.ts';
import { packageTable } from '../../../cli/package/list.ts';
import { captureTerminal, renderObjects, startProgress, type Terminal } from '../../../cli/package/output.ts';
import { formatStatus, inventoryCounts } from '../../../cli/package/status.ts';

const now = new Date('2026-01-10T12:00:00Z');
const ago = (ms: number): string => new Date(now.getTime() - ms).toISOString();
const SHA = 'sha256:3b2f1c0d9e8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e';

function pkg(name: string, opts: { ready?: 'True' | 'False'; message?: string; revision?: string; namespace?: string;
  suspend?: boolean; pinned?: number; current?: number } = {}): Package {
  return {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package',
    metadata: { name, namespace: opts.namespace ?? 'default', creationTimestamp: ago(3_600_000), generation: 1 },
    spec: {
      sourceRef: { kind: 'OCIRepository', name }, suspend: opts.suspend ?? false,
      ...(opts.pinned !== undefined ? { rollback: { revision: opts.pinned } } : {}),
    } as Package['spec'],
    ...(opts.ready ? {
      status: {
        observedGeneration: 1,
        conditions: [{ type: 'Ready', status: opts.ready, reason: 'R', message: opts.message ?? '', lastTransitionTime: ago(60_000) }],
        ...(opts.revision ? { lastAppliedRevision: opts.revision } : {}),
        ...(opts.current !== undefined ? { currentRevision: opts.current } : {}),
      },
    } : {}),
  };
}

test('humanDuration follows kubectl (apimachinery duration.HumanDuration)', (t) => {
  const cases: [number, string][] = [
    [-5_000, '<invalid>'], [0, '0s'], [45_000, '45s'], [119_000, '119s'], [120_000, '2m'], [190_000, '3m10s'],
    [600_000, '10m'], [179 * 60_000, '179m'], [3 * 3_600_000, '3h'], [5 * 3_600_000 + 20 * 60_000, '5h20m'],
    [30 * 3_600_000, '30h'], [50 * 3_600_000, '2d2h'], [72 * 3_600_000, '3d'], [10 * 86_400_000, '10d'],
    [800 * 86_400_000, '2y70d'], [9 * 365 * 86_400_000, '9y'],
  ];
  for (const [ms, want] of cases) t.is(humanDuration(ms), want, `${ms} ms`);
});

test('age is <unknown> without a valid timestamp', (t) => {
  t.is(age(undefined, now), '<unknown>');
  t.is(age('not a time', now), '<unknown>');
  t.is(age(ago(90_000), now), '90s');
});

test('tables: upper-case headers, three spaces between columns, no trailing blanks', (t) => {
  const text = formatTable(['name', 'ready'], [['web', 'True'], ['a-much-longer-name', '']]);
  t.is(text, 'NAME                 READY\nweb                  True\na-much-longer-name\n');
});

test('colour codes do not change column widths, and are only there when asked for', (t) => {
  const plain = formatTable(['a', 'b'], [[{ text: 'True', color: 'green' }, 'x']]);
  const colored = formatTable(['a', 'b'], [[{ text: 'True', color: 'green' }, 'x']], true);
  t.false(plain.includes('\u001b'));
  t.true(colored.includes('\u001b[32mTrue\u001b[39m'));
  // eslint-disable-next-line no-control-regex -- removing the colour codes is the point
  t.is(colored.replace(/\u001b\[\d+m/g, ''), plain);
});

test('multi-line messages take one table line', (t) => {
  t.is(formatTable(['m'], [['first\nsecond']]), 'M\nfirst …\n');
});

test('colour only on a terminal, never with NO_COLOR or TERM=dumb', (t) => {
  t.true(colorEnabled({ isTTY: true }, {}));
  t.false(colorEnabled({ isTTY: false }, {}));
  t.false(colorEnabled({}, {}));
  t.false(colorEnabled({ isTTY: true }, { NO_COLOR: '1' }));
  t.true(colorEnabled({ isTTY: true }, { NO_COLOR: '' }), 'an empty NO_COLOR does not count (no-color.org)');
  t.false(colorEnabled({ isTTY: true }, { TERM: 'dumb' }));
});

test('revisions are shortened to 12 hex digits; other text is kept', (t) => {
  t.is(shortRevision(`1.1.0@${SHA}`), '1.1.0@sha256:3b2f1c0d9e8a');
  t.is(shortRevision(`main@sha1:${'a'.repeat(40)}`), 'main@sha1:aaaaaaaaaaaa');
  t.is(shortRevision(SHA), 'sha256:3b2f1c0d9e8a');
  t.is(shortRevision('weird'), 'weird');
  t.is(shortRevision(undefined), '');
});

test('the Package table: NAME READY REVISION AGE MESSAGE, sorted; -A adds NAMESPACE first', (t) => {
  const items = [
    pkg('web', { ready: 'True', message: 'Applied revision 1.0.0', revision: `1.0.0@${SHA}` }),
    pkg('api', { ready: 'False', message: 'health check failed' }),
    pkg('new'),
  ];
  t.is(packageTable(items, now, false), [
    'NAME   READY     REVISION                    AGE   MESSAGE',
    'api    False                                 60m   health check failed',
    'new    Unknown                               60m   waiting for the apply controller',
    'web    True      1.0.0@sha256:3b2f1c0d9e8a   60m   Applied revision 1.0.0',
    '',
  ].join('\n'));
  const all = packageTable([pkg('web', { namespace: 'b' }), pkg('web', { namespace: 'a' })], now, true);
  t.regex(all.split('\n')[0] ?? '', /^NAMESPACE +NAME +READY +REVISION +AGE +MESSAGE$/);
  t.regex(all.split('\n')[1] ?? '', /^a +web/);
});

test('suspended and pinned Packages say so in the message', (t) => {
  const text = packageTable([pkg('web', { ready: 'True', message: 'ok', suspend: true, pinned: 2 })], now, false);
  t.regex(text, /Pinned to revision 2: Suspended: ok/);
});

function rev(n: number, phase: string | undefined, message = ''): PackageRevision {
  return {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageRevision',
    metadata: { name: `web-${n}`, namespace: 'default', creationTimestamp: ago(n * 1000) },
    spec: {
      packageName: 'web', revision: n, valuesHash: SHA, phases: [], size: 0,
      source: { kind: 'OCIRepository', name: 'web', namespace: 'default', revision: `1.${n}.0@${SHA}`, digest: SHA },
    },
    ...(phase ? { status: { phase, message } } : {}),
  } as PackageRevision;
}

test('history: number, short source revision, status with the current one marked, age, message', (t) => {
  const text = historyTable([rev(1, 'Superseded'), rev(2, 'Available', 'healthy'), rev(3, 'Failed', 'web not ready'), rev(4, undefined)], 2, now);
  t.is(text, [
    'REVISION   SOURCE                      STATUS                AGE   MESSAGE',
    '1          1.1.0@sha256:3b2f1c0d9e8a   Superseded            1s',
    '2          1.2.0@sha256:3b2f1c0d9e8a   Available (current)   2s    healthy',
    '3          1.3.0@sha256:3b2f1c0d9e8a   Failed                3s    web not ready',
    '4          1.4.0@sha256:3b2f1c0d9e8a   Pending               4s',
    '',
  ].join('\n'));
});

test('inventory counts group by kind and API group, and count ids they cannot parse', (t) => {
  t.deepEqual(inventoryCounts([
    { id: 'default_web_apps_Deployment' }, { id: 'default_web__Service' }, { id: 'default_web-content__ConfigMap' },
    { id: 'default_other__ConfigMap' }, { id: '_shop__Namespace' }, { id: 'garbage' },
  ]), { ConfigMap: 2, 'Deployment.apps': 1, Namespace: 1, Service: 1, unknown: 1 });
});

test('status shows source, revision, pin, conditions, inventory and events', (t) => {
  const p = pkg('web', { ready: 'True', message: 'Applied revision 1.0.0', revision: `1.0.0@${SHA}`, current: 3, pinned: 1 });
  const text = formatStatus({
    package: p,
    source: {
      apiVersion: 'source.trellis.dev/v1alpha1', kind: 'OCIRepository', metadata: { name: 'web', namespace: 'default' },
      spec: { url: 'oci://127.0.0.1:5000/examples/web', ref: { semver: '^1' } },
      status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Succeeded', message: 'stored', lastTransitionTime: ago(1000) }] },
    } as never,
    inventory: { 'Deployment.apps': 1, Service: 1 },
    objects: [
      { kind: 'Deployment.apps', namespace: 'default', name: 'web', health: 'InProgress', message: 'Deployment web: 0/2 replicas available' },
      { kind: 'Service', namespace: 'default', name: 'web', health: 'Current', message: 'Service web: ready' },
    ],
    events: [{ type: 'Normal', reason: 'Applied', note: '3 created', reportingController: 'trellis.dev/apply-controller', eventTime: ago(5000), series: { count: 2 } }],
  }, now);
  t.regex(text, /^Name: +web$/m);
  t.regex(text, /^Source: +OCIRepository\/web +oci:\/\/127\.0\.0\.1:5000\/examples\/web +\(semver \^1\)$/m);
  t.regex(text, /^Revision: +3 +1\.0\.0@sha256:3b2f\S+ +\(pinned to revision 1\)$/m);
  t.regex(text, /^ +Ready +True +R +60s +Applied revision 1\.0\.0$/m);
  t.regex(text, /^Inventory: +2 objects$/m);
  t.regex(text, /^ +Deployment\.apps +1$/m);
  t.regex(text, /^Objects:\n +KIND +NAME +HEALTH +MESSAGE\n +Deployment\.apps +default\/web +InProgress +Deployment web: 0\/2 replicas available\n +Service +default\/web +Current +Service web: ready$/m);
  t.regex(text, /^ +Normal +Applied +5s \(x2\) +trellis\.dev\/apply-controller +3 created$/m);
});

test('status of a Package the controller has not seen yet', (t) => {
  const text = formatStatus({ package: pkg('web'), source: undefined, inventory: {}, objects: [], events: [] }, now);
  t.regex(text, /Source: +OCIRepository\/web +\(not found\)/);
  t.regex(text, /\(none yet: the apply controller has not reported\)/);
  t.regex(text, /Inventory: +0 objects\nEvents:\n +<none>/);
});

test('the diff report: marks, field lines, prune lines, and a summary', (t) => {
  const text = formatDiff({
    revision: `1.1.0@${SHA}`,
    changes: [
      { id: 'default_web_apps_Deployment', subject: 'Deployment/default/web', action: 'update', changes: [
        { path: '/spec/replicas', op: 'replace', from: 2, to: 3 },
        { path: '/metadata/labels/new', op: 'add', to: 'x' },
      ] },
      { id: 'default_extra__ConfigMap', subject: 'ConfigMap/default/extra', action: 'create', changes: [{ path: '/data', op: 'add', to: {} }] },
      { id: 'default_s__Secret', subject: 'Secret/default/s', action: 'update', changes: [{ path: '/data/password', op: 'replace', from: '***', to: '***' }] },
    ],
    prune: [{ id: 'default_old__ConfigMap', v: 'v1' }],
  });
  t.is(text, [
    '~ Deployment/default/web',
    '    ~ /spec/replicas: 2 -> 3',
    '    + /metadata/labels/new: "x"',
    '+ ConfigMap/default/extra',
    '~ Secret/default/s',
    '    ~ /data/password: "***" -> "***"',
    '- default_old__ConfigMap (pruned)',
    `1 to create, 2 to change, 1 to delete (source 1.1.0@${SHA})`,
    '',
  ].join('\n'));
});

test('objects render as YAML documents or a JSON List, without managedFields', (t) => {
  const objs = [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', managedFields: [{ manager: 'x' }] } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' } },
  ];
  t.is(renderObjects(objs, 'yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n');
  const list = JSON.parse(renderObjects(objs, 'json')) as { kind: string; items: { metadata: Record<string, unknown> }[] };
  t.is(list.kind, 'List');
  t.false('managedFields' in (list.items[0]?.metadata ?? {}));
  t.is((JSON.parse(renderObjects([objs[1] as object], 'json')) as { kind: string }).kind, 'ConfigMap');
});

test('progress: plain lines only when the state changes off a terminal; an in-place spinner on one', (t) => {
  const plain = captureTerminal();
  const p = startProgress(plain, 'waiting');
  p.update('waiting');
  p.update('applying');
  p.update('applying');
  p.done('done');
  t.is(plain.stderr(), 'waiting\napplying\ndone\n');
  t.is(plain.stdout(), '');

  let written = '';
  const tty: Terminal = { out: () => undefined, err: (s) => { written += s; }, color: true, interactive: true };
  const spinner = startProgress(tty, 'waiting');
  spinner.update('applying');
  spinner.done('finished');
  t.true(written.startsWith('\r\u001b[2K'), 'redraws in place');
  t.true(written.endsWith('\r\u001b[2Kfinished\n'), 'clears the spinner line before the result');
  t.false(written.includes('\n') && written.indexOf('\n') < written.length - 1, 'one line in the end');
});
