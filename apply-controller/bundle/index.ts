/**
 * The bundle library of the apply controller: from an unpacked artifact to
 * validated objects in apply order. Pure apart from reading the artifact folder;
 * no Kubernetes API calls.
 */
export { builtinIsNamespaced } from './builtin-kinds.ts';
export {
  DEFAULT_MANIFESTS_DIR, DEFAULT_PHASE, PACKAGE_MANIFEST_API_VERSION, PACKAGE_MANIFEST_FILE, PACKAGE_MANIFEST_KIND,
  PHASE_ANNOTATION, TEMPLATE_PLACEHOLDER, packageManifestSchema, validatePackageManifest,
  type PackageManifest, type PackageManifestResult, type PackageProgram, type PackageValues, type Placement, type PlacementTarget,
} from './format.ts';
export { classifyFile, classifyParsed, type FileKind } from './classify.ts';
export { loadBundle, type LoadBundleOptions, type LoadedBundle } from './load.ts';
export { applyNamespaces, type NamespaceOptions } from './namespace.ts';
export { announceSkippedFiles, skippedFilesNote } from './notes.ts';
export {
  describeRef, describeSource, groupOf, type BundleObject, type KubeObject, type ObjectMeta, type ObjectRef,
  type ObjectSource, type SourcedObject, type UnstructuredObject,
} from './object.ts';
export { formatObjectId, InvalidObjectIdError, objectId, parseObjectId, type ObjectIdParts } from './object-id.ts';
export { KIND_ORDER, kindRank, orderStages, phaseOf, phaseSequence, type Stage } from './order.ts';
export { parseManifests, type ParsedFile, type ParseLimits } from './parse.ts';
export { getAtPointer, InvalidPointerError, parsePointer, replaceAtPointer } from './pointer.ts';
export {
  BundleValidationError, problem, summarizeProblems, type BundleProblem, type BundleProblemReason, type ProblemLocation,
} from './problems.ts';
export {
  readBundle, type ReadBundleFailure, type ReadBundleOptions, type ReadBundleResult, type ReadBundleSuccess,
} from './read.ts';
export {
  compileSchema, formatSchemaErrors, InvalidSchemaError, schemaDraft, VALUES_SCHEMA_OPTIONS, type SchemaDraft,
} from './schema.ts';
export { findBundleCRDs, isCRD, scopeResolver, type BundleCRD, type IsNamespaced, type KindScope, type ScopeOf } from './scope.ts';
export { nameProblem, validateObjects, type ValidateOptions } from './validate.ts';
export {
  applyPlacements, canonicalJSON, mergeValues, resolveValues, schemaDefaults, valuesHash,
  type PlacementOptions, type PlacementResult, type ResolvedValues, type ResolveValuesInput, type Values,
} from './values.ts';
export { IGNORE_FILE, walkManifests, type BundleEntry, type SkippedFile, type WalkResult } from './walk.ts';
export {
  configureKustomize, defaultKustomizeSettings, findKustomization, KUSTOMIZATION_FILES, kustomizeSettings, renderKustomization,
  type KustomizeRender, type KustomizeSettings,
} from '../kustomize/index.ts';
