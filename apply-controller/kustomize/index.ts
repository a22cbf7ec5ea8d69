/**
 * Kustomize support: which folders are kustomizations, the checks that make
 * rendering untrusted ones safe, and the render itself with the real binary.
 */
export { findKustomization, isKustomizationFile, KUSTOMIZATION_FILES } from './files.ts';
export { checkKustomization, type PreflightLimits } from './preflight.ts';
export { renderKustomization, type KustomizeRender, type RenderKustomizationOptions } from './render.ts';
export { configureKustomize, defaultKustomizeSettings, kustomizeSettings, type KustomizeSettings } from './settings.ts';
