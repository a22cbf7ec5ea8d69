/**
 * The process-wide switch for program bundles. A cluster operator who wants only
 * pre-rendered manifests starts the apply controller with `--no-program-bundles`;
 * a program bundle is then refused (`ProgramNotAllowed`) before anything runs.
 */

import type { RenderLimits } from './limits.ts';

let allowed = true;

/** Allows or forbids program bundles in this process (default allowed). */
export function setProgramBundlesAllowed(allow: boolean): void {
  allowed = allow;
}

/** Whether program bundles may run in this process. */
export function programBundlesAllowed(): boolean {
  return allowed;
}

let defaultLimits: Partial<RenderLimits> = {};

/** Sets the limits of renders that name none (the controller's `--render-*` flags). */
export function setDefaultRenderLimits(limits: Partial<RenderLimits>): void {
  defaultLimits = { ...limits };
}

/** The limits set by {@link setDefaultRenderLimits} (over the built-in defaults when rendered). */
export function defaultRenderLimits(): Partial<RenderLimits> {
  return defaultLimits;
}
