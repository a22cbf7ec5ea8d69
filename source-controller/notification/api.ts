/**
 * The notification API, group `notification.trellis.dev/v1alpha1`: Receiver
 * (webhook endpoints that request reconciles of sources), Provider (where
 * alerts go) and Alert (which Package and source events go to a Provider).
 * The kinds follow Flux's notification-controller in shape; where Trellis is
 * stricter (secrets required, no cross-namespace references) docs/notifications.md
 * says so. Types and CRDs come from these schemas (`npm run crds`).
 */
import { defineResource, s, type CustomObject, type Infer, type Input } from '../../runtime/schema.ts';

/** The API group of the notification kinds. */
export const NOTIFICATION_GROUP = 'notification.trellis.dev';
/** The version of the notification kinds. */
export const NOTIFICATION_VERSION = 'v1alpha1';

/** Receiver types: how a request proves it comes from the sender that holds the token. */
export const RECEIVER_TYPES = ['generic', 'generic-hmac', 'github', 'gitlab', 'registry'] as const;
/** One of {@link RECEIVER_TYPES}. */
export type ReceiverType = (typeof RECEIVER_TYPES)[number];

/** Provider types: the payload shape sent. */
export const PROVIDER_TYPES = ['generic', 'generic-hmac', 'slack', 'alertmanager'] as const;
/** One of {@link PROVIDER_TYPES}. */
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/**
 * What an event means for people, derived from its reason and type (see
 * alerts/categories.ts). Alerts may select categories.
 */
export const EVENT_CATEGORIES = ['failed', 'recovered', 'rolledBack', 'driftDetected', 'driftCorrected', 'applied', 'progressing', 'deleted'] as const;
/** One of {@link EVENT_CATEGORIES}. */
export type EventCategory = (typeof EVENT_CATEGORIES)[number];

/** Kinds whose events an Alert can select. */
export const ALERT_SOURCE_KINDS = ['Package', 'GitRepository', 'OCIRepository'] as const;

const localRef = (description: string) => s.object({
  name: s.objectName({ description: 'Name of the object, in the namespace of this one.' }),
}, { required: ['name'], description });

const labels = (description: string) => s.map(s.string({ maxLength: 63 }), { description });
const suspend = s.boolean({ default: false, description: 'When true the controller leaves this object alone.' });

/** A status with conditions only. */
const notificationStatus = s.object({
  observedGeneration: s.integer({ minimum: 0, description: 'The .metadata.generation the status was computed for.' }),
  conditions: s.conditions(),
}, { description: 'What the controller observed and did.' });

const columns = [
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Status', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].message' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
] as const;

/** `Receiver.spec`. */
export const receiverSpecSchema = s.object({
  type: s.enum(RECEIVER_TYPES, {
    description: 'How requests are verified: `generic` (header `Authorization: Bearer <token>`), `generic-hmac` '
      + '(header `X-Signature: sha256=<HMAC-SHA256 of the body>`), `github` (`X-Hub-Signature-256`), `gitlab` '
      + '(`X-Gitlab-Token`), `registry` (a Distribution registry notification, `Authorization: Bearer <token>`).',
  }),
  events: s.array(s.string({ minLength: 1, maxLength: 64 }), {
    maxItems: 32,
    description: 'Event types that request a reconcile (`X-GitHub-Event` for github, default `push`; `X-Gitlab-Event` '
      + 'for gitlab, default `Push Hook` and `Tag Push Hook`; the notification action for registry, default `push`). '
      + 'Other events are answered without work. Ignored by the generic types.',
  }),
  resources: s.array(s.object({
    kind: s.enum(['GitRepository', 'OCIRepository'], { description: 'Kind of the sources.' }),
    name: s.objectName({ description: 'One source by name; exactly one of name and matchLabels.' }),
    matchLabels: labels('Every source of the kind in this namespace with these labels; exactly one of name and matchLabels.'),
  }, { required: ['kind'] }), {
    minItems: 1, maxItems: 64, description: 'The sources, in the Receiver\'s namespace, a verified request asks to reconcile.',
  }),
  secretRef: localRef('Secret with the key `token` (at least 16 characters): the shared secret senders prove they hold; it also derives the webhook path.'),
  interval: s.duration({ default: '10m', description: 'How often the Secret is read again (a new token gives a new path).' }),
  suspend,
}, { required: ['type', 'resources', 'secretRef'], description: 'Which sources a verified webhook request reconciles.' });

/** The spec of a Receiver as read from the apiserver. */
export type ReceiverSpec = Infer<typeof receiverSpecSchema>;
/** The spec of a Receiver as a client writes it. */
export type ReceiverSpecInput = Input<typeof receiverSpecSchema>;

/** `Receiver.status`. */
export const receiverStatusSchema = s.object({
  observedGeneration: s.integer({ minimum: 0, description: 'The .metadata.generation the status was computed for.' }),
  conditions: s.conditions(),
  webhookPath: s.string({ pattern: '^/hook/[a-f0-9]{64}$', description: 'The path, on the receiver address, that accepts requests for this Receiver.' }),
}, { description: 'What the controller observed and did.' });

