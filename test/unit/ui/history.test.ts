// The revision timeline and the diff of two revisions, from records alone (their objects are sealed).
import test from 'ava';
import type { Package, PackageRevision } from '../../../apply-controller/index.ts';
import { diffRevisions, timeline } from '../../../ui/server/history.ts';
import { phaseGroups } from '../../../ui/server/package-detail.ts';

function revision(n: number, phase: string, source: string, valuesHash: string, phases: { name: string; count: number; objects: string }[]): PackageRevision {
  return {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'PackageRevision',
    metadata: { name: `web-${n}`, namespace: 'ns', creationTimestamp: `2026-12-0${n}T00:00:00Z`, annotations: { 'apply.trellis.dev/revision-key': 'k1' } },
    spec: { packageName: 'web', revision: n, source: { kind: 'OCIRepository', name: 'web', namespace: 'ns', revision: source, digest: `sha256:${String(n).repeat(64)}` }, valuesHash, phases },
    status: { phase },
  } as unknown as PackageRevision;
}

const revisions = [
  revision(1, 'Superseded', '1.0.0@sha256:aa', 'sha256:v1', [{ name: 'config', count: 1, objects: 'A' }, { name: 'apps', count: 1, objects: 'B' }]),
  revision(2, 'Available', '1.1.0@sha256:bb', 'sha256:v1', [{ name: 'config', count: 2, objects: 'C' }, { name: 'apps', count: 1, objects: 'B' }]),
  revision(3, 'Failed', '1.2.0@sha256:cc', 'sha256:v2', [{ name: 'apps', count: 1, objects: 'D' }]),
];

function pkg(current: number, extra: Partial<Package['spec']> = {}, rolledBack = false): Package {
  return {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name: 'web', namespace: 'ns' },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'web' }, ...extra },
    status: {
      currentRevision: current,
      conditions: rolledBack ? [{ type: 'RolledBack', status: 'True', reason: 'RolledBack', message: 'm', lastTransitionTime: '2026-12-03T00:00:00Z' }] : [],
    },
  } as unknown as Package;
}

test('the timeline is newest first, marks the current revision, values changes and a rollback', (t) => {
  const entries = timeline(pkg(2, {}, true), revisions);
  t.deepEqual(entries.map((e) => [e.revision, e.phase, e.current, e.valuesChanged, e.rolledBackTo]),
    [[3, 'Failed', false, true, false], [2, 'Available', true, false, true], [1, 'Superseded', false, false, false]]);
  t.false(timeline(pkg(3), revisions).some((e) => e.rolledBackTo), 'running the newest revision is no rollback');
  t.true(timeline(pkg(1, { rollback: { revision: 1 } } as Partial<Package['spec']>), revisions).find((e) => e.revision === 1)?.pinned);
});

test('two revisions differ by source, digest, values and per-phase content', (t) => {
  const d = diffRevisions(revisions[0] as PackageRevision, revisions[1] as PackageRevision);
  t.true(d.source.changed);
  t.false(d.valuesChanged);
  t.deepEqual(d.phases, [
    { name: 'config', fromCount: 1, toCount: 2, change: 'changed' },
    { name: 'apps', fromCount: 1, toCount: 1, change: 'unchanged' },
  ]);
  t.deepEqual(diffRevisions(revisions[1] as PackageRevision, revisions[2] as PackageRevision).phases.map((p) => `${p.name}:${p.change}`), ['config:removed', 'apps:changed']);
  t.false(d.keysDiffer);
});

test('the inventory is cut into the revision\'s phases in apply order', (t) => {
  const inventory = ['ns_a__ConfigMap', 'ns_b__ConfigMap', 'ns_web_apps_Deployment', 'ns_old__ConfigMap'].map((id) => ({ id, v: 'v1' }));
  const groups = phaseGroups(inventory, revisions[1]);
  t.deepEqual(groups.map((g) => [g.name, g.entries.map((e) => e.id)]), [
    ['config', ['ns_a__ConfigMap', 'ns_b__ConfigMap']],
    ['apps', ['ns_web_apps_Deployment']],
    ['from an earlier revision', ['ns_old__ConfigMap']],
  ]);
  t.deepEqual(phaseGroups(inventory.slice(0, 1), undefined).map((g) => g.name), ['objects']);
});
