/**
 * Bounds the work verified requests cause: per Receiver at most one round of
 * reconcile requests at a time and one per `minIntervalMs`. Requests that
 * arrive meanwhile are merged into one trailing round (the union of their
 * registry repositories), so a burst of pushes costs two rounds, and no push
 * is lost.
 */

/** Which sources a round concerns: all the Receiver names, or those pushed to. */
export type Scope = 'all' | ReadonlySet<string>;

function merge(a: Scope | undefined, b: Scope): Scope {
  if (a === undefined) return b;
  if (a === 'all' || b === 'all') return 'all';
  return new Set([...a, ...b]);
}

interface State {
  running: boolean;
  nextAt: number;
  pending: Scope | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** What {@link WorkGate.submit} did. */
export type Submitted<T> = { readonly now: true; readonly result: T } | { readonly now: false };

/** See the module comment. */
export class WorkGate<T> {
  readonly #minIntervalMs: number;
  readonly #work: (key: string, scope: Scope) => Promise<T>;
  readonly #onError: (key: string, err: unknown) => void;
  readonly #states = new Map<string, State>();
  #closed = false;

  constructor(minIntervalMs: number, work: (key: string, scope: Scope) => Promise<T>, onError: (key: string, err: unknown) => void) {
    this.#minIntervalMs = minIntervalMs;
    this.#work = work;
    this.#onError = onError;
  }

  /** Runs the work now when the Receiver is idle (resolves with its result), else queues one trailing round. */
  async submit(key: string, scope: Scope): Promise<Submitted<T>> {
    const state = this.#states.get(key) ?? { running: false, nextAt: 0, pending: undefined, timer: undefined };
    this.#states.set(key, state);
    if (!state.running && state.timer === undefined && Date.now() >= state.nextAt) {
      return { now: true, result: await this.#run(key, state, scope) };
    }
    state.pending = merge(state.pending, scope);
    this.#schedule(key, state);
    return { now: false };
  }

  /** Drops pending rounds (shutdown). */
  close(): void {
    this.#closed = true;
    for (const s of this.#states.values()) clearTimeout(s.timer);
    this.#states.clear();
  }

  async #run(key: string, state: State, scope: Scope): Promise<T> {
    state.running = true;
    try {
      return await this.#work(key, scope);
    } finally {
      state.running = false;
      state.nextAt = Date.now() + this.#minIntervalMs;
      if (state.pending !== undefined) this.#schedule(key, state);
    }
  }

  #schedule(key: string, state: State): void {
    if (state.running || state.timer !== undefined || this.#closed) return;
    state.timer = setTimeout(() => {
      state.timer = undefined;
      const scope = state.pending;
      state.pending = undefined;
      if (scope === undefined || this.#closed) return;
      this.#run(key, state, scope).catch((err: unknown) => this.#onError(key, err));
    }, Math.max(0, state.nextAt - Date.now()));
    state.timer.unref();
  }
}
