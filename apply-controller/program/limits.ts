/**
 * The limits every program render runs under. They are enforced outside the
 * interpreter as well as inside it: QuickJS's own memory limit checks single
 * allocations and its interrupt handler can be starved, so the WebAssembly memory
 * the interpreter lives in is capped, and the Worker that runs it is terminated
 * at the deadline whatever the program is doing.
 */

/** The limits of one render. */
export interface RenderLimits {
  /** Wall-clock time for the whole render, Worker start included (ms). */
  readonly timeoutMs: number;
  /** The WebAssembly memory the interpreter may grow to (bytes, a multiple of 64 KiB). */
  readonly memoryBytes: number;
  /** The interpreter's stack (bytes); deep recursion fails with a RangeError past it. */
  readonly stackBytes: number;
  /** Largest output (the JSON of the rendered objects), in UTF-16 code units. */
  readonly outputChars: number;
  /** Lines of `console` output kept (the rest are counted, not kept). */
  readonly logLines: number;
}

/** 64 KiB: one WebAssembly page. */
export const WASM_PAGE = 65_536;

/** The defaults: generous for a cdk8s program, small next to the controller. */
export const DEFAULT_RENDER_LIMITS: RenderLimits = Object.freeze({
  timeoutMs: 30_000,
  memoryBytes: 256 * 1024 * 1024,
  stackBytes: 256 * 1024,
  outputChars: 16 * 1024 * 1024,
  logLines: 200,
});

/** Above this the stack limit stops protecting the WebAssembly stack itself. */
export const MAX_STACK_BYTES = 256 * 1024;

/** `limits` over the defaults, checked and rounded (memory to whole pages, the stack to at most 256 KiB). */
export function renderLimits(limits: Partial<RenderLimits> = {}): RenderLimits {
  const merged = { ...DEFAULT_RENDER_LIMITS, ...definedOnly(limits) };
  const positive = (name: keyof RenderLimits): void => {
    if (!Number.isFinite(merged[name]) || merged[name] <= 0) throw new RangeError(`render limit ${name} must be a positive number`);
  };
  for (const name of Object.keys(DEFAULT_RENDER_LIMITS) as (keyof RenderLimits)[]) positive(name);
  return Object.freeze({
    ...merged,
    memoryBytes: Math.max(16, Math.ceil(merged.memoryBytes / WASM_PAGE)) * WASM_PAGE,
    stackBytes: Math.min(MAX_STACK_BYTES, Math.floor(merged.stackBytes)),
  });
}

function definedOnly(limits: Partial<RenderLimits>): Partial<RenderLimits> {
  return Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined));
}
