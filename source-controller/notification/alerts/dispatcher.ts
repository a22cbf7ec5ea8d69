/**
 * The alert dispatcher: watches the Events the Trellis controllers record
 * (events.k8s.io/v1, reporting controller `trellis.dev/…`) about Packages and
 * sources, and sends each one that an Alert selects to the Alert's Provider.
 *
 * - Only Events recorded after the dispatcher started are sent (a restart or
 *   a new leader does not replay the last hour); a repeat the recorder counts
 *   on an existing Event (`series`) is an update, not a new Event, and is not
 *   sent again; the same reason and message for the same object and Alert
 *   within `dedupWindowMs` is sent once.
 * - Deliveries to one Provider go one at a time, in order, with retries and
 *   exponential backoff (network errors, 5xx, 429); at most `maxQueued` wait,
 *   further ones are dropped and counted. A delivery that gives up sets the
 *   Provider's `Ready=False` (`DeliveryFailed`, naming the host and the last
 *   error) and records a Warning Event on it; the next success sets it back.
 * - Alerts and Providers get `Ready` when they are created or changed: an
 *   Alert whose Provider is missing says `ProviderNotFound`; a Provider whose
 *   Secret or address is unusable says why.
 */
import { Counter, type Registry } from 'prom-client';
import type { EventRecorder } from '../../../runtime/events.ts';
import { Informer } from '../../../runtime/informer.ts';
import type { KubeClient } from '../../../runtime/kube.ts';
import { createLogger, type Logger } from '../../../runtime/logging.ts';
import type { Runnable } from '../../../runtime/manager.ts';
import type { KubeObject } from '../../../runtime/object.ts';
import { errorMessage, redactString, REDACTED } from '../../../runtime/redact.ts';
import type { HostPolicy } from '../../net/host-policy.ts';
import { ALERT_SOURCE_KINDS, alertResource, providerResource, type Alert, type Provider } from '../api.ts';
import { writeReadiness, type Readiness } from '../status.ts';
import { ALERT_GROUPS, alertSelects, categorize, isFailing, severityOf, type ObservedEvent } from './categories.ts';
import { originOf, postWithRetries, type RetrySettings } from './deliver.ts';
import { payloadFor, type Notification } from './payloads.ts';
import { ProviderProblem, resolveProvider } from './provider.ts';

/** How deliveries are retried, bounded and de-duplicated. */
export interface DeliverySettings extends RetrySettings {
  /** Deliveries waiting per Provider before new ones are dropped. */
  readonly maxQueued: number;
  /** The same event for the same object and Alert within this window is sent once. */
  readonly dedupWindowMs: number;
}

/** The defaults: 5 attempts over about 30 s. */
export const DEFAULT_DELIVERY: DeliverySettings = {
  attempts: 5, baseDelayMs: 2_000, maxDelayMs: 60_000, maxQueued: 256, dedupWindowMs: 10 * 60_000,
};

/** Options of {@link alertDispatcher}. */
export interface AlertDispatcherOptions {
  readonly client: KubeClient;
  readonly namespace?: string | undefined;
  readonly logger?: Logger | undefined;
  readonly events?: EventRecorder | undefined;
  readonly registry?: Registry | undefined;
  readonly hostPolicy: HostPolicy;
  readonly delivery?: Partial<DeliverySettings> | undefined;
}

/** Distinct objects and (alert, object) pairs remembered. */
const MEMORY = 4096;

/** A Map that forgets its oldest entries beyond {@link MEMORY}. */
function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > MEMORY) {
    const oldest = map.keys().next();
    if (oldest.done) break;
    map.delete(oldest.value);
  }
}

interface EventObject extends KubeObject {
  type?: string;
  reason?: string;
  note?: string;
  eventTime?: string;
  reportingController?: string;
  regarding?: { apiVersion?: string; kind?: string; namespace?: string; name?: string; uid?: string };
}

