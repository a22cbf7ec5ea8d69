/**
 * A refusing rate limiter: `burst` requests at once, refilled at `perSecond`.
 * Unlike the API client's token bucket it never goes into debt — a refused
 * request takes nothing — so a flood that ends leaves the Receiver usable
 * again after `burst / perSecond` seconds at most.
 */
export class RequestLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  constructor(perSecond: number, burst: number, now: () => number = Date.now) {
    this.#perSecond = perSecond;
    this.#burst = Math.max(1, burst);
    this.#now = now;
    this.#tokens = this.#burst;
    this.#last = now();
  }

  /** Takes a token: 0 when one was there, else the milliseconds until one will be (nothing taken). */
  tryTake(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) * this.#perSecond) / 1000);
    this.#last = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) * 1000) / this.#perSecond);
  }
}
