/**
 * What the engine remembers per object so that planning costs no request when
 * nothing changed: a hash of the intent it last sent, the resourceVersion the
 * apiserver answered with, and a hash of that answer projected onto the
 * intent's fields (what the object looked like *where Trellis has a say*).
 *
 * Together with a cache of the live objects (any {@link LiveCache}), one object
 * is planned locally ({@link decideLocally}):
 *
 * - the cache does not know the kind (not synced, not watchable): ask the
 *   apiserver (`verify`: a read and a dry run, the safe old way);
 * - the object is not there, or is being deleted: apply it (one request, no
 *   read, no dry run; a terminating object is waited for first, see apply.ts);
 * - the intent is the one last sent and the live object is the answer we got,
 *   or differs from it only outside the intent's fields (a controller wrote
 *   status or an annotation of its own): nothing to do;
 * - the intent is new: apply it;
 * - nothing is remembered (a restart) but the intent is known to be the one
 *   last applied: when the live object already holds every field the intent
 *   declares, nothing to do; otherwise one dry run decides.
 *
 * A record's hashes are computed when first needed or, at the latest, in the
 * background after the reconcile that wrote it ({@link AppliedState.hashInBackground}):
 * hashing each answer as it arrives took the controller's CPU from the apiserver
 * while a rollout's writes were under way (about 60 ms per 1,000 ConfigMaps).
 *
 * Pure, except for the record store itself.
 */
import { createHash } from 'node:crypto';
import { canonicalJSON } from '../bundle/canonical.ts';
import type { KubeObject as ClusterObject, ObjectRef } from '../../runtime/object.ts';
import type { DesiredObject } from './objects.ts';

/** What a cache of live objects answers for one object. */
export interface CacheLookup {
  /** True when the cache holds a full, current list of the object's kind, so an absent object does not exist. */
  readonly known: boolean;
  /** The object as last seen (undefined: absent, or `known` is false). */
  readonly object?: ClusterObject | undefined;
}

/** A cache of live objects the engine may read instead of the apiserver. */
export interface LiveCache {
  lookup(ref: ObjectRef): CacheLookup;
}

/** What the engine last sent for an object and what the apiserver answered. */
export interface AppliedRecord {
  /** The hash of the intent last sent ({@link intentHash}). */
  readonly intentHash: LazyHash;
  readonly resourceVersion: string;
  /** The hash of the answer projected onto the intent's fields ({@link projectionHash}). */
  readonly projectionHash: LazyHash;
}

/** How long one background turn of {@link AppliedState.hashInBackground} may run before it yields. */
const HASH_TURN_MS = 5;

/** An event about an object whose write was in flight: the Package it would wake, and the version it showed. */
interface HeldEvent {
  readonly key: string;
  readonly resourceVersion: string | undefined;
}

/**
 * Applied records by inventory id, kept for the life of the controller process,
 * and the writes in flight. The watch often delivers the event of a write
 * before its answer is read (a rollout of 5,000 objects: about a third of its
 * creates), when the event cannot be told from someone else's change yet; such
 * an event is held and judged once the answer is known.
 */
export class AppliedState {
  readonly #records = new Map<string, AppliedRecord>();
  /** Records whose hashes may not be computed yet: each holds the intent and the answer until they are. */
  readonly #unhashed = new Set<AppliedRecord>();
  #hashing = false;
  readonly #inFlight = new Map<string, HeldEvent[]>();
  readonly #wake: (key: string) => void;

  /** `wake` is called with the Package an event was held for when the event turns out not to be the answer of the write. */
  constructor(wake: (key: string) => void = () => undefined) {
    this.#wake = wake;
  }

  /** The record of an object, if any. */
  get(id: string): AppliedRecord | undefined {
    return this.#records.get(id);
  }

  /** Remembers what was sent for `id` and what came back. */
  set(id: string, record: AppliedRecord): void {
    this.#forgetRecord(id);
    this.#records.set(id, record);
    this.#unhashed.add(record);
  }

