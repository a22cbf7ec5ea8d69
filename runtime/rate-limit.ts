/**
 * Client-side flow control of API requests, shared by every request a process
 * makes.
 *
 * Kubernetes 1.20 turned on API Priority and Fairness (APF) by default: the
 * apiserver queues and sheds load per flow itself, answers 429 with
 * `Retry-After` when a priority level is full, and marks the responses it
 * managed with `X-Kubernetes-PF-FlowSchema-UID` / `X-Kubernetes-PF-PriorityLevel-UID`.
 * A fixed client-side rate on top of that only makes Trellis slower than the
 * server would allow, so by default ({@link ApiRateLimiter} in `adaptive` mode)
 * the client keeps a generous token bucket only as a safety net until the first
 * response shows that APF is on, and then relies on the server. Explicit
 * `--kube-api-qps` / `--kube-api-burst` flags still impose a fixed bucket
 * (`fixed` mode; a qps of 0 means none at all).
 *
 * In both modes a throttled response (429, or 503 with `Retry-After`) closes a
 * gate for the whole process for the time the server asked for: requests
 * already in flight and new ones alike wait, so one overloaded apiserver sees a
 * pause instead of every worker retrying on its own schedule. Pauses grow when
 * requests sent after a pause are throttled again, and start small again after
 * a calm spell.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** Options for {@link TokenBucket}. */
export interface RateLimitOptions {
  /** Sustained requests per second; 0 or less disables limiting (default {@link SAFETY_NET_RATE_LIMIT}). */
  readonly qps?: number;
  /** Requests allowed at once after a quiet period (default {@link SAFETY_NET_RATE_LIMIT}). */
  readonly burst?: number;
}

/**
 * The client-side limit used until the apiserver shows that it enforces APF (or
 * for good, when it never does), and the default of the flag that was not given
 * when only one of `--kube-api-qps` / `--kube-api-burst` was. Generous on purpose
 * (the same numbers Flux's controllers default to): it only exists to stop a
 * runaway loop, not to pace normal work; an overloaded server says so with 429s.
 */
export const SAFETY_NET_RATE_LIMIT = { qps: 50, burst: 300 } as const;

/** Response headers an apiserver with API Priority and Fairness adds to the requests it managed. */
export const APF_RESPONSE_HEADERS = ['x-kubernetes-pf-flowschema-uid', 'x-kubernetes-pf-prioritylevel-uid'] as const;

/** Attempts a throttled request gets, the first included, before it fails with the last 429. */
export const DEFAULT_THROTTLE_ATTEMPTS = 10;

/** The wait when a 429 names none (what the apiserver itself sends is `Retry-After: 1`). */
export const DEFAULT_RETRY_AFTER_MS = 1_000;

/** The longest pause the client accepts, whatever `Retry-After` or the backoff says. */
export const MAX_PAUSE_MS = 10_000;

// A `Retry-After: 0` must not turn the retry loop into a busy loop.
const MIN_PAUSE_MS = 100;
// Waiters add up to this fraction of their wait, so a closed gate does not release them all at once.
const JITTER = 0.25;
// A throttle this long after the last one (and after the gate reopened) starts the backoff from its base again.
const CALM_MS = 10_000;
const MAX_LEVEL = 6;

