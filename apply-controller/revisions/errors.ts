/**
 * The errors of reading a revision back, in a module of their own so the
 * encoding, the seal and the keyring can share them without importing each
 * other.
 */

/** A PackageRevision (or one of its slices) that cannot be read back, or reads back other than it was written. */
export class CorruptRevisionError extends Error {
  override readonly name: string = 'CorruptRevisionError';
}

/** A record whose bytes, digest, content hash or signature do not match what the key says was written. */
export class RevisionTamperedError extends CorruptRevisionError {
  override readonly name: string = 'RevisionTamperedError';
}

/** A revision was sealed with a key the keyring no longer (or never) held. */
export class RevisionKeyMissingError extends CorruptRevisionError {
  override readonly name: string = 'RevisionKeyMissingError';
}
