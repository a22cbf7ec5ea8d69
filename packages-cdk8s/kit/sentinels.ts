/**
 * Finding where each value lands. The package is built once with a unique marker
 * per value (a distinct integer for integers and numbers, a unique lowercase
 * string for strings, enums and booleans), and the markers are looked up in the
 * output: a marker that is a whole field is a typed placement (the value replaces
 * the field, keeping its JSON type); a marker inside a longer string is a template
 * placement (`repo:${value}`). The output is the same object list as the build
 * with the defaults, so each marker's object is known by its position.
 */
import { TEMPLATE_PLACEHOLDER } from '../../apply-controller/bundle/index.ts';
import { ValuesNotPlaceableError } from './errors.ts';
import { valuesFromLeaves, type ValueLeaf } from './values.ts';

/** A placement found by position: object index in the synthesis and pointer into it. */
export interface FoundPlacement {
  readonly leaf: ValueLeaf;
  readonly objectIndex: number;
  /** JSON pointer into the object. */
  readonly path: string;
  /** For a value inside a string: the string with `${value}` where the value goes. */
  readonly template?: string;
}

/** The marker values of one sentinel build. */
export interface Sentinels {
  /** The values object to build with. */
  readonly values: Record<string, unknown>;
  /** The text each marker has inside a string. */
  readonly textOf: ReadonlyMap<ValueLeaf, string>;
  readonly byNumber: ReadonlyMap<number, ValueLeaf>;
  readonly byString: ReadonlyMap<string, ValueLeaf>;
  /** Matches any marker's text inside a string (global). */
  readonly pattern: RegExp;
}

// Large, odd-looking numbers below 2^31 (int32 fields stay in range), spaced by a prime.
const NUMBER_BASE = 1_900_000_017;
const NUMBER_STEP = 9_973;
// Lowercase letters and digits, so a marker survives being part of an object name.
const stringMarker = (i: number): string => `trellisv${i}q7xz`;

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Marker values for `leaves`. Booleans get string markers too: a boolean has only
 * two values, so only a marker of another type can be told apart in the output.
 */
export function makeSentinels(leaves: readonly ValueLeaf[]): Sentinels {
  const textOf = new Map<ValueLeaf, string>();
  const byNumber = new Map<number, ValueLeaf>();
  const byString = new Map<string, ValueLeaf>();
  const alternatives: string[] = [];
  const markerOf = new Map<ValueLeaf, unknown>();
  leaves.forEach((leaf, i) => {
    const kind = leaf.declaration.kind;
    if (kind === 'integer' || kind === 'number') {
      const n = NUMBER_BASE + i * NUMBER_STEP + (kind === 'number' ? 0.25 : 0);
      byNumber.set(n, leaf);
      textOf.set(leaf, String(n));
      markerOf.set(leaf, n);
      alternatives.push(kind === 'integer' ? `(?<![0-9])${n}(?![0-9]|\\.[0-9])` : `(?<![0-9])${escapeRegExp(String(n))}(?![0-9])`);
    } else {
      const s = stringMarker(i);
      byString.set(s, leaf);
      textOf.set(leaf, s);
      markerOf.set(leaf, s);
      alternatives.push(escapeRegExp(s));
    }
  });
  return { values: valuesFromLeaves(leaves, (leaf) => markerOf.get(leaf)), textOf, byNumber, byString, pattern: new RegExp(alternatives.length ? alternatives.join('|') : '(?!)', 'g') };
}

const token = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Finds the markers in the sentinel build's objects. `defaults` is the build with
 * the defaults (same objects, same order): it decides whether a boolean marker
 * stood for a boolean field or for text. `describe(i)` names object `i` in errors.
 * Throws {@link ValuesNotPlaceableError} for a marker in a map key, two values in
 * one string, or a template whose literal text contains `${value}`.
 */
export function findPlacements(sentinelObjects: readonly Record<string, unknown>[], defaults: readonly Record<string, unknown>[],
  sentinels: Sentinels, describe: (index: number) => string): FoundPlacement[] {
  const found: FoundPlacement[] = [];
  const markersIn = (s: string): ValueLeaf[] => {
    const leaves = new Set<ValueLeaf>();
    for (const m of s.matchAll(sentinels.pattern)) {
      const text = m[0];
      const leaf = sentinels.byString.get(text) ?? sentinels.byNumber.get(Number(text));
      if (leaf) leaves.add(leaf);
    }
    return [...leaves];
  };
  sentinelObjects.forEach((object, objectIndex) => {
    const where = (path: string): { object: string; path: string } => ({ object: describe(objectIndex), path });
    const walk = (node: unknown, twin: unknown, path: string): void => {
      if (Array.isArray(node)) {
        node.forEach((item, i) => walk(item, Array.isArray(twin) ? twin[i] : undefined, `${path}/${i}`));
        return;
      }
      if (typeof node === 'object' && node !== null) {
        for (const [key, item] of Object.entries(node)) {
          const inKey = markersIn(key);
          if (inKey.length > 0) {
            throw new ValuesNotPlaceableError(
              `${describe(objectIndex)}: value ${inKey.map((l) => l.pointer).join(', ')} is used as a map key under ${path || '/'}; `
              + 'install-time values can only replace field values, not keys', inKey.map((l) => l.pointer), where(path || '/'));
          }
          const twinItem = typeof twin === 'object' && twin !== null ? (twin as Record<string, unknown>)[key] : undefined;
          walk(item, twinItem, `${path}/${token(key)}`);
        }
        return;
      }
      if (typeof node === 'number') {
        const leaf = sentinels.byNumber.get(node);
        if (leaf) found.push({ leaf, objectIndex, path });
        return;
      }
      if (typeof node !== 'string') return;
      const exact = sentinels.byString.get(node);
      if (exact && (exact.declaration.kind !== 'boolean' || typeof twin === 'boolean')) {
        found.push({ leaf: exact, objectIndex, path });
        return;
      }
      const leaves = markersIn(node);
      if (leaves.length === 0) return;
      if (leaves.length > 1) {
        throw new ValuesNotPlaceableError(
          `${describe(objectIndex)}: values ${leaves.map((l) => l.pointer).join(' and ')} are both used in the string at ${path}; `
          + 'a placement carries one value per string (split the string, or combine the values into one value)',
          leaves.map((l) => l.pointer), where(path));
      }
      const leaf = leaves[0]!;
      const parts = node.split(sentinels.textOf.get(leaf)!);
      if (parts.some((p) => p.includes(TEMPLATE_PLACEHOLDER))) {
        throw new ValuesNotPlaceableError(
          `${describe(objectIndex)}: the string at ${path} contains the text ${TEMPLATE_PLACEHOLDER} next to value ${leaf.pointer}, `
          + 'which a template placement would take for the value', [leaf.pointer], where(path));
      }
      found.push({ leaf, objectIndex, path, template: parts.join(TEMPLATE_PLACEHOLDER) });
    };
    walk(object, defaults[objectIndex], '');
  });
  return found;
}
