/**
 * Kubernetes Events (events.k8s.io/v1) for lifecycle steps, de-duplicated the
 * way kubectl expects: a repeat of the same event on the same object within a
 * window bumps `series.count` on the existing Event instead of creating a new
 * one, so a failing reconcile every few seconds costs one Event, not hundreds.
 * Recording never fails a reconcile: errors are logged and dropped.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeClient } from './kube.ts';
import { isNamespaceTerminating, isNotFound } from './kube-transport.ts';
import type { Logger } from './logging.ts';
import { microTime, type KubeObject } from './object.ts';
import { redactString } from './redact.ts';

/** `Normal` or `Warning`. */
export type EventType = 'Normal' | 'Warning';

/** One event to record. */
export interface EventInput {
  readonly type: EventType;
  /** CamelCase, e.g. `ArtifactUpdated`. */
  readonly reason: string;
  /** Human-readable; redacted and cut to 1 KiB. */
  readonly note: string;
  /** What the controller did or failed to do, e.g. `Reconcile` (default). */
  readonly action?: string;
}

/** Options for {@link EventRecorder}. */
export interface EventRecorderOptions {
  readonly client: KubeClient;
  /** `reportingController`, e.g. `trellis.dev/source-controller`. */
  readonly controller: string;
  /** `reportingInstance` (default: the Pod's hostname). */
  readonly instance?: string;
  /** Repeats within this window are counted on one Event (default 10 minutes). */
  readonly windowMs?: number;
  /** Distinct events remembered for de-duplication (default 4096). */
  readonly maxEntries?: number;
  readonly logger?: Logger;
}

interface SeenEvent {
  readonly name: string;
  readonly namespace: string;
  count: number;
  lastSeen: number;
  /** Serializes records of the same event, so a burst cannot create duplicates. */
  chain: Promise<void>;
}

/** Largest note the apiserver accepts. */
const NOTE_LIMIT = 1024;

/** Records de-duplicated Events for one controller. */
export class EventRecorder {
  readonly #client: KubeClient;
  readonly #controller: string;
  readonly #instance: string;
  readonly #windowMs: number;
  readonly #maxEntries: number;
  readonly #log: Logger | undefined;
  readonly #seen = new Map<string, SeenEvent>();

  constructor(options: EventRecorderOptions) {
    this.#client = options.client;
    this.#controller = options.controller;
    this.#instance = (options.instance ?? hostname()).slice(0, 128);
    this.#windowMs = options.windowMs ?? 10 * 60_000;
    this.#maxEntries = options.maxEntries ?? 4096;
    this.#log = options.logger;
  }

  /** A Normal event. */
  normal(regarding: KubeObject, reason: string, note: string, action?: string): Promise<void> {
    return this.record(regarding, { type: 'Normal', reason, note, action });
  }

  /** A Warning event. */
  warning(regarding: KubeObject, reason: string, note: string, action?: string): Promise<void> {
    return this.record(regarding, { type: 'Warning', reason, note, action });
  }

  /** Records an event about `regarding` (which needs apiVersion, kind, metadata.name). Never rejects. */
  record(regarding: KubeObject, input: EventInput): Promise<void> {
    const note = truncateBytes(redactString(input.note), NOTE_LIMIT);
    const action = (input.action ?? 'Reconcile').slice(0, 128);
    const meta = regarding.metadata ?? {};
    const identity = [regarding.apiVersion, regarding.kind, meta.namespace ?? '', meta.name, meta.uid ?? '',
      input.type, input.reason, action, note].join('\u0000');
    const now = Date.now();
    let entry = this.#seen.get(identity);
    if (!entry || now - entry.lastSeen > this.#windowMs) {
      entry = {
        name: eventName(meta.name ?? 'unknown'), namespace: meta.namespace ?? 'default',
        count: 0, lastSeen: now, chain: Promise.resolve(),
      };
      this.#remember(identity, entry);
    }
    const current = entry;
    current.lastSeen = now;
    current.chain = current.chain.then(() => this.#write(regarding, input, note, action, current))
      .catch((err: unknown) => {
        // A namespace being deleted takes its Events with it: a refusal there is expected, not worth a warning.
        const level = isNamespaceTerminating(err) ? 'debug' : 'warn';
        this.#log?.[level]({ err, reason: input.reason, regarding: `${meta.namespace ?? ''}/${meta.name ?? ''}` },
          'could not record event');
      });
    return current.chain;
  }

  async #write(regarding: KubeObject, input: EventInput, note: string, action: string, entry: SeenEvent): Promise<void> {
    const ref = { apiVersion: 'events.k8s.io/v1', kind: 'Event', namespace: entry.namespace, name: entry.name };
    if (entry.count > 0) {
      try {
        await this.#client.patch(ref, { series: { count: entry.count + 1, lastObservedTime: microTime() } });
        entry.count += 1;
        return;
      } catch (err) {
        // Events expire (the apiserver's event TTL); start a new one then.
        if (!isNotFound(err)) throw err;
      }
    }
    const meta = regarding.metadata ?? {};
    await this.#client.create({
      apiVersion: 'events.k8s.io/v1', kind: 'Event',
      metadata: { name: entry.name, namespace: entry.namespace },
      eventTime: microTime(),
      reportingController: this.#controller,
      reportingInstance: this.#instance,
      action, reason: input.reason, note, type: input.type,
      regarding: {
        apiVersion: regarding.apiVersion, kind: regarding.kind, name: meta.name, namespace: meta.namespace,
        uid: meta.uid, resourceVersion: meta.resourceVersion,
      },
    });
    entry.count = 1;
  }

  #remember(identity: string, entry: SeenEvent): void {
    this.#seen.delete(identity);
    this.#seen.set(identity, entry);
    // Maps iterate in insertion order: the first keys are the oldest.
    while (this.#seen.size > this.#maxEntries) {
      const oldest = this.#seen.keys().next().value;
      if (oldest === undefined) break;
      this.#seen.delete(oldest);
    }
  }
}

/** `<object name>.<unique suffix>`, within the 253-character name limit. */
function eventName(objectName: string): string {
  return `${objectName.slice(0, 200)}.${Date.now().toString(16)}${randomBytes(4).toString('hex')}`;
}

/** Cuts `text` to at most `limit` UTF-8 bytes without splitting a character. */
export function truncateBytes(text: string, limit: number): string {
  if (Buffer.byteLength(text) <= limit) return text;
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > limit - 3) break;
    out += ch;
    bytes += size;
  }
  return `${out}...`;
}
