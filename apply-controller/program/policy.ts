/**
 * The process-wide switch for program bundles. A cluster operator who wants only
 * pre-rendered manifests starts the apply controller with `--no-program-bundles`;
 * a program bundle is then refused (`ProgramNotAllowed`) before anything runs.
 */

import type { RenderLimits } from './limits.ts';
import { setRenderConcurrency } from './render.ts';

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

/** The controller's settings for programs (its `--no-program-bundles` and `--render-*` flags). */
export interface RenderingSettings {
  readonly programBundles: boolean;
  readonly renderTimeoutMs: number;
  readonly renderMemoryMb: number;
  readonly renderConcurrency: number;
}

/** Applies the controller's flags to this process's renders. */
export function configureRendering(settings: RenderingSettings): void {
  setProgramBundlesAllowed(settings.programBundles);
  setDefaultRenderLimits({ timeoutMs: settings.renderTimeoutMs, memoryBytes: settings.renderMemoryMb * 1024 * 1024 });
  setRenderConcurrency(settings.renderConcurrency);
}
