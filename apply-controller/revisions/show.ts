/**
 * A PackageRevision as tools show it (`kubectl package history -o yaml`).
 * Revisions recorded by this version are sealed, so their blobs are shown as
 * they are: ciphertext. A blob that is not sealed — a revision recorded before
 * revisions were sealed, or one somebody replaced — may hold Secret data in
 * gzip+base64, and is replaced by a note; messages go through the same
 * redaction as conditions and Events. Pure.
 */
import { redactString } from '../../runtime/redact.ts';
import type { PackageRevision } from '../api.ts';
import { isSealed } from './seal.ts';

/** What replaces a blob that is not sealed. */
export const UNSEALED_BLOB = '[REDACTED: not sealed; may hold Secret data]';

/** A copy of `rev` safe to print: unsealed blobs replaced, messages redacted. */
export function revisionForDisplay(rev: PackageRevision): PackageRevision {
  const copy = structuredClone(rev);
  for (const phase of copy.spec.phases) {
    if (phase.objects !== undefined && !isSealed(Buffer.from(phase.objects, 'base64'))) phase.objects = UNSEALED_BLOB;
  }
  if (copy.status) {
    if (copy.status.message !== undefined) copy.status.message = redactString(copy.status.message);
    for (const c of copy.status.conditions ?? []) c.message = redactString(c.message);
  }
  return copy;
}
