/**
 * The Receivers the webhook server answers for, by path: filled by the
 * Receiver reconciler once it has read a Receiver's Secret, emptied when the
 * Receiver goes, is suspended or loses its Secret. The server reads only this
 * table, so a request costs no API call before it is verified.
 */
import type { ReceiverSpec, ReceiverType } from '../api.ts';

/** What the server needs to verify and act on requests for one Receiver. */
export interface ReceiverEntry {
  /** `namespace/name`. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string | undefined;
  readonly type: ReceiverType;
  /** The shared secret; never logged, never written anywhere. */
  readonly token: string;
  readonly events: readonly string[];
  readonly resources: ReceiverSpec['resources'];
  readonly path: string;
}

/** Path -> Receiver, and Receiver -> path so a new token retires the old path. */
export class ReceiverTable {
  readonly #byPath = new Map<string, ReceiverEntry>();
  readonly #pathOf = new Map<string, string>();

  /** Serves `entry` at `entry.path` (and no longer at the Receiver's previous path). */
  set(entry: ReceiverEntry): void {
    this.remove(entry.key);
    this.#byPath.set(entry.path, entry);
    this.#pathOf.set(entry.key, entry.path);
  }

  /** Stops serving the Receiver `key`. */
  remove(key: string): void {
    const path = this.#pathOf.get(key);
    if (path !== undefined) this.#byPath.delete(path);
    this.#pathOf.delete(key);
  }

  /** The Receiver served at `path`. */
  lookup(path: string): ReceiverEntry | undefined {
    return this.#byPath.get(path);
  }

  /** Receivers served. */
  get size(): number {
    return this.#byPath.size;
  }
}
