/**
 * The slow background verification of what the cache cannot see. The engine
 * decides most objects without a request (ssa/state.ts): the watch tells it of
 * every write. What no watch event shows is the apiserver making something
 * else of the same intent: a mutating admission webhook or a policy engine
 * added since the object was applied, a default that only materialises on the
 * next write. Flux finds those by a server-side dry run of every object at
 * every interval; Trellis does the same at a slow, even pace instead.
 *
 * Each Package whose current revision is applied and healthy (drift mode
 * `correct`) has every object checked once per `intervalMs`, in batches of
 * `batch` objects spaced evenly over the interval: the next reconcile after a
 * batch is due dry-runs those objects and applies the ones the apiserver
 * would change (a drift correction, with its Event). The first batch of a
 * revision is due about one interval after it became the current one this
 * process knows (its apply has just been checked by the apiserver's own
 * answers): somewhere between half an interval and one and a half, drawn per
 * Package. Without that spread, every Package a restart (or one source's new
 * revision) reconciles in the same minute would come due in the same minute,
 * interval after interval, and their dry runs would queue in front of the
 * drift corrections of everything else.
 * Pure bookkeeping: no timers, no requests (the Package's requeue brings the
 * reconcile; see package.ts).
 */

/** How often every object of a Package is checked by default (`--drift-verify-interval`). */
export const DEFAULT_VERIFY_INTERVAL_MS = 3_600_000;

/** Objects checked by one reconcile, at most. */
export const DEFAULT_VERIFY_BATCH = 50;

/** Where the verification of one Package stands. */
interface PackageVerification {
  /** The revision the schedule is for: a new one starts over. */
  readonly revision: number;
  /** Index of the first object of the next batch. */
  cursor: number;
  /** When the next batch is due (ms since the epoch). */
  nextAt: number;
}

/** The batches of verification due per Package. */
export class VerificationSchedule {
  /** Every object is checked once per this many ms; 0 turns verification off. */
  readonly intervalMs: number;
  readonly #batch: number;
  readonly #random: () => number;
  readonly #packages = new Map<string, PackageVerification>();

  /** `random` draws the spread of a revision's first batch, in [0, 1) (tests pass their own). */
  constructor(intervalMs = DEFAULT_VERIFY_INTERVAL_MS, batch = DEFAULT_VERIFY_BATCH, random: () => number = Math.random) {
    if (!Number.isFinite(intervalMs) || intervalMs < 0) throw new RangeError(`verification interval must be 0 or more ms, got ${intervalMs}`);
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`verification batch must be a whole number of at least 1, got ${batch}`);
    this.intervalMs = intervalMs;
    this.#batch = batch;
    this.#random = random;
  }

  /**
   * The objects of the Package `key` (revision `revision`, objects `ids` in
   * apply order) that this reconcile checks: the next batch when it is due,
   * else none. Taking a batch moves the schedule on to the next one.
   */
  take(key: string, revision: number, ids: readonly string[], now = Date.now()): ReadonlySet<string> {
    if (this.intervalMs === 0 || ids.length === 0) {
      this.#packages.delete(key);
      return new Set();
    }
    const state = this.#packages.get(key);
    if (state?.revision !== revision) {
      this.#packages.set(key, { revision, cursor: 0, nextAt: now + this.#firstDelay() });
      return new Set();
    }
    if (now < state.nextAt) return new Set();
    const start = state.cursor < ids.length ? state.cursor : 0;
    const end = Math.min(ids.length, start + this.#batch);
    state.cursor = end >= ids.length ? 0 : end;
    state.nextAt = now + this.#spacing(ids.length);
    return new Set(ids.slice(start, end));
  }

  /** Milliseconds until the next batch of `key` is due (0 when due now); undefined when none is scheduled. */
  delay(key: string, now = Date.now()): number | undefined {
    const state = this.#packages.get(key);
    return state === undefined ? undefined : Math.max(0, state.nextAt - now);
  }

  /** Drops the schedule of a Package (deleted, or no longer correcting drift). */
  forget(key: string): void {
    this.#packages.delete(key);
  }

  /** Time to a revision's first batch: between half an interval and one and a half (see the module comment). */
  #firstDelay(): number {
    const draw = Math.min(Math.max(this.#random(), 0), 1);
    return Math.round(this.intervalMs * (0.5 + draw));
  }

  /** Time between two batches of a Package of `count` objects: the interval shared evenly. */
  #spacing(count: number): number {
    return this.intervalMs / Math.ceil(count / this.#batch);
  }
}