/** The parts of an Event the dispatcher reads, or undefined for events it never sends. */
export function observeEvent(e: EventObject): ObservedEvent | undefined {
  const r = e.regarding;
  if (!e.reportingController?.startsWith('trellis.dev/') || !r?.apiVersion || !r.kind || !r.name || !r.namespace) return undefined;
  if (!ALERT_GROUPS.includes(r.apiVersion.split('/')[0] ?? '') || !(ALERT_SOURCE_KINDS as readonly string[]).includes(r.kind)) return undefined;
  if (e.type !== 'Normal' && e.type !== 'Warning') return undefined;
  return {
    eventUid: e.metadata?.uid ?? '', type: e.type, reason: e.reason ?? '', note: e.note ?? '',
    time: e.eventTime ?? e.metadata?.creationTimestamp ?? new Date().toISOString(), reportingController: e.reportingController,
    object: { apiVersion: r.apiVersion, kind: r.kind, namespace: r.namespace, name: r.name, uid: r.uid ?? '' },
  };
}

/** Only what the dispatcher reads of an Event is cached. */
function slimEvent(obj: KubeObject): KubeObject {
  const e = obj as EventObject;
  return {
    apiVersion: e.apiVersion, kind: e.kind,
    metadata: { name: e.metadata?.name, namespace: e.metadata?.namespace, uid: e.metadata?.uid, resourceVersion: e.metadata?.resourceVersion, creationTimestamp: e.metadata?.creationTimestamp },
    type: e.type, reason: e.reason, note: e.note, eventTime: e.eventTime, reportingController: e.reportingController, regarding: e.regarding,
  } as KubeObject;
}

interface StatusOf { status?: { lastAppliedRevision?: string; lastAttemptedRevision?: string; artifact?: { revision?: string } } }

/** The revision an object's status names for an event of `category`. */
export function revisionOf(obj: (KubeObject & StatusOf) | undefined, failed: boolean): string | undefined {
  const s = obj?.status;
  if (!s) return undefined;
  if (s.artifact?.revision) return s.artifact.revision;
  return failed ? s.lastAttemptedRevision ?? s.lastAppliedRevision : s.lastAppliedRevision ?? s.lastAttemptedRevision;
}

interface Queue { chain: Promise<void>; pending: number }

/** The dispatcher; a Runnable for the Manager (it runs on the leader only). */
class AlertDispatcher implements Runnable {
  readonly kind = 'Alert';
  readonly #o: AlertDispatcherOptions;
  readonly #settings: DeliverySettings;
  readonly #log: Logger;
  readonly #alerts: Informer<Alert>;
  readonly #providers: Informer<Provider>;
  readonly #events: Informer<EventObject>;
  readonly #abort = new AbortController();
  readonly #queues = new Map<string, Queue>();
  readonly #failing = new Map<string, boolean>();
  readonly #lastSent = new Map<string, { what: string; at: number }>();
  readonly #deliveries: Counter<'provider_type' | 'result'>;
  #status: Promise<void> = Promise.resolve();
  #startedAt = Number.POSITIVE_INFINITY;

