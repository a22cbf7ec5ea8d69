/**
 * Client-side rate limiting of API requests (the `--kube-api-qps` and
 * `--kube-api-burst` flags): a token bucket shared by every request a process
 * makes, so a burst of reconciles cannot flood the apiserver.
 */

/** Options for {@link TokenBucket}. */
export interface RateLimitOptions {
  /** Sustained requests per second; 0 or less disables limiting (default 50). */
  readonly qps?: number;
  /** Requests allowed at once after a quiet period (default 100). */
  readonly burst?: number;
}

/** Default client-side limits. */
export const DEFAULT_RATE_LIMIT = { qps: 50, burst: 100 } as const;

/** A token bucket: `burst` tokens, refilled at `qps` per second. */
export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  constructor(options: RateLimitOptions = {}, now: () => number = Date.now) {
    this.qps = options.qps ?? DEFAULT_RATE_LIMIT.qps;
    this.burst = Math.max(1, Math.floor(options.burst ?? DEFAULT_RATE_LIMIT.burst));
    this.#now = now;
    this.#tokens = this.burst;
    this.#last = now();
  }

  /**
   * Takes a token and returns how many milliseconds the caller must wait before
   * using it (0 when one was available). Tokens may go negative: later callers
   * queue behind earlier ones, in order.
   */
  reserve(): number {
    if (this.qps <= 0) return 0;
    const now = this.#now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) * this.qps) / 1000);
    this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.qps;
  }

  /** Waits for a token. */
  async take(): Promise<void> {
    const wait = this.reserve();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.ceil(wait)));
  }
}

/** Parses a `--kube-api-qps` / `--kube-api-burst` value; throws a clear error for garbage. */
export function parseRateFlag(name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new RangeError(`${name} must be a number >= 0, got "${value}"`);
  }
  return n;
}
