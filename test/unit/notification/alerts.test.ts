// Alerts on plain data: Events become categories and severities, Alerts select
// by severity, kind, name, labels and category, and each Provider type gets
// the body its receiver expects, naming the object, revision, reason and message.
import test from 'ava';
import type { Alert, AlertSpec } from '../../../source-controller/notification/api.ts';
import { alertSelects, categorize, type ObservedEvent } from '../../../source-controller/notification/alerts/categories.ts';
import { observeEvent, revisionOf } from '../../../source-controller/notification/alerts/dispatcher.ts';
import { payloadFor, type Notification } from '../../../source-controller/notification/alerts/payloads.ts';

const event = (type: 'Normal' | 'Warning', reason: string, kind = 'Package', name = 'web'): ObservedEvent => ({
  eventUid: 'e1', type, reason, note: `${reason} happened`, time: '2026-12-03T10:00:00.000000Z', reportingController: 'trellis.dev/apply-controller',
  object: { apiVersion: 'apply.trellis.dev/v1alpha1', kind, namespace: 'team', name, uid: 'u1' },
});

const alert = (spec: Partial<AlertSpec>, namespace = 'team'): Alert => ({
  apiVersion: 'notification.trellis.dev/v1alpha1', kind: 'Alert', metadata: { name: 'a', namespace },
  spec: { providerRef: { name: 'p' }, eventSeverity: 'info', eventSources: [{ kind: 'Package' }], suspend: false, ...spec },
});

test('categories: failures, rollbacks, drift, new revisions, and a recovery after a failure', (t) => {
  t.is(categorize(event('Warning', 'HealthCheckFailed'), false), 'failed');
  t.is(categorize(event('Warning', 'RolledBack'), false), 'rolledBack');
  t.is(categorize(event('Warning', 'DriftDetected'), false), 'driftDetected');
  t.is(categorize(event('Normal', 'DriftCorrected'), false), 'driftCorrected');
  t.is(categorize(event('Normal', 'Applied'), false), 'applied');
  t.is(categorize(event('Normal', 'Applied'), true), 'recovered');
  t.is(categorize(event('Normal', 'NewArtifact'), true), 'recovered');
  t.is(categorize(event('Normal', 'Progressing'), true), 'progressing');
});

test('an Alert selects by namespace, kind, name, labels, severity and category', (t) => {
  const failed = event('Warning', 'ApplyFailed');
  const applied = event('Normal', 'Applied');
  t.true(alertSelects(alert({}), failed, 'failed', {}));
  t.false(alertSelects(alert({}, 'other'), failed, 'failed', {}), 'another namespace');
  t.false(alertSelects(alert({ suspend: true }), failed, 'failed', {}));
  t.false(alertSelects(alert({ eventSources: [{ kind: 'OCIRepository' }] }), failed, 'failed', {}));
  t.true(alertSelects(alert({ eventSources: [{ kind: 'Package', name: 'web' }] }), failed, 'failed', {}));
  t.false(alertSelects(alert({ eventSources: [{ kind: 'Package', name: 'api' }] }), failed, 'failed', {}));
  t.true(alertSelects(alert({ eventSources: [{ kind: 'Package', name: '*', matchLabels: { tier: 'front' } }] }), failed, 'failed', { tier: 'front', x: 'y' }));
  t.false(alertSelects(alert({ eventSources: [{ kind: 'Package', matchLabels: { tier: 'front' } }] }), failed, 'failed', { tier: 'back' }));
  t.false(alertSelects(alert({ eventSeverity: 'error' }), applied, 'applied', {}), 'error severity: no info events');
  t.true(alertSelects(alert({ eventSeverity: 'error' }), applied, 'recovered', {}), '... but the recovery after a failure');
  t.true(alertSelects(alert({ categories: ['rolledBack'] }), failed, 'rolledBack', {}));
  t.false(alertSelects(alert({ categories: ['rolledBack'] }), failed, 'failed', {}));
});

