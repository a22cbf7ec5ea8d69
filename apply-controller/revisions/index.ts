/**
 * PackageRevisions: the write-ahead record of every apply of a Package (the exact
 * objects, per phase, compressed inline or in shared RevisionSlices), written
 * once and never changed but for status. History and rollback build on these
 * functions.
 */
export {
  contentHashOf, contentHashOfTexts, CorruptRevisionError, decodePhases, DEFAULT_REVISION_SIZE_LIMIT, encodePhases, RevisionTooLargeError,
  type EncodedPhases, type PhaseTexts, type RevisionPhase,
} from './encode.ts';
export { chunkPhase, DEFAULT_SLICE_SIZE_LIMIT, endsRun, MAX_SINGLE_OBJECT_SLICE, type Chunk, type ChunkOptions } from './chunk.ts';
export {
  DEFAULT_INLINE_LIMIT, planInline, planRecord, planSliced, sliceName, type NewSlice, type RecordOptions, type RecordPlan,
} from './plan.ts';
export { isSliced, readRevisionPhases, type SliceReader } from './read.ts';
export { deleteSlices, sliceNamesOf, sliceRefsOf, storeSlices, verifiedSliceText } from './slices.ts';
export {
  CONTENT_HASH_ANNOTATION, contentHashOfRevision, findRevisionFor, getRevision, listRevisions, recordsSame, REVISION_NUMBER_LABEL,
  REVISION_PACKAGE_LABEL, RevisionExistsError, RevisionImmutableError, revisionName, setRevisionStatus, writeRevision,
  type NewRevision, type RevisionSource, type RevisionStatusInput, type WriteRevisionOptions,
} from './store.ts';
export { guardRevisionSpecs } from './guard.ts';
export { markAvailable, newestAvailable, unfinishedInventory } from './history.ts';