  /** Forgets an object (deleted or pruned). */
  delete(id: string): void {
    this.#forgetRecord(id);
    this.#records.delete(id);
  }

  #forgetRecord(id: string): void {
    const old = this.#records.get(id);
    if (old !== undefined) this.#unhashed.delete(old);
  }

  /** How many objects are remembered. */
  get size(): number {
    return this.#records.size;
  }

  /** How many records may still hold what their hashes are computed from. */
  get unhashed(): number {
    return this.#unhashed.size;
  }

  /**
   * Computes the hashes of every record set so far, a few milliseconds per
   * turn of the event loop, starting after the current one; called when a
   * reconcile has written its status. Until then a record holds its intent and
   * the apiserver's answer; after, only the hashes.
   */
  hashInBackground(): void {
    if (this.#hashing || this.#unhashed.size === 0) return;
    this.#hashing = true;
    const turn = (): void => {
      const until = performance.now() + HASH_TURN_MS;
      for (const record of this.#unhashed) {
        this.#unhashed.delete(record);
        try {
          record.intentHash();
          record.projectionHash();
        } catch {
          // Never the controller's end: a decision that needs this hash computes it again and fails inside its reconcile.
        }
        if (performance.now() >= until) break;
      }
      if (this.#unhashed.size > 0) setImmediate(turn);
      else this.#hashing = false;
    };
    setImmediate(turn);
  }

  /** True when `live` is exactly the answer to the last write of `id`: an event about it is our own write, not drift. */
  isOwnWrite(id: string, live: ClusterObject): boolean {
    const rv = live.metadata?.resourceVersion;
    return rv !== undefined && this.#records.get(id)?.resourceVersion === rv;
  }

  /** A write of `id` is about to be sent: events about it are held until {@link answered}. */
  sending(id: string): void {
    if (!this.#inFlight.has(id)) this.#inFlight.set(id, []);
  }

  /** Holds an event about `id` that would wake the Package `key`, if a write of `id` is in flight (true), to judge it once answered. */
  hold(id: string, key: string, live: ClusterObject): boolean {
    const held = this.#inFlight.get(id);
    if (held === undefined) return false;
    held.push({ key, resourceVersion: live.metadata?.resourceVersion });
    return true;
  }

  /**
   * The write of `id` ended with `answer` (undefined: it failed). Each event
   * held meanwhile that is not the answer itself (someone else's change, a
   * deletion, or anything after a failed write) wakes its Package.
   */
  answered(id: string, answer: ClusterObject | undefined): void {
    const held = this.#inFlight.get(id);
    this.#inFlight.delete(id);
    const rv = answer?.metadata?.resourceVersion;
    const keys = new Set((held ?? []).filter((e) => rv === undefined || e.resourceVersion !== rv).map((e) => e.key));
    for (const key of keys) this.#wake(key);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The hash of an intent (the exact object an apply sends). */
export function intentHash(intent: DesiredObject): string {
  return sha256(canonicalJSON(intent));
}

/** A hash computed the first time it is asked for (see {@link lazyHash}). */
export type LazyHash = () => string;

/** `compute`'s result, computed the first time it is asked for and then kept; `compute` (and what it holds) is let go. */
export function lazyHash(compute: () => string): LazyHash {
  let hash: string | undefined;
  let pending: (() => string) | undefined = compute;
  return () => {
    if (hash === undefined && pending !== undefined) {
      hash = pending();
      pending = undefined;
    }
    return hash as string;
  };
}

/**
 * The hash of `intent`, computed the first time it is asked for and then kept.
 * Planning a create does not need it, and neither does the record of its
 * answer until a later decision (or the background pass) asks.
 */
export function lazyIntentHash(intent: DesiredObject): LazyHash {
  return lazyHash(() => intentHash(intent));
}

/** Marks a field the intent declares that the live object lacks (distinct from any JSON value). */
const MISSING = { '\u0000missing': true };

/**
 * `live` reduced to the fields `intent` declares: maps keep only the intent's
 * keys, lists of the same length are projected item by item, anything else is
 * the live value as it is. Fields others added (defaults, a controller's
 * annotations, status) fall away; fields we declare keep their live value.
 */
export function projectOnto(live: unknown, intent: unknown): unknown {
  if (isRecord(intent)) {
    if (!isRecord(live)) return live ?? MISSING;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(intent)) out[key] = Object.hasOwn(live, key) ? projectOnto(live[key], intent[key]) : MISSING;
    return out;
  }
  if (Array.isArray(intent)) {
    if (!Array.isArray(live) || live.length !== intent.length) return live ?? MISSING;
    return intent.map((item, i) => projectOnto(live[i], item));
  }
  return live === undefined ? MISSING : live;
}

/** The hash of {@link projectOnto}`(live, intent)`. */
export function projectionHash(live: ClusterObject, intent: DesiredObject): string {
  return sha256(canonicalJSON(projectOnto(live, intent)));
}

/**
 * True when `live` holds every field `intent` declares with the same value
 * (maps: a superset; lists: same length, item by item). The apiserver may
 * normalize a value (a quantity `1000m` reads back as `1`): then this says
 * false and a dry run decides.
 */
export function containsIntent(live: unknown, intent: unknown): boolean {
  if (isRecord(intent)) {
    return isRecord(live) && Object.keys(intent).every((k) => Object.hasOwn(live, k) && containsIntent(live[k], intent[k]));
  }
  if (Array.isArray(intent)) {
    return Array.isArray(live) && live.length === intent.length && intent.every((item, i) => containsIntent(live[i], item));
  }
  return live === intent;
}

/**
 * The record an answer (or a live object found equal) leaves behind. Nothing
 * is hashed yet: `live` and `intent` must not change afterwards (answers and
 * cached objects never are).
 */
export function recordOf(hash: LazyHash, live: ClusterObject, intent: DesiredObject): AppliedRecord {
  return { intentHash: hash, resourceVersion: live.metadata?.resourceVersion ?? '', projectionHash: lazyHash(() => projectionHash(live, intent)) };
}

/** What {@link decideLocally} needs for one object. */
export interface LocalInput {
  /** The exact object the apply would send. */
  readonly intent: DesiredObject;
  /** Its hash, asked for only when a decision needs it. */
  readonly hash: LazyHash;
  readonly lookup: CacheLookup;
  readonly record: AppliedRecord | undefined;
  /**
   * The intent is the one last applied successfully (the Package's current,
   * Available revision): a live object that contains it needs nothing even
   * when this process remembers nothing (after a restart).
   */
  readonly trustLive: boolean;
}

/** What to do with one object, decided without a request. */
export type LocalDecision =
  | { readonly action: 'none'; readonly record: AppliedRecord | undefined }
  | { readonly action: 'apply'; readonly live: ClusterObject | undefined }
  | { readonly action: 'verify' };

/** Plans one object from the cache and the record alone; see the module comment. */
export function decideLocally(input: LocalInput): LocalDecision {
  const { intent, hash, lookup, record } = input;
  if (!lookup.known) return { action: 'verify' };
  const live = lookup.object;
  if (live === undefined) return { action: 'apply', live: undefined };
  // Being deleted: whatever it holds now, it will be gone; the apply waits for that and creates it anew.
  if (live.metadata?.deletionTimestamp) return { action: 'apply', live };
  // The same lazy hash is the same prepared intent: equal without hashing either.
  if (record !== undefined && (record.intentHash === hash || record.intentHash() === hash())) {
    if (record.resourceVersion === live.metadata?.resourceVersion) return { action: 'none', record: undefined };
    const projection = projectionHash(live, intent);
    if (projection === record.projectionHash()) {
      return { action: 'none', record: { intentHash: record.intentHash, resourceVersion: live.metadata?.resourceVersion ?? '', projectionHash: () => projection } };
    }
    return { action: 'apply', live };
  }
  if (!input.trustLive) return { action: 'apply', live };
  if (containsIntent(live, intent)) return { action: 'none', record: recordOf(hash, live, intent) };
  return { action: 'verify' };
}
