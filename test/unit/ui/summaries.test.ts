// What the overview shows of Packages and sources: the state word, masked values and messages.
import test from 'ava';
import type { Package } from '../../../apply-controller/index.ts';
import { eventView, packageRow, stateOf } from '../../../ui/server/summaries.ts';
import { parseActionInput, commandLine } from '../../../ui/server/actions.ts';

const at = '2026-12-03T00:00:00Z';
const cond = (type: string, status: string, message = '') => ({ type, status, reason: type, message, lastTransitionTime: at });

function pkg(conditions: ReturnType<typeof cond>[], spec: Record<string, unknown> = {}, generation = 1, observed = 1): Package {
  return {
    apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', metadata: { name: 'web', namespace: 'ns', generation },
    spec: { sourceRef: { kind: 'OCIRepository', name: 'web' }, ...spec },
    status: { conditions, observedGeneration: observed },
  } as unknown as Package;
}

test('the state follows kstatus: Stalled, then Reconciling, then Ready; suspended says so', (t) => {
  t.is(stateOf(pkg([cond('Ready', 'True')])), 'Ready');
  t.is(stateOf(pkg([cond('Ready', 'False'), cond('Stalled', 'True')])), 'Stalled');
  t.is(stateOf(pkg([cond('Ready', 'Unknown'), cond('Reconciling', 'True')])), 'Reconciling');
  t.is(stateOf(pkg([cond('Ready', 'False')])), 'Failed');
  t.is(stateOf(pkg([cond('Ready', 'True')], {}, 2, 1)), 'Reconciling', 'a status about an older generation is not Ready');
  t.is(stateOf(pkg([cond('Ready', 'True')], { suspend: true })), 'Suspended');
  t.is(stateOf(pkg([])), 'Unknown');
});

test('rows carry redacted messages and never values', (t) => {
  const row = packageRow(pkg([cond('Ready', 'False', 'pull from https://bob:hunter2@registry.example/x failed')], { values: { password: 'hunter2' } }));
  t.notRegex(JSON.stringify(row), /hunter2/);
  t.is(eventView({ reason: 'Applied', note: 'token=abc123 set', involvedObject: { kind: 'Package', name: 'web', namespace: 'ns' } }).message, 'token=[REDACTED] set');
});

test('action bodies are checked and named as the CLI command', (t) => {
  t.deepEqual(parseActionInput('rollback', { to: 3 }), { to: 3 });
  t.throws(() => parseActionInput('suspend', { to: 3 }));
  t.throws(() => parseActionInput('rollback', { to: '3; rm -rf /' }));
  t.throws(() => parseActionInput('reconcile', { withSource: 'yes' }));
  t.is(commandLine('unpin', 'shop', 'web', {}), 'kubectl package rollback web -n shop --unpin');
  t.is(commandLine('reconcile', 'shop', 'web', { withSource: true }), 'kubectl package reconcile web -n shop --with-source');
});