  constructor(o: AlertDispatcherOptions) {
    this.#o = o;
    this.#settings = { ...DEFAULT_DELIVERY, ...o.delivery };
    this.#log = (o.logger ?? createLogger()).child({ controller: 'Alert' });
    const ns = o.namespace ? { namespace: o.namespace } : {};
    const onError = (err: unknown): void => this.#log.warn({ err: errorMessage(err) }, 'watch failed; retrying');
    this.#alerts = new Informer<Alert>(o.client, { apiVersion: alertResource.apiVersion, kind: alertResource.kind, ...ns, onError });
    this.#providers = new Informer<Provider>(o.client, { apiVersion: providerResource.apiVersion, kind: providerResource.kind, ...ns, onError });
    this.#events = new Informer<EventObject>(o.client, { apiVersion: 'events.k8s.io/v1', kind: 'Event', ...ns, onError, transform: slimEvent });
    this.#deliveries = new Counter({
      name: 'trellis_alert_deliveries_total', help: 'Alert deliveries, by Provider type and result (delivered, failed, dropped).',
      labelNames: ['provider_type', 'result'] as const, registers: o.registry ? [o.registry] : [],
    });
  }

  async start(): Promise<void> {
    this.#startedAt = Date.now();
    const changed = (a: KubeObject, b: KubeObject): boolean => a.metadata?.generation !== b.metadata?.generation;
    this.#alerts.on({ add: (a) => this.#assessAlert(a), update: (a, b) => { if (changed(a, b)) this.#assessAlert(b); } });
    this.#providers.on({
      add: (p) => this.#assessProvider(p),
      update: (a, b) => { if (changed(a, b)) this.#assessProvider(b); },
      delete: (p) => { for (const a of this.#alertsOf(p)) this.#assessAlert(a); },
    });
    this.#events.on({ add: (e) => this.#onEvent(e) });
    await Promise.all([this.#alerts.start(), this.#providers.start(), this.#events.start()]);
    this.#log.info('caches synced; sending alerts');
  }

  abortInFlight(): void {
    this.#abort.abort();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.all([this.#alerts.stop(), this.#providers.stop(), this.#events.stop()]);
    await Promise.all([...this.#queues.values()].map((q) => q.chain));
    await this.#status;
    this.#log.info('stopped');
  }

  #alertsOf(p: Provider): Alert[] {
    return this.#alerts.list().filter((a) => a.metadata.namespace === p.metadata.namespace && a.spec.providerRef.name === p.metadata.name);
  }

  /** Serializes status writes, logging (never throwing) failures. */
  #writeStatus(obj: Alert | Provider, readiness: Readiness): void {
    this.#status = this.#status.then(() => writeReadiness(this.#o.client, obj, readiness)).then(() => undefined, (err: unknown) => {
      this.#log.warn({ err: errorMessage(err), object: `${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}` }, 'could not write status');
    });
  }

  #assessAlert(alert: Alert): void {
    const ref = alert.spec.providerRef.name;
    if (alert.spec.suspend) return this.#writeStatus(alert, { ready: false, reason: 'Suspended', message: 'suspended: no events are sent' });
    const provider = this.#providers.get(`${alert.metadata.namespace ?? ''}/${ref}`);
    this.#writeStatus(alert, provider
      ? { ready: true, message: `sending to Provider ${ref}` }
      : { ready: false, reason: 'ProviderNotFound', message: `Provider ${alert.metadata.namespace ?? ''}/${ref} not found` });
  }

  #assessProvider(provider: Provider): void {
    for (const a of this.#alertsOf(provider)) this.#assessAlert(a);
    if (provider.spec.suspend) return this.#writeStatus(provider, { ready: false, reason: 'Suspended', message: 'suspended: nothing is sent' });
    resolveProvider(this.#o.client, provider).then((r) => {
      this.#o.hostPolicy.checkUrl(r.url);
      this.#writeStatus(provider, { ready: true, message: `sending to ${originOf(r.url)}` });
    }).catch((err: unknown) => {
      const reason = err instanceof ProviderProblem ? err.reason : (err as Error).name === 'HostDeniedError' ? 'HostDenied' : 'ProviderError';
      this.#writeStatus(provider, { ready: false, stalled: reason === 'InvalidSpec', reason, message: errorMessage(err) });
    });
  }

  #onEvent(e: EventObject): void {
    const ev = observeEvent(e);
    // An unreadable time counts as old: replaying the past is worse than missing one event.
    if (!ev || !(Date.parse(ev.time) >= this.#startedAt - 1_000)) return;
    this.#dispatch(ev).catch((err: unknown) => this.#log.warn({ err: errorMessage(err) }, 'could not dispatch an event'));
  }

  async #dispatch(ev: ObservedEvent): Promise<void> {
    const category = categorize(ev, this.#failing.get(ev.object.uid) ?? false);
    if (isFailing(category)) remember(this.#failing, ev.object.uid, true);
    else if (category === 'applied' || category === 'recovered') remember(this.#failing, ev.object.uid, false);
    const alerts = this.#alerts.list().filter((a) => a.metadata.namespace === ev.object.namespace && !a.spec.suspend);
    if (alerts.length === 0) return;
    const obj = await this.#o.client.get<KubeObject & StatusOf>({ apiVersion: ev.object.apiVersion, kind: ev.object.kind, namespace: ev.object.namespace, name: ev.object.name })
      .catch(() => undefined);
    const labels = obj?.metadata?.labels ?? {};
    for (const alert of alerts) {
      if (!alertSelects(alert, ev, category, labels)) continue;
      const alertKey = `${alert.metadata.namespace ?? ''}/${alert.metadata.name ?? ''}`;
      const dedupKey = `${alertKey}|${ev.object.uid}`;
      const what = `${ev.reason}\u0000${ev.note}`;
      const last = this.#lastSent.get(dedupKey);
      if (last && last.what === what && Date.now() - last.at < this.#settings.dedupWindowMs) continue;
      remember(this.#lastSent, dedupKey, { what, at: Date.now() });
      this.#enqueue(alert, {
        alert: { namespace: alert.metadata.namespace ?? '', name: alert.metadata.name ?? '' }, summary: alert.spec.summary,
        object: ev.object, severity: severityOf(ev.type), category, reason: ev.reason, message: ev.note,
        revision: revisionOf(obj, isFailing(category)), timestamp: ev.time, reportingController: ev.reportingController,
      });
    }
  }

  #enqueue(alert: Alert, n: Notification): void {
    const key = `${alert.metadata.namespace ?? ''}/${alert.spec.providerRef.name}`;
    let queue = this.#queues.get(key);
    if (!queue) this.#queues.set(key, queue = { chain: Promise.resolve(), pending: 0 });
    if (queue.pending >= this.#settings.maxQueued) {
      this.#deliveries.inc({ provider_type: this.#providers.get(key)?.spec.type ?? 'unknown', result: 'dropped' });
      this.#log.warn({ provider: key, pending: queue.pending }, 'too many deliveries waiting; event dropped');
      return;
    }
    const q = queue;
    q.pending += 1;
    q.chain = q.chain.then(() => this.#send(alert, key, n))
      .catch((err: unknown) => this.#log.warn({ provider: key, err: errorMessage(err) }, 'delivery failed'))
      .finally(() => { q.pending -= 1; });
  }

  async #send(alert: Alert, providerKey: string, n: Notification): Promise<void> {
    const provider = this.#providers.get(providerKey);
    if (!provider) return this.#assessAlert(alert);
    if (provider.spec.suspend || this.#abort.signal.aborted) return;
    const subject = `${n.object.kind}/${n.object.name} ${n.reason}`;
    let resolved;
    try {
      resolved = await resolveProvider(this.#o.client, provider);
    } catch (err) {
      this.#deliveries.inc({ provider_type: provider.spec.type, result: 'failed' });
      const reason = err instanceof ProviderProblem ? err.reason : 'ProviderError';
      return this.#writeStatus(provider, { ready: false, reason, message: errorMessage(err) });
    }
    const scrub = (text: string): string => resolved.secrets.reduce((t, s) => (s.length >= 4 ? t.replaceAll(s, REDACTED) : t), redactString(text));
    const payload = payloadFor(provider.spec.type, n, { channel: provider.spec.channel, username: provider.spec.username });
    if (!payload) return;
    const result = await postWithRetries({
      url: resolved.url, body: payload.body, headers: { ...resolved.headersFor(payload.body), 'content-type': payload.contentType },
      timeoutMs: resolved.timeoutMs, hostPolicy: this.#o.hostPolicy, signal: this.#abort.signal,
    }, this.#settings, (attempt, error, delayMs) => {
      this.#log.info({ provider: providerKey, attempt, error: scrub(error), retryInMs: delayMs }, `delivery of ${subject} failed; retrying`);
    });
    const origin = originOf(resolved.url);
    if (result.ok) {
      this.#deliveries.inc({ provider_type: provider.spec.type, result: 'delivered' });
      this.#log.info({ provider: providerKey, alert: `${n.alert.namespace}/${n.alert.name}`, attempts: result.attempts }, `delivered ${subject}`);
      return this.#writeStatus(provider, { ready: true, message: `sending to ${origin}` });
    }
    this.#deliveries.inc({ provider_type: provider.spec.type, result: 'failed' });
    const message = scrub(`gave up on ${subject} after ${result.attempts} attempt${result.attempts === 1 ? '' : 's'}: ${result.error}`);
    this.#log.warn({ provider: providerKey }, message);
    this.#writeStatus(provider, { ready: false, reason: 'DeliveryFailed', message });
    await this.#o.events?.warning(provider, 'DeliveryFailed', message, 'Notify');
  }
}

/** The alert dispatcher for the Manager. */
export function alertDispatcher(options: AlertDispatcherOptions): Runnable {
  return new AlertDispatcher(options);
}
