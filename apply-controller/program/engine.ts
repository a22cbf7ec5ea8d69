/**
 * The render engine every caller shares (the apply controller, `trellis build`,
 * `kubectl package diff`, `trellis dev`, the kit's test helper): values in,
 * checked objects out, through a fresh sandbox per render (render.ts) and a cache
 * by (program digest, values hash). Values enter the program as canonical JSON
 * (keys sorted), so the output depends on the values alone, not on the order
 * someone wrote them in.
 */
import { createHash } from 'node:crypto';
import { canonicalJSON } from '../bundle/canonical.ts';
import type { RenderLimits } from './limits.ts';
import { parseProgramDescription, parseProgramOutput, type ProgramDescription, type ProgramOutput } from './output.ts';
import type { RenderFailureReason } from './protocol.ts';
import { RenderCache } from './cache.ts';
import { defaultRenderLimits } from './policy.ts';
import { runProgram } from './render.ts';

/** A render that gave no objects. Its message names what happened, never a value. */
export class RenderError extends Error {
  override readonly name = 'RenderError';
  readonly reason: RenderFailureReason;
  /** The program's console output (redacted like the message). */
  readonly logs: readonly string[];

  constructor(reason: RenderFailureReason, message: string, logs: readonly string[] = []) {
    super(message);
    this.reason = reason;
    this.logs = logs;
  }
}

/** Options of {@link renderProgram} and {@link describeProgram}. */
export interface RenderProgramOptions {
  readonly limits?: Partial<RenderLimits>;
  /** Strings to keep out of error messages and logs (values that may come from Secrets). */
  readonly sensitive?: readonly string[];
  /** Default: the process-wide cache. */
  readonly cache?: RenderCache;
}

/** The cache of the process (the controller keeps it across reconciles). */
export const sharedRenderCache = new RenderCache();

/** A rendered program. */
export interface RenderedProgram extends ProgramOutput {
  /** What the program logged (empty when served from the cache). */
  readonly logs: readonly string[];
  /** True when the output came from the cache. */
  readonly cached: boolean;
}

/** `sha256:<hex>` of a program's text, as package.yaml records it. */
export function programDigest(source: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(source).digest('hex')}`;
}

/** Replaces every sensitive string in `text` by `***` (longest first, so a value inside another is masked whole). */
export function redact(text: string, sensitive: readonly string[] = []): string {
  let out = text;
  for (const s of [...sensitive].filter((x) => x.length >= 3).sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
  return out;
}

/**
 * Runs the program with `values` and returns its objects. `digest` is the
 * program's (see {@link programDigest}); it keys the cache with the values hash.
 * Throws {@link RenderError} when the program fails, breaks a limit or returns
 * something malformed.
 */
export async function renderProgram(source: string, digest: string, values: Record<string, unknown>,
  opts: RenderProgramOptions = {}): Promise<RenderedProgram> {
  const input = canonicalJSON(values);
  const cache = opts.cache ?? sharedRenderCache;
  const key = RenderCache.key(digest, `sha256:${createHash('sha256').update(input).digest('hex')}`);
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.hits += 1;
    return { ...(parseProgramOutput(hit) as ProgramOutput), logs: [], cached: true };
  }
  cache.misses += 1;
  const result = await runProgram(source, { method: 'render', input }, opts.limits ?? defaultRenderLimits());
  const logs = result.logs.map((l) => redact(l, opts.sensitive));
  if (!result.ok) throw new RenderError(result.reason, redact(result.message, opts.sensitive), logs);
  const output = parseProgramOutput(result.output);
  if (typeof output === 'string') throw new RenderError('InvalidOutput', output, logs);
  cache.set(key, result.output);
  return { ...output, logs, cached: false };
}

/** Asks the program for its name, version and values schema (no values involved, never cached). */
export async function describeProgram(source: string, opts: RenderProgramOptions = {}): Promise<ProgramDescription> {
  const result = await runProgram(source, { method: 'describe' }, opts.limits ?? defaultRenderLimits());
  if (!result.ok) throw new RenderError(result.reason, result.message, result.logs);
  const description = parseProgramDescription(result.output);
  if (typeof description === 'string') throw new RenderError('InvalidOutput', description, result.logs);
  return description;
}
