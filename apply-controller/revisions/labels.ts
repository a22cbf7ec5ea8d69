/**
 * The label and annotation keys of PackageRevisions and RevisionSlices, in a
 * module of their own so the store and the slice code can share them without
 * importing each other.
 */

/** Label naming the Package a revision or slice belongs to (the same key the applied objects carry). */
export const REVISION_PACKAGE_LABEL = 'apply.trellis.dev/package';
/** Label carrying the revision number. */
export const REVISION_NUMBER_LABEL = 'apply.trellis.dev/revision';
/** Annotation carrying the keyed content hash of the recorded phases (see seal.ts). */
export const CONTENT_HASH_ANNOTATION = 'apply.trellis.dev/content-hash';
/** Annotation naming the key a revision was sealed and signed with (keys.ts). */
export const REVISION_KEY_ANNOTATION = 'apply.trellis.dev/revision-key';
/** Annotation carrying the revision's signature (seal.ts). */
export const SIGNATURE_ANNOTATION = 'apply.trellis.dev/signature';
