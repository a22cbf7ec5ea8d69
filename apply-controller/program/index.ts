/**
 * Programs at install time: a package's compiled cdk8s program, run with the
 * Package's values in a QuickJS sandbox inside a Worker (no I/O, no clock, no
 * randomness, capped memory, a deadline, a small stack), its output cached by
 * (program digest, values hash). One engine for the controller, the CLI and the
 * kit's tests.
 */
export { renderBundleProgram, stringLeaves, MAX_PROGRAM_BYTES, type BundleRender } from './bundle.ts';
export { RenderCache } from './cache.ts';
export {
  describeProgram, programDigest, redact, RenderError, renderProgram, sharedRenderCache,
  type RenderedProgram, type RenderProgramOptions,
} from './engine.ts';
export { DEFAULT_RENDER_LIMITS, renderLimits, type RenderLimits } from './limits.ts';
export { parseProgramDescription, parseProgramOutput, type ProgramDescription, type ProgramOutput } from './output.ts';
export {
  configureRendering, defaultRenderLimits, programBundlesAllowed, setDefaultRenderLimits, setProgramBundlesAllowed,
  type RenderingSettings,
} from './policy.ts';
export { PROGRAM_GLOBAL } from './prelude.ts';
export type { ProgramCall, RenderFailureReason } from './protocol.ts';
export { runProgram, setRenderConcurrency, type RunResult } from './render.ts';