/** A token bucket: `burst` tokens, refilled at `qps` per second. */
export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  constructor(options: RateLimitOptions = {}, now: () => number = Date.now) {
    this.qps = options.qps ?? SAFETY_NET_RATE_LIMIT.qps;
    this.burst = Math.max(1, Math.floor(options.burst ?? SAFETY_NET_RATE_LIMIT.burst));
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
    if (wait > 0) await sleep(Math.ceil(wait));
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

/**
 * The delay a `Retry-After` value asks for, in ms: delta-seconds or an HTTP date
 * (relative to `nowMs`; a date in the past means now). Undefined when absent or
 * malformed, so the caller picks its own default.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Every HTTP date format starts with a weekday name; demanding letters keeps
  // "1.5" or "-3", which Date.parse would accept, from being read as dates.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** What to do with one response, by {@link judgeThrottle}. */
export type ThrottleVerdict =
  | { readonly kind: 'not-throttled' }
  /** Throttled: send again after at least `retryAfterMs`. */
  | { readonly kind: 'retry'; readonly retryAfterMs: number }
  /** Throttled on the last allowed attempt: fail with this response. */
  | { readonly kind: 'give-up'; readonly retryAfterMs: number };

/**
 * Whether a response means "come back later" and whether attempt number
 * `attempt` (1 for the first) may be followed by another. A 429 always
 * qualifies; a 503 only with `Retry-After`, because only then does the server
 * promise the request was not acted on and will succeed later. The wait is
 * `Retry-After` ({@link DEFAULT_RETRY_AFTER_MS} when absent or unreadable),
 * kept within [{@link MIN_PAUSE_MS}, {@link MAX_PAUSE_MS}].
 */
export function judgeThrottle(status: number, retryAfter: string | undefined, attempt: number, nowMs: number,
  maxAttempts: number = DEFAULT_THROTTLE_ATTEMPTS): ThrottleVerdict {
  if (status !== 429 && !(status === 503 && retryAfter !== undefined)) return { kind: 'not-throttled' };
  const asked = parseRetryAfter(retryAfter, nowMs) ?? DEFAULT_RETRY_AFTER_MS;
  const retryAfterMs = Math.min(MAX_PAUSE_MS, Math.max(MIN_PAUSE_MS, asked));
  return attempt >= maxAttempts ? { kind: 'give-up', retryAfterMs } : { kind: 'retry', retryAfterMs };
}

/** True when response headers show that API Priority and Fairness handled the request. */
export function hasApfHeaders(headers: IncomingHttpHeaders): boolean {
  return APF_RESPONSE_HEADERS.some((name) => headers[name] !== undefined);
}

/**
 * Options for {@link ApiRateLimiter}. Leave both unset to follow the apiserver
 * (adaptive mode); set either to force a fixed client-side limit.
 */
export interface ApiRateLimitOptions {
  /** A fixed sustained rate in requests per second; 0 disables the client-side limit. */
  readonly qps?: number | undefined;
  /** A fixed burst (default {@link SAFETY_NET_RATE_LIMIT}.burst when only qps is set). */
  readonly burst?: number | undefined;
}

/** Time and chance, replaceable in tests. */
export interface LimiterClock {
  now(): number;
  /** A number in [0, 1). */
  random(): number;
}

const SYSTEM_CLOCK: LimiterClock = { now: Date.now, random: Math.random };

/** The process-wide flow control in front of every API request; see the module comment. */
export class ApiRateLimiter {
  /** `fixed` when flags set the limit, `adaptive` when it follows APF. */
  readonly mode: 'fixed' | 'adaptive';
  readonly #clock: LimiterClock;
  #bucket: TokenBucket | undefined;
  #apfSeen = false;
  #resumeAt = -Infinity;
  #lastThrottleAt = -Infinity;
  #level = 0;

  constructor(options: ApiRateLimitOptions = {}, clock: LimiterClock = SYSTEM_CLOCK) {
    this.#clock = clock;
    const fixed = options.qps !== undefined || options.burst !== undefined;
    this.mode = fixed ? 'fixed' : 'adaptive';
    const qps = options.qps ?? SAFETY_NET_RATE_LIMIT.qps;
    this.#bucket = qps > 0 ? new TokenBucket({ qps, burst: options.burst ?? SAFETY_NET_RATE_LIMIT.burst }, () => clock.now()) : undefined;
  }

  /** The client-side bucket requests pass right now, or undefined when there is none. */
  get bucket(): TokenBucket | undefined {
    return this.#bucket;
  }

  /** Whether a response has shown that the apiserver enforces API Priority and Fairness. */
  get apfSeen(): boolean {
    return this.#apfSeen;
  }

  /** When the gate a throttled response closed opens again (epoch ms; in the past when open). */
  get resumeAt(): number {
    return this.#resumeAt;
  }

  /** The current backoff level: pauses are `Retry-After × 2^level`. */
  get level(): number {
    return this.#level;
  }

  /**
   * Milliseconds a request must wait for the gate to open, jitter included; 0
   * when it is open. Call again after waiting: another throttle may have moved it.
   */
  gateWait(): number {
    const left = this.#resumeAt - this.#clock.now();
    return left > 0 ? Math.ceil(left * (1 + JITTER * this.#clock.random())) : 0;
  }

  /**
   * Waits until a request may be sent: first for the gate, then for a token of
   * the client-side bucket when there is one. Rejects when `signal` aborts.
   * Returns the time the request may go (for {@link throttled}).
   */
  async take(signal?: AbortSignal): Promise<number> {
    signal?.throwIfAborted();
    for (let wait = this.gateWait(); wait > 0; wait = this.gateWait()) await sleep(wait, undefined, { signal });
    const tokenWait = this.#bucket?.reserve() ?? 0;
    if (tokenWait > 0) await sleep(Math.ceil(tokenWait), undefined, { signal });
    return this.#clock.now();
  }

  /** Reads a response's headers: in adaptive mode, APF headers retire the safety-net bucket for good. */
  observe(headers: IncomingHttpHeaders): void {
    if (this.#apfSeen || !hasApfHeaders(headers)) return;
    this.#apfSeen = true;
    // APF does not switch off without an apiserver restart with other flags, and
    // 429s would still be honoured if it did, so there is no way back.
    if (this.mode === 'adaptive') this.#bucket = undefined;
  }

  /**
   * Records a throttled response to a request sent at `sentAt` that asked for
   * `retryAfterMs`, and closes the gate for every request of the process. The
   * pause doubles when a request sent after the previous pause ended is
   * throttled again soon after; requests of the same wave do not escalate it.
   */
  throttled(retryAfterMs: number, sentAt: number): void {
    const now = this.#clock.now();
    const quietSince = Math.max(this.#lastThrottleAt, this.#resumeAt);
    if (now - quietSince >= CALM_MS) this.#level = 0;
    else if (sentAt >= this.#resumeAt) this.#level = Math.min(MAX_LEVEL, this.#level + 1);
    this.#lastThrottleAt = now;
    const pause = Math.min(MAX_PAUSE_MS, Math.max(MIN_PAUSE_MS, retryAfterMs) * 2 ** this.#level);
    this.#resumeAt = Math.max(this.#resumeAt, now + pause);
  }
}