/** The status of a Receiver. */
export type ReceiverStatus = Infer<typeof receiverStatusSchema>;

/** The Receiver kind. */
export const receiverResource = defineResource({
  group: NOTIFICATION_GROUP, version: NOTIFICATION_VERSION, kind: 'Receiver', plural: 'receivers',
  shortNames: ['rcv'], categories: ['trellis'],
  description: 'Receiver accepts verified webhook requests and asks for an immediate reconcile of the sources it names.',
  spec: receiverSpecSchema, status: receiverStatusSchema,
  printerColumns: [...columns.slice(0, 2), { name: 'Path', type: 'string', jsonPath: '.status.webhookPath', priority: 1 }, columns[2]],
});

/** A Receiver object. */
export type Receiver = CustomObject<ReceiverSpec, ReceiverStatus>;

/** `Provider.spec`. */
export const providerSpecSchema = s.object({
  type: s.enum(PROVIDER_TYPES, {
    description: '`generic` (JSON event), `generic-hmac` (the same, signed: `X-Signature: sha256=<HMAC of the body with the token>`), '
      + '`slack` (Slack-compatible incoming webhook), `alertmanager` (Alertmanager v2 alerts API).',
  }),
  address: s.string({
    pattern: '^https?://[^\\s]+$', maxLength: 2048,
    description: 'Where to POST; omit when the Secret holds it (key `address`, which wins). Webhook URLs that embed a token belong in the Secret.',
  }),
  channel: s.string({ maxLength: 255, description: 'Slack channel (slack only).' }),
  username: s.string({ maxLength: 255, description: 'Name shown as the sender (slack only).' }),
  secretRef: localRef('Secret with `address` and/or `token` (sent as `Authorization: Bearer` for generic, slack and alertmanager; the HMAC key for generic-hmac).'),
  timeout: s.duration({ default: '15s', description: 'Time limit of one delivery attempt.' }),
  suspend,
}, { required: ['type'], description: 'Where and how alerts are sent.' });

/** The spec of a Provider as read from the apiserver. */
export type ProviderSpec = Infer<typeof providerSpecSchema>;
/** The spec of a Provider as a client writes it. */
export type ProviderSpecInput = Input<typeof providerSpecSchema>;
/** The status of a Provider or an Alert. */
export type NotificationStatus = Infer<typeof notificationStatus>;

/** The Provider kind. */
export const providerResource = defineResource({
  group: NOTIFICATION_GROUP, version: NOTIFICATION_VERSION, kind: 'Provider', plural: 'providers',
  shortNames: [], categories: ['trellis'],
  description: 'Provider is an endpoint alerts are delivered to: a generic JSON webhook, a Slack-compatible webhook or Alertmanager.',
  spec: providerSpecSchema, status: notificationStatus, printerColumns: columns,
});

/** A Provider object. */
export type Provider = CustomObject<ProviderSpec, NotificationStatus>;

/** `Alert.spec`. */
export const alertSpecSchema = s.object({
  providerRef: localRef('The Provider, in the Alert\'s namespace, that delivers the events.'),
  eventSeverity: s.enum(['info', 'error'], {
    default: 'info', description: '`info`: every event; `error`: failures (Warning events) and the recoveries that follow them.',
  }),
  eventSources: s.array(s.object({
    kind: s.enum(ALERT_SOURCE_KINDS, { description: 'Kind of the objects whose events are sent.' }),
    name: s.string({ minLength: 1, maxLength: 253, description: 'Name of the object, or `*` for every object of the kind (default `*`).' }),
    matchLabels: labels('Only objects with these labels.'),
  }, { required: ['kind'] }), {
    minItems: 1, maxItems: 64, description: 'Objects, in the Alert\'s namespace, whose events are sent.',
  }),
  categories: s.array(s.enum(EVENT_CATEGORIES), {
    maxItems: EVENT_CATEGORIES.length, description: 'Only events of these categories (default: all).',
  }),
  summary: s.string({ maxLength: 255, description: 'A line added to every notification (the cluster or team it is about).' }),
  suspend,
}, { required: ['providerRef', 'eventSources'], description: 'Which events go to which Provider.' });

/** The spec of an Alert as read from the apiserver. */
export type AlertSpec = Infer<typeof alertSpecSchema>;
/** The spec of an Alert as a client writes it. */
export type AlertSpecInput = Input<typeof alertSpecSchema>;

/** The Alert kind. */
export const alertResource = defineResource({
  group: NOTIFICATION_GROUP, version: NOTIFICATION_VERSION, kind: 'Alert', plural: 'alerts',
  shortNames: [], categories: ['trellis'],
  description: 'Alert sends the events of Packages and sources to a Provider, filtered by severity, kind, name and category.',
  spec: alertSpecSchema, status: notificationStatus, printerColumns: columns,
});

/** An Alert object. */
export type Alert = CustomObject<AlertSpec, NotificationStatus>;
