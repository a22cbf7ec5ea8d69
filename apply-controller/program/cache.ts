/**
 * Renders kept by (program digest, values hash): a program's output depends on
 * nothing else, so the same pair never runs twice while it is remembered. Keeps
 * the output text (parsed anew for each reader, so nobody can change what the
 * next one gets), least recently used first out.
 */
import { reportRender } from './observe.ts';

/** A bounded map of render outputs. */
export class RenderCache {
  readonly #entries = new Map<string, string>();
  readonly #max: number;
  /** Renders served from the cache. */
  hits = 0;
  /** Renders that ran. */
  misses = 0;

  constructor(maxEntries = 64) {
    this.#max = Math.max(1, maxEntries);
  }

  /** The key of a program and the values it ran with. */
  static key(programDigest: string, valuesHash: string): string {
    return `${programDigest} ${valuesHash}`;
  }

  /** The output of that render, or undefined. A hit is reported to the render observers (observe.ts). */
  get(key: string): string | undefined {
    const hit = this.#entries.get(key);
    if (hit === undefined) return undefined;
    reportRender({ kind: 'cached' });
    this.#entries.delete(key);
    this.#entries.set(key, hit);
    return hit;
  }

  /** Remembers an output, forgetting the least recently used beyond the limit. */
  set(key: string, output: string): void {
    this.#entries.delete(key);
    this.#entries.set(key, output);
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  /** Number of outputs kept. */
  get size(): number {
    return this.#entries.size;
  }
}
