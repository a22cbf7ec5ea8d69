/**
 * Which Packages this controller wrote that its informer has not shown back
 * yet. A reconcile may start from the informer's copy of its Package (no
 * request) unless the controller's own last write of it is still on its way
 * through the watch: then the copy is older than what the controller knows,
 * and the Package is read fresh. Watch events arrive in order, so once the
 * informer delivers the resourceVersion of the write, the copy is current
 * again (a later change by someone else arrives after it, and wakes its own
 * reconcile).
 */

/** How many delivered resourceVersions are remembered per Package. */
const RECENT = 8;

/** The Package writes of this controller still on their way back through the watch, by Package key. */
export class OwnWrites {
  readonly #pending = new Map<string, string>();
  /** The last few resourceVersions the informer delivered per Package: the watch may beat the write's own answer. */
  readonly #recent = new Map<string, string[]>();

  /** The controller wrote the Package `key` and got `resourceVersion` back. */
  wrote(key: string, resourceVersion: string | undefined): void {
    if (!resourceVersion || this.#recent.get(key)?.includes(resourceVersion)) return;
    this.#pending.set(key, resourceVersion);
  }

  /** The informer delivered `resourceVersion` of `key` (an add or update). */
  seen(key: string, resourceVersion: string | undefined): void {
    if (resourceVersion === undefined) return;
    const recent = this.#recent.get(key) ?? [];
    recent.push(resourceVersion);
    if (recent.length > RECENT) recent.shift();
    this.#recent.set(key, recent);
    if (this.#pending.get(key) === resourceVersion) this.#pending.delete(key);
  }

  /** The Package is gone: nothing to wait for. */
  forget(key: string): void {
    this.#pending.delete(key);
    this.#recent.delete(key);
  }

  /** True when the informer has shown every write of `key` this controller made. */
  settled(key: string): boolean {
    return !this.#pending.has(key);
  }

  /** How many writes are still on their way (tests). */
  get size(): number {
    return this.#pending.size;
  }
}
