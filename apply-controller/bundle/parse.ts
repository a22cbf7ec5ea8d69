/**
 * Parsing one manifest file (YAML or JSON) into objects: multi-document YAML,
 * `List` kinds flattened, every object tagged with its file and document.
 *
 * The parser is strict where a lenient one would hide mistakes or be abused:
 * duplicate keys are errors (the last one would silently win), alias expansion is
 * capped (a "billion laughs" file is refused, not expanded), and values JSON cannot
 * carry (`!!binary`, `.nan`, `.inf`) are refused, since the object goes to the
 * apiserver as JSON. YAML 1.2 core schema with `<<` merge keys, so `yes` stays the
 * string "yes" (as in most YAML 1.2 tools; kubectl's YAML 1.1 reads it as true).
 * A large file is read by parse-fast.ts first, and by `yaml` here when that declines.
 */
import { Composer, LineCounter, Parser } from 'yaml';
import { isPlainObject, type SourcedObject, type UnstructuredObject } from './object.ts';
import { parseDocumentsFast } from './parse-fast.ts';
import { problem, type BundleProblem } from './problems.ts';

/** Limits for {@link parseManifests}. */
export interface ParseLimits {
  /** Aliases expanded per document before the document is refused; default 100. */
  readonly maxAliasCount?: number;
}

/** Objects and errors found in one file. */
export interface ParsedFile {
  readonly objects: SourcedObject[];
  readonly errors: BundleProblem[];
}

/**
 * Files this large or larger, and every file of a bundle whose manifests add up
 * to this much, are read by the fast path first (parse-fast.ts). A small file
 * parses in well under a millisecond either way, but a package of thousands of
 * one-object files spent most of its bundle read in the `yaml` path (5,000
 * ConfigMaps: development notes, session 27). Small bundles stay on the yaml
 * path alone, which keeps the peak memory of many small Packages where it was:
 * with both parsers running, 1,000 four-object Packages peaked 10–20 MiB higher.
 */
export const FAST_PATH_MIN_LENGTH = 64 * 1024;

/**
 * Parses the text of one manifest file. `file` is the artifact-relative path used
 * in sources and messages. Empty documents (comments only, a trailing `---`) are
 * skipped but still counted, so `document N` in a message is the Nth document.
 * `fast` tries the fast path first (default: for a file of at least
 * {@link FAST_PATH_MIN_LENGTH}); what it returns is what the yaml path would.
 */
export function parseManifests(text: string, file: string, limits: ParseLimits = {}, fast = text.length >= FAST_PATH_MIN_LENGTH): ParsedFile {
  return (fast ? parseManifestsFast(text, file) : undefined) ?? parseManifestsWithYaml(text, file, limits);
}

/**
 * {@link parseManifests} by the fast path, or undefined where it declines (then
 * only the yaml path's result is right).
 */
export function parseManifestsFast(text: string, file: string): ParsedFile | undefined {
  const documents = parseDocumentsFast(text);
  if (documents === undefined) return undefined;
  const out: ParsedFile = { objects: [], errors: [] };
  documents.forEach((value, index) => addDocument(out, value, file, index));
  return out;
}

/**
 * {@link parseManifests} by `yaml` alone: the path that reports errors, and the
 * reference the fast path is tested against.
 */
export function parseManifestsWithYaml(text: string, file: string, limits: ParseLimits = {}): ParsedFile {
  const out: ParsedFile = { objects: [], errors: [] };
  // One document at a time, each turned into plain data and dropped before the next is read: the syntax
  // tree of a document dies young, where a whole file's trees would outlive the young generation.
  const lines = new LineCounter();
  const composer = new Composer({ uniqueKeys: true, merge: true, strict: true, version: '1.2' });
  let document = 0;
  for (const doc of composer.compose(new Parser(lines.addNewLine).parse(text))) {
    const index = document++;
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const pos = lines.linePos(err.pos[0]);
        out.errors.push(problem('InvalidYAML', firstLine(err.message), { file, line: pos.line, column: pos.col }));
      }
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: limits.maxAliasCount ?? 100 });
    } catch (err) {
      // toJS throws for alias bombs and for aliases to anchors defined later.
      out.errors.push(problem('InvalidYAML', err instanceof Error ? err.message : String(err), { source: { file, document: index } }));
      continue;
    }
    addDocument(out, value, file, index);
  }
  return out;
}

function firstLine(message: string): string {
  // The position is reported separately; later lines, when there are any, only repeat the source.
  return message.split('\n')[0] ?? message;
}

/** Adds one document's object(s): a List's items, or the object itself. */
function addDocument(out: ParsedFile, value: unknown, file: string, document: number): void {
  if (value === null || value === undefined) return; // an empty document, counted but skipped
  if (!isPlainObject(value)) {
    out.errors.push(problem('NotAnObject', `the document is ${describeJSONType(value)}, not a Kubernetes object`, { source: { file, document } }));
    return;
  }
  const badPath = firstNonJSON(value, '');
  if (badPath !== undefined) {
    out.errors.push(problem('NotAnObject', `${badPath.path || 'the document'} is ${badPath.what}, which JSON cannot carry`, { source: { file, document } }));
    return;
  }
  if (!isList(value)) {
    out.objects.push({ object: value, source: { file, document } });
    return;
  }
  (value.items as unknown[]).forEach((item, index) => {
    const source = { file, document, item: index };
    if (isPlainObject(item)) out.objects.push({ object: item, source });
    else out.errors.push(problem('NotAnObject', `the List item is ${describeJSONType(item)}, not a Kubernetes object`, { source }));
  });
}

/**
 * `kind: List`, or a `<Kind>List` with an `items` array and no name (a real custom
 * kind that merely ends in "List" has a name, and is kept as an object).
 */
function isList(obj: UnstructuredObject): boolean {
  if (!Array.isArray(obj.items) || typeof obj.kind !== 'string') return false;
  if (obj.kind === 'List') return true;
  const meta = isPlainObject(obj.metadata) ? obj.metadata : undefined;
  return obj.kind.endsWith('List') && meta?.name === undefined;
}

function describeJSONType(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return `a ${typeof value}`;
}

/** The first value under `value` that is not JSON (with its pointer), if any. */
function firstNonJSON(value: unknown, path: string): { path: string; what: string } | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { path, what: String(value) };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = firstNonJSON(value[i], `${path}/${i}`);
      if (bad) return bad;
    }
    return undefined;
  }
  if (isPlainObject(value) && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) {
      const bad = firstNonJSON(v, `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
      if (bad) return bad;
    }
    return undefined;
  }
  const what = value instanceof Uint8Array ? 'binary data (!!binary)' : `a ${typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value}`;
  return { path, what };
}
