/**
 * What a Package's Event says about a bundle beyond its objects: the files that
 * were left out of a plain folder (and why), so that a skipped file is visible
 * without failing the revision.
 */
import type { EventRecorder } from '../../runtime/events.ts';
import type { KubeObject } from '../../runtime/object.ts';
import type { ReadBundleSuccess } from './read.ts';

/** Files named in one note before "and N more". */
const SHOWN = 10;

/** The note for an Event about the files `bundle` left out, or undefined when none were. */
export function skippedFilesNote(bundle: Pick<ReadBundleSuccess, 'skipped'>): string | undefined {
  const { skipped } = bundle;
  if (skipped.length === 0) return undefined;
  const shown = skipped.slice(0, SHOWN).map((s) => `${s.file} (${s.why})`).join('; ');
  const rest = skipped.length > SHOWN ? `; and ${skipped.length - SHOWN} more` : '';
  const count = skipped.length === 1 ? '1 file or folder' : `${skipped.length} files or folders`;
  return `${count} skipped as not Kubernetes objects: ${shown}${rest}`;
}

/** Records a Normal `FilesSkipped` Event about `regarding` when the bundle left files out. */
export async function announceSkippedFiles(events: Pick<EventRecorder, 'normal'>, regarding: KubeObject,
  bundle: Pick<ReadBundleSuccess, 'skipped'>): Promise<void> {
  const note = skippedFilesNote(bundle);
  if (note !== undefined) await events.normal(regarding, 'FilesSkipped', note);
}
