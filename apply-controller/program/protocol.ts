/**
 * What render.ts and its Worker say to each other (structured-clone data).
 */
import type { RenderLimits } from './limits.ts';

/** Why a render gave no output. CamelCase, usable as a condition reason. */
export type RenderFailureReason =
  /** The program threw (its error's name and message are reported, never values). */
  | 'ProgramFailed'
  /** The deadline passed: an endless loop, or a program too slow for the limit. */
  | 'Timeout'
  /** The program's memory reached the cap. */
  | 'OutOfMemory'
  /** Recursion past the stack limit. */
  | 'StackOverflow'
  /** The output is larger than the limit. */
  | 'OutputTooLarge'
  /** The output is not the JSON the format asks for. */
  | 'InvalidOutput'
  /** The code is not a Trellis program (it defines no `trellisProgram`). */
  | 'NotAProgram'
  /** The sandbox itself failed (a bug, or the Worker died). */
  | 'Crashed';

/** One call into the program. */
export interface ProgramCall {
  /** `describe` (name, version, schema) or `render` (objects for values). */
  readonly method: 'describe' | 'render';
  /** The JSON text passed to the method (the values for `render`). */
  readonly input?: string;
}

/** What the Worker is given. */
export interface WorkerTask {
  /** The compiled program (JavaScript). */
  readonly source: string;
  readonly call: ProgramCall;
  readonly limits: RenderLimits;
  /** `Date.now()` after which the interpreter stops itself (the parent terminates the Worker anyway). */
  readonly deadline: number;
  /** The interpreter, compiled once by the parent (optional: saves the compile in each Worker). */
  readonly wasmModule?: object;
}

/** What the Worker answers. */
export type WorkerReply =
  | { readonly ok: true; readonly output: string; readonly logs: readonly string[] }
  | { readonly ok: false; readonly reason: RenderFailureReason; readonly message: string; readonly logs?: readonly string[] };
