/**
 * The bodies sent to each Provider type, built from one {@link Notification}.
 * Only what the event and the object's status say publicly goes in: the
 * object, the reason, the (already redacted) note and the revision — no
 * Secret value, no spec.
 */
import type { EventCategory, ProviderType } from '../api.ts';
import type { Severity } from './categories.ts';

/** One event, ready to be sent. */
export interface Notification {
  readonly alert: { readonly namespace: string; readonly name: string };
  readonly summary?: string | undefined;
  readonly object: { readonly apiVersion: string; readonly kind: string; readonly namespace: string; readonly name: string; readonly uid: string };
  readonly severity: Severity;
  readonly category: EventCategory;
  readonly reason: string;
  readonly message: string;
  /** The revision the object's status names (applied, attempted, or the artifact's). */
  readonly revision?: string | undefined;
  readonly timestamp: string;
  readonly reportingController: string;
}

/** Provider options that shape a payload. */
export interface PayloadOptions {
  readonly channel?: string | undefined;
  readonly username?: string | undefined;
}

/** A body and its content type; undefined when the Provider type does not send this notification. */
export interface Payload {
  readonly body: string;
  readonly contentType: string;
}

/** `Package/team-a/web`. */
function subject(n: Notification): string {
  return `${n.object.kind}/${n.object.namespace}/${n.object.name}`;
}

/** The generic JSON body (the shape Flux's generic provider sends, plus category and revision). */
export function genericPayload(n: Notification): Payload {
  return {
    contentType: 'application/json',
    body: JSON.stringify({
      involvedObject: n.object,
      severity: n.severity,
      timestamp: n.timestamp,
      reason: n.reason,
      message: n.message,
      reportingController: n.reportingController,
      metadata: {
        category: n.category,
        alert: `${n.alert.namespace}/${n.alert.name}`,
        ...(n.revision !== undefined ? { revision: n.revision } : {}),
        ...(n.summary !== undefined ? { summary: n.summary } : {}),
      },
    }),
  };
}

const SLACK_COLORS: Readonly<Record<Severity, string>> = { info: 'good', error: 'danger' };

/** A Slack incoming-webhook body (also what Mattermost, Rocket.Chat and friends accept). */
export function slackPayload(n: Notification, options: PayloadOptions): Payload {
  const fields = [
    { title: 'Reason', value: n.reason, short: true },
    { title: 'Category', value: n.category, short: true },
    ...(n.revision !== undefined ? [{ title: 'Revision', value: n.revision, short: false }] : []),
  ];
  return {
    contentType: 'application/json',
    body: JSON.stringify({
      ...(options.channel ? { channel: options.channel } : {}),
      username: options.username ?? 'Trellis',
      text: `${n.severity === 'error' ? ':red_circle:' : ':large_green_circle:'} ${subject(n)}: ${n.reason}${n.summary ? ` (${n.summary})` : ''}`,
      attachments: [{ color: SLACK_COLORS[n.severity], title: subject(n), text: n.message, fields, ts: Math.floor(Date.parse(n.timestamp) / 1000) }],
    }),
  };
}

/**
 * An Alertmanager v2 `POST /api/v2/alerts` body. Alertmanager is for things
 * that fire and resolve: a failure fires an alert labelled with the object,
 * a recovery resolves it (same labels, `endsAt` now). Other events are not
 * sent (undefined).
 */
export function alertmanagerPayload(n: Notification): Payload | undefined {
  if (n.severity !== 'error' && n.category !== 'recovered') return undefined;
  const labels = {
    alertname: `Trellis${n.object.kind}Failed`, severity: 'error',
    namespace: n.object.namespace, name: n.object.name, kind: n.object.kind,
  };
  const annotations = {
    reason: n.reason, message: n.message, category: n.category,
    ...(n.revision !== undefined ? { revision: n.revision } : {}), ...(n.summary !== undefined ? { summary: n.summary } : {}),
  };
  const resolved = n.category === 'recovered';
  return {
    contentType: 'application/json',
    body: JSON.stringify([{ labels, annotations, startsAt: n.timestamp, ...(resolved ? { endsAt: n.timestamp } : {}) }]),
  };
}

/** The body a Provider of `type` sends for `n`. */
export function payloadFor(type: ProviderType, n: Notification, options: PayloadOptions = {}): Payload | undefined {
  switch (type) {
    case 'generic':
    case 'generic-hmac':
      return genericPayload(n);
    case 'slack':
      return slackPayload(n, options);
    case 'alertmanager':
      return alertmanagerPayload(n);
  }
}
