/**
 * The apply engine: a library that applies, diffs, waits for and deletes sets
 * of Kubernetes objects with server-side apply, writing only what would change.
 * It knows nothing of Packages beyond the labels the caller passes.
 */
export { applyStage } from './apply.ts';
export { CHANGE_ACTIONS, ChangeSet, type ActionWords, type ChangeAction, type ChangeSetEntry } from './change-set.ts';
export { comparable, fieldChanges, jsonEqual, wouldChange, type FieldChange } from './compare.ts';
export { deleteObjects, PRUNE_ANNOTATION, PRUNE_DISABLED, type DeleteFailure, type DeleteResult, type KeptObject } from './delete.ts';
export { diffObjects, maskSecretChanges, MASK, type DiffAction, type DiffOptions, type ObjectDiff } from './diff.ts';
export {
  ApplyError, HealthCheckError, ImmutableFieldError, isImmutableFieldError, ObjectCollisionError, type ObjectNames, type UnhealthyObject,
} from './errors.ts';
export {
  inventoryEntryOf, refOfEntry, subjectOf, targetOf, type DesiredObject, type InventoryEntry, type ObjectInput, type Target,
} from './objects.ts';
export {
  DEFAULT_APPLY_OPTIONS, DEFAULT_DELETE_OPTIONS, DEFAULT_WAIT_OPTIONS, PACKAGE_NAME_LABEL, PACKAGE_NAMESPACE_LABEL,
  labelSelectorOf, packageLabels, resolveApplyOptions, resolveDeleteOptions, resolveWaitOptions,
  type ApplyOptions, type DeleteObjectsOptions, type ResolvedApplyOptions, type ResolvedDeleteOptions,
  type ResolvedWaitOptions, type WaitOptions,
} from './options.ts';
export {
  checkOwnership, COLLISION_POLICIES, findUnclaimed, ownerOf, type CollisionOptions, type CollisionPolicy, type Owner,
} from './ownership.ts';
export { planObjects, prepareObject, type ObjectPlan, type PlanAction, type PlanOptions, type PlanResult } from './plan.ts';
export { waitForHealthy } from './wait.ts';
