/**
 * PackageRevisions: the write-ahead record of every apply of a Package (the exact
 * objects, per phase, compressed inline or in shared RevisionSlices), written
 * once and never changed but for status. History and rollback build on these
 * functions.
 */
export {
  contentHashOf, contentHashOfTexts, CorruptRevisionError, decodePhases, DEFAULT_REVISION_SIZE_LIMIT, encodePhases, keyedContentHash,
  openText, RevisionTooLargeError, sealText, type EncodedPhases, type PhaseTexts, type RevisionPhase, withObjectTexts,
} from './encode.ts';
export { RevisionKeyMissingError, RevisionTamperedError } from './errors.ts';
export {
  CURRENT_KEY_ENTRY, DEFAULT_KEY_REFRESH_MS, fixedRevisionKeys, keysOfSecret, REVISION_KEY_BYTES, REVISION_KEY_SECRET, revisionKey,
  RevisionKeyInvalidError, RevisionKeyring, type RevisionKey, type RevisionKeyringOptions, type RevisionKeys,
} from './keys.ts';
export { isSealed, keyedHash, keyIdOf, openBytes, sealBytes, signRevision, verifySignature } from './seal.ts';
export { chunkPhase, DEFAULT_SLICE_SIZE_LIMIT, endsRun, MAX_SINGLE_OBJECT_SLICE, type Chunk, type ChunkOptions } from './chunk.ts';
export {
  DEFAULT_INLINE_LIMIT, planInline, planRecord, planSliced, sliceName, type NewSlice, type RecordOptions, type RecordPlan,
} from './plan.ts';
export { isSliced, readRevisionPhases, verifiedKeyOf, type RevisionExpectation, type SliceReader } from './read.ts';
export { deleteSlices, sliceNamesOf, sliceRefsOf, storeSlices, verifiedSliceText } from './slices.ts';
export {
  CONTENT_HASH_ANNOTATION, contentHashOfRevision, REVISION_KEY_ANNOTATION, SIGNATURE_ANNOTATION, findRevisionFor, getRevision, listRevisions, recordsSame, REVISION_NUMBER_LABEL,
  REVISION_PACKAGE_LABEL, RevisionExistsError, RevisionImmutableError, revisionName, setRevisionStatus, writeRevision,
  type NewRevision, type RevisionSource, type RevisionStatusInput, type WriteRevisionOptions,
} from './store.ts';
export { guardRevisionSpecs } from './guard.ts';
export { markAvailable, newestAvailable, unfinishedInventory } from './history.ts';
