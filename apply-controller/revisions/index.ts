/**
 * PackageRevisions: the write-ahead record of every apply of a Package (the exact
 * objects, per phase, compressed), written once and never changed but for status.
 * History and rollback build on these functions.
 */
export {
  contentHashOf, CorruptRevisionError, decodePhases, DEFAULT_REVISION_SIZE_LIMIT, encodePhases, RevisionTooLargeError,
  type EncodedPhases, type RevisionPhase,
} from './encode.ts';
export {
  CONTENT_HASH_ANNOTATION, contentHashOfRevision, findRevisionFor, getRevision, listRevisions, recordsSame, REVISION_NUMBER_LABEL,
  REVISION_PACKAGE_LABEL, RevisionExistsError, RevisionImmutableError, revisionName, setRevisionStatus, writeRevision,
  type NewRevision, type RevisionSource, type RevisionStatusInput, type WriteRevisionOptions,
} from './store.ts';
export { guardRevisionSpecs } from './guard.ts';
export { markAvailable, newestAvailable, unfinishedInventory } from './history.ts';
