/**
 * The fast path of manifest parsing. `js-yaml` (the parser `@kubernetes/client-node`
 * ships) reads a file about three times faster than `yaml`'s composer, which builds
 * a syntax tree with positions for its messages, and a large package spends most of
 * its time before the first apply parsing. parse.ts tries this path first for large
 * files (FAST_PATH_MIN_LENGTH) and reads the file with `yaml` whenever it declines.
 *
 * It declines (returns undefined) wherever the two parsers could disagree, so what it
 * returns is what the `yaml` path would return:
 * - on any error: only the `yaml` path reports errors, per document, with positions;
 * - for aliases (the `yaml` path caps their expansion), `<<` merge keys, explicit
 *   tags (`!!float 1` is 1 here and "1" there) and directives (`%YAML 1.1` switches
 *   the `yaml` path to YAML 1.1 scalars);
 * - for a mapping key that is not a string (`1:`, `~:`, `? [a]`), which the parsers
 *   turn into different strings, and for an implicit key longer than the 1,024
 *   characters YAML allows (`yaml` refuses it, `js-yaml` does not);
 * - for a `...` document end marker at the start of a line (the parsers count the
 *   documents around a stray one differently).
 * Plain scalars resolve by the YAML 1.2 core schema in both. The unit tests hold the
 * two paths to the same output on the corpus of released manifests, on edge cases
 * and on thousands of corrupted copies of real manifests.
 */
import { constructFromEvents, CORE_SCHEMA, defineMappingTag, defineScalarTag, EVENT_ID, parseEvents, type Event } from 'js-yaml';
import { flattened } from './flat-string.ts';

/** A YAML mapping as a plain object with string keys; any other key, or a merge key, makes the fast path decline. */
const stringKeyedMap = defineMappingTag<Record<string, unknown>>('tag:yaml.org,2002:map', {
  create: () => ({}),
  addPair: (carrier, key, value) => {
    if (typeof key !== 'string') return 'a mapping key that is not a string';
    if (key === '<<') return 'a merge key';
    // An own property named __proto__, as the yaml path makes it, never the object's prototype.
    if (key === '__proto__') Object.defineProperty(carrier, key, { value, writable: true, enumerable: true, configurable: true });
    else carrier[key] = value;
    return '';
  },
  has: (carrier, key) => typeof key === 'string' && Object.hasOwn(carrier, key),
  keys: (result) => Object.keys(result),
  get: (result, key) => (typeof key === 'string' ? result[key] : undefined),
  identify: () => false,
});

/**
 * YAML's `str`, its value made one piece ({@link flattened}): js-yaml builds a
 * block scalar line by line. In a scratch loop of the bench's 5,000 ConfigMaps
 * (development notes, session 26) this took the garbage collection before the
 * first write from about 135 to about 85 ms.
 */
const flatString = defineScalarTag('tag:yaml.org,2002:str', { resolve: flattened, identify: (data) => typeof data === 'string' });

const SCHEMA = CORE_SCHEMA.withTags(stringKeyedMap, flatString);

/** A `...` marker at a line start (coarse: such a line in a block scalar only costs the slower path). */
const DOCUMENT_END = /^\.\.\./m;

/**
 * Longest source span of an implicit key the fast path reads, from the key's first
 * character to its `:`. YAML's limit is 1,024; the margin covers quotes.
 */
const MAX_KEY_SPAN = 1_000;

/**
 * The documents of `text` as plain data (an empty document as null), or
 * undefined when the `yaml` path must read the file (see the module comment).
 */
export function parseDocumentsFast(text: string): unknown[] | undefined {
  if (DOCUMENT_END.test(text)) return undefined;
  try {
    const events = parseEvents(text, {});
    if (!plainData(events, text)) return undefined;
    return constructFromEvents(events, { source: text, schema: SCHEMA, maxAliases: 0 });
  } catch {
    return undefined;
  }
}

/**
 * True when the events hold no directive, tag or alias, and no implicit key
 * longer than {@link MAX_KEY_SPAN}. Keys are the even children of a mapping.
 */
function plainData(events: readonly Event[], text: string): boolean {
  // Per open node: for a mapping, the number of children seen so far; -1 for anything else.
  const open: number[] = [];
  for (const event of events) {
    if (event.type === EVENT_ID.POP) {
      open.pop();
      continue;
    }
    if (event.type === EVENT_ID.DOCUMENT) {
      if (event.directives.length > 0) return false;
      open.push(-1);
      continue;
    }
    if (event.type === EVENT_ID.ALIAS || event.tagStart !== -1) return false;
    const parent = open.length - 1;
    const seen = open[parent] ?? -1;
    if (seen >= 0) {
      open[parent] = seen + 1;
      if (seen % 2 === 0 && event.type === EVENT_ID.SCALAR && keySpan(event.valueStart, event.valueEnd, text) > MAX_KEY_SPAN) return false;
    }
    if (event.type !== EVENT_ID.SCALAR) open.push(event.type === EVENT_ID.MAPPING ? 0 : -1);
  }
  return true;
}

/**
 * From a key's first character (a quote included) to the `:` right after it
 * (past a closing quote and blanks). Only the blanks after the key are read, so
 * the check stays linear in the text.
 */
function keySpan(valueStart: number, valueEnd: number, text: string): number {
  let end = valueEnd;
  if (text[end] === '"' || text[end] === "'") end++;
  while (text[end] === ' ' || text[end] === '\t') end++;
  return (text[end] === ':' ? end : valueEnd) - Math.max(0, valueStart - 1);
}
