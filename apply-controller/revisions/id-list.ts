/**
 * The ids a sliced revision records next to its slice references
 * (`spec.inventory`): every object's inventory entry, in apply order, one
 * `<id> <version>` line each, gzipped and sealed like every other blob (seal.ts).
 *
 * It is what makes a sliced revision a write-ahead record on its own: a
 * rollout cut short (a crash, a failed slice write) may have written any of
 * these objects, and whoever prunes or uninstalls reads them from here without
 * needing the slices, which are stored while the objects are applied. About
 * 30 KB for 5,000 ConfigMaps. Pure; no API calls.
 */
import type { InventoryEntry } from '../api.ts';
import { CorruptRevisionError, openText, sealText } from './encode.ts';
import type { RevisionKey } from './keys.ts';

/** The id list of `entries` sealed with `key`, base64: the value of `spec.inventory`. */
export function sealIdList(key: RevisionKey, entries: readonly InventoryEntry[]): string {
  return sealText(key, entries.map((e) => `${e.id} ${e.v}`).join('\n')).toString('base64');
}

/**
 * The entries of an id list `key` sealed; throws RevisionTamperedError when it
 * does not authenticate and {@link CorruptRevisionError} when a line is not an entry.
 */
export function openIdList(key: RevisionKey, data: string, what: string): InventoryEntry[] {
  const text = openText(key, data, `${what} inventory`);
  if (text === '') return [];
  return text.split('\n').map((line, i) => {
    const space = line.indexOf(' ');
    if (space <= 0 || space === line.length - 1 || line.includes(' ', space + 1)) {
      throw new CorruptRevisionError(`${what} inventory: line ${i + 1} is not "<id> <version>"`);
    }
    return { id: line.slice(0, space), v: line.slice(space + 1) };
  });
}
