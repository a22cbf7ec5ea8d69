/**
 * The apply controller's public entry point: what code outside the controller
 * (the CLI, tools) may use. Everything else under apply-controller/ is internal
 * and may change without notice; the lint rules in eslint.config.js keep it so.
 *
 * - the API: Package, PackageRevision and RevisionSlice types and resources;
 * - the bundle format: the package manifest, values, and reading a bundle;
 * - planning: what the next revision of a Package would create, change and prune;
 * - revision history: reading a Package's PackageRevisions and what they recorded;
 * - the labels every object of a Package carries.
 */
export * from './api.ts';
export * from './bundle/index.ts';
export { isPlainObject } from './bundle/object.ts';
export { ArtifactCache, ArtifactError, type ArtifactCacheOptions, type ArtifactErrorReason, type ArtifactRef } from './artifact.ts';
export {
  planPackage, renderPackage, type PackagePlan, type PlanOptions, type PlanSource, type RenderedPackage, type RenderOptions,
  type ValuesOverride,
} from './plan.ts';
export type { PhaseObjects } from './reconcile/apply.ts';
export type { TenancyFlags } from './reconcile/settings.ts';
export type { FieldChange } from './ssa/compare.ts';
export { MASK, type DiffAction, type ObjectDiff } from './ssa/diff.ts';
export { PACKAGE_NAME_LABEL, PACKAGE_NAMESPACE_LABEL, packageLabels } from './ssa/options.ts';
export { assessHealth, compileHealthChecks, type Health, type HealthChecks, type HealthStatus } from './health/index.ts';
export { newestAvailable } from './revisions/history.ts';
export { readRevisionPhases } from './revisions/read.ts';
export { revisionForDisplay } from './revisions/show.ts';
export { CorruptRevisionError, type RevisionPhase } from './revisions/encode.ts';
export { getRevision, listRevisions, REVISION_NUMBER_LABEL, REVISION_PACKAGE_LABEL } from './revisions/store.ts';