test('only Trellis controllers\' Events about Packages and sources are observed', (t) => {
  const base = {
    apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { uid: 'e' }, type: 'Warning', reason: 'ApplyFailed', note: 'x',
    eventTime: '2026-12-03T10:00:00.000000Z', reportingController: 'trellis.dev/apply-controller',
    regarding: { apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: 'team', name: 'web', uid: 'u' },
  };
  t.like(observeEvent(base), { type: 'Warning', object: { kind: 'Package', name: 'web' } });
  t.is(observeEvent({ ...base, reportingController: 'kubelet' }), undefined);
  t.is(observeEvent({ ...base, regarding: { ...base.regarding, kind: 'Provider', apiVersion: 'notification.trellis.dev/v1alpha1' } }), undefined,
    'the dispatcher\'s own Events about Providers never loop back');
  t.is(observeEvent({ ...base, regarding: { ...base.regarding, apiVersion: 'apps/v1', kind: 'Deployment' } }), undefined);
});

test('the revision: the artifact for sources, attempted for failures and applied otherwise for Packages', (t) => {
  const pkg = { status: { lastAppliedRevision: '1.0.0@sha256:a', lastAttemptedRevision: '1.1.0@sha256:b' } };
  t.is(revisionOf(pkg, true), '1.1.0@sha256:b');
  t.is(revisionOf(pkg, false), '1.0.0@sha256:a');
  t.is(revisionOf({ status: { artifact: { revision: 'main@sha1:c' } } }, false), 'main@sha1:c');
  t.is(revisionOf(undefined, false), undefined);
});

const n = (severity: 'info' | 'error', category: Notification['category']): Notification => ({
  alert: { namespace: 'team', name: 'a' }, summary: 'prod-eu', severity, category, reason: 'HealthCheckFailed', message: 'Deployment/web: 0/2 ready',
  revision: '1.1.0@sha256:b', timestamp: '2026-12-03T10:00:00.000Z', reportingController: 'trellis.dev/apply-controller',
  object: { apiVersion: 'apply.trellis.dev/v1alpha1', kind: 'Package', namespace: 'team', name: 'web', uid: 'u1' },
});

test('payloads name the Package, revision, reason and message', (t) => {
  const generic = JSON.parse(payloadFor('generic', n('error', 'failed'))!.body) as Record<string, unknown>;
  t.like(generic, {
    involvedObject: { kind: 'Package', namespace: 'team', name: 'web' }, severity: 'error', reason: 'HealthCheckFailed',
    message: 'Deployment/web: 0/2 ready', metadata: { revision: '1.1.0@sha256:b', category: 'failed', summary: 'prod-eu' },
  });
  const slack = JSON.parse(payloadFor('slack', n('error', 'failed'), { channel: '#ops' })!.body) as { channel: string; text: string; attachments: { color: string; text: string; fields: { value: string }[] }[] };
  t.is(slack.channel, '#ops');
  t.regex(slack.text, /Package\/team\/web: HealthCheckFailed/);
  t.is(slack.attachments[0]?.color, 'danger');
  t.true(slack.attachments[0]?.fields.some((f) => f.value === '1.1.0@sha256:b'));
  const fired = JSON.parse(payloadFor('alertmanager', n('error', 'failed'))!.body) as { labels: Record<string, string>; endsAt?: string }[];
  t.like(fired[0], { labels: { alertname: 'TrellisPackageFailed', name: 'web', namespace: 'team' } });
  t.is(fired[0]?.endsAt, undefined);
  const resolved = JSON.parse(payloadFor('alertmanager', n('info', 'recovered'))!.body) as { labels: Record<string, string>; endsAt?: string }[];
  t.deepEqual(resolved[0]?.labels, fired[0]?.labels, 'a recovery resolves the alert the failure fired');
  t.truthy(resolved[0]?.endsAt);
  t.is(payloadFor('alertmanager', n('info', 'applied')), undefined, 'Alertmanager gets failures and recoveries only');
});
